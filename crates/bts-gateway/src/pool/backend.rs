//! One backend node as the request path sees it: its URLs and region, whether it takes new work
//! (an atomic, and a watch channel for WebSocket sessions pinned to it), its requests in flight and
//! its peak-EWMA latency. Everything the request path touches here is an atomic.

use crate::config::BackendConfig;
use crate::health::LatencyHistogram;
use crate::metrics;
use crate::select::ewma::AtomicPeakEwma;
use axum::http::Uri;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// A failed request counts at least this long in the latency estimate, so a backend that fails
/// fast does not look fast.
const FAILURE_PENALTY: Duration = Duration::from_secs(1);

/// A backend's identity, unique for the life of the [`crate::Gateway`]. A backend kept across a
/// reload keeps its id; a changed or new one gets a new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BackendId(pub u64);

impl fmt::Display for BackendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A backend of one network.
#[derive(Debug)]
pub struct Backend {
    id: BackendId,
    network: String,
    config: BackendConfig,
    /// `config.http_url`, parsed once.
    http_uri: Uri,
    metrics: metrics::RequestMetrics,
    /// The health verdict: healthy (taken by the probe task's pool update).
    healthy: AtomicBool,
    cordoned: AtomicBool,
    removed: AtomicBool,
    eligible: watch::Sender<bool>,
    in_flight: AtomicU32,
    ewma: AtomicPeakEwma,
    /// Real requests' latencies, for the status page.
    pub(crate) latency: LatencyHistogram,
    /// Health checks' round trips, for the status page.
    pub(crate) probe_rtt: LatencyHistogram,
    requests_ok: AtomicU64,
    requests_failed: AtomicU64,
    /// Wakes the probe task for an early check after a failed request.
    pub(crate) suspect: Notify,
}

impl Backend {
    pub(crate) fn new(id: BackendId, network: &str, config: BackendConfig) -> Backend {
        Backend {
            id,
            network: network.to_owned(),
            metrics: metrics::RequestMetrics::new(network, Some(&config.url)),
            // The configuration made this URL from one it had parsed, so it parses; were it not,
            // POSTs to "/" would fail (hyper wants an absolute URI) instead of the process.
            http_uri: config.http_url.parse().unwrap_or_default(),
            config,
            healthy: AtomicBool::new(false),
            cordoned: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            eligible: watch::Sender::new(false),
            in_flight: AtomicU32::new(0),
            ewma: AtomicPeakEwma::new(Instant::now()),
            latency: LatencyHistogram::default(),
            probe_rtt: LatencyHistogram::default(),
            requests_ok: AtomicU64::new(0),
            requests_failed: AtomicU64::new(0),
            suspect: Notify::new(),
        }
    }

    /// Its request metrics (handles made once, so recording costs no lookup).
    pub fn metrics(&self) -> &metrics::RequestMetrics {
        &self.metrics
    }

    /// Its id.
    pub fn id(&self) -> BackendId {
        self.id
    }

    /// Its network's name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The URL as configured (also its label in metrics and the status page).
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// `ws://` or `wss://`.
    pub fn ws_url(&self) -> &str {
        &self.config.ws_url
    }

    /// `http://` or `https://`.
    pub fn http_url(&self) -> &str {
        &self.config.http_url
    }

    /// [`Backend::http_url`], parsed.
    pub fn http_uri(&self) -> &Uri {
        &self.http_uri
    }

    /// Its region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// Whether its HTTP connections may be reused (`http-keep-alive`).
    pub fn http_keep_alive(&self) -> bool {
        self.config.http_keep_alive
    }

    /// Its round-robin weight.
    pub fn weight(&self) -> u32 {
        self.config.weight
    }

    /// Its configuration.
    pub fn config(&self) -> &BackendConfig {
        &self.config
    }

    /// Counts a request or session in flight until the guard is dropped (the cost of
    /// latency selection is the EWMA × (in flight + 1)).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Requests and sessions in flight.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Reports a real request's outcome: its latency feeds the peak-EWMA (a failure counts at
    /// least one second), the status page's latency quantiles, the upstream-latency metric, and a
    /// failure wakes the health probe for an early check.
    pub fn observe(&self, latency: Duration, ok: bool) {
        self.observe_at(latency, ok, Instant::now());
    }

    /// [`Backend::observe`] at a given time (tests).
    pub fn observe_at(&self, latency: Duration, ok: bool, now: Instant) {
        let cost = if ok { latency } else { latency.max(FAILURE_PENALTY) };
        self.ewma.observe(cost, now);
        if ok {
            self.latency.record(latency);
            self.requests_ok.fetch_add(1, Ordering::Relaxed);
            self.metrics.upstream(latency.as_secs_f64());
        } else {
            self.requests_failed.fetch_add(1, Ordering::Relaxed);
            self.suspect.notify_one();
        }
    }

    /// Records a health check's round trip (it feeds the EWMA like a request).
    pub(crate) fn observe_probe(&self, rtt: Duration, now: Instant) {
        self.ewma.observe(rtt, now);
        self.probe_rtt.record(rtt);
    }

    /// The selection cost at `now`: peak-EWMA latency (ns) × (in flight + 1).
    pub fn cost(&self, now: Instant) -> f64 {
        self.ewma.estimate(now) * f64::from(self.in_flight() + 1)
    }

    /// The peak-EWMA latency estimate at `now`.
    pub fn latency_estimate(&self, now: Instant) -> Duration {
        Duration::from_nanos(self.ewma.estimate(now) as u64)
    }

    /// Requests reported through [`Backend::observe`]: (ok, failed).
    pub fn requests(&self) -> (u64, u64) {
        (
            self.requests_ok.load(Ordering::Relaxed),
            self.requests_failed.load(Ordering::Relaxed),
        )
    }

    /// Whether it takes new work now: healthy, not cordoned, still configured.
    pub fn is_eligible(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
            && !self.cordoned.load(Ordering::Acquire)
            && !self.removed.load(Ordering::Acquire)
    }

    /// Whether it takes new work, as it changes: a WebSocket session pinned here moves when this
    /// turns false (out, cordoned, or removed by a reload).
    pub fn eligible(&self) -> watch::Receiver<bool> {
        self.eligible.subscribe()
    }

    /// Cordons (drains) it: no new work, and sessions pinned here move away; `false` lifts that.
    pub fn cordon(&self, on: bool) {
        self.cordoned.store(on, Ordering::Release);
        self.publish();
    }

    /// Whether an operator cordoned it.
    pub fn is_cordoned(&self) -> bool {
        self.cordoned.load(Ordering::Acquire)
    }

    /// Whether the health rules pass it (cordoning aside).
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    pub(crate) fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Release);
        self.publish();
    }

    /// A reload removed it: never eligible again.
    pub(crate) fn retire(&self) {
        self.removed.store(true, Ordering::Release);
        self.publish();
    }

    fn publish(&self) {
        let now = self.is_eligible();
        self.eligible.send_if_modified(|v| std::mem::replace(v, now) != now);
        metrics::backend_state(&self.network, &self.config.url, now, None, None);
    }
}

/// A request or session in flight on a backend; dropping it ends it.
#[derive(Debug)]
pub struct InFlight(Arc<Backend>);

impl InFlight {
    /// The backend.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> Arc<Backend> {
        Arc::new(Backend::new(
            BackendId(1),
            "mainnet",
            BackendConfig::new("ws://127.0.0.1:1").unwrap(),
        ))
    }

    #[test]
    fn eligibility_combines_health_cordon_and_removal() {
        let b = backend();
        let mut watch = b.eligible();
        assert!(!b.is_eligible(), "not before a good check");
        b.set_healthy(true);
        assert!(b.is_eligible() && *watch.borrow_and_update());
        b.cordon(true);
        assert!(!b.is_eligible() && watch.has_changed().unwrap() && !*watch.borrow_and_update());
        b.cordon(false);
        b.retire();
        assert!(!b.is_eligible() && b.is_healthy());
    }

    #[test]
    fn in_flight_guards_and_cost() {
        let b = backend();
        let now = Instant::now();
        b.observe_at(Duration::from_millis(10), true, now);
        assert_eq!(b.cost(now), 10e6);
        let g1 = b.begin();
        let g2 = b.begin();
        assert_eq!(b.in_flight(), 2);
        assert_eq!(b.cost(now), 30e6);
        drop((g1, g2));
        assert_eq!(b.in_flight(), 0);
        b.observe_at(Duration::from_millis(2), false, now);
        assert_eq!(
            b.latency_estimate(now),
            Duration::from_secs(1),
            "a failure costs a second"
        );
        assert_eq!(b.requests(), (1, 1));
    }
}
