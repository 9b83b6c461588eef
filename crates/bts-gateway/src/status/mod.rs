//! The status page: a [`Snapshot`] of every network and backend (health and why, head, lag,
//! latency quantiles, availability over the last hour and day, chain stalled, cordoned), served
//! as JSON ([`status_json`]) and as an HTML page a person reads at a glance ([`status_html`]).

mod html;

use crate::health::{State, Tracker};
use crate::pool::{Backend, Gateway, Network};
use bts_protocol::TimePointSec;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Everything the status page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The crate version.
    pub version: &'static str,
    /// When the snapshot was taken (ISO 8601, UTC).
    pub generated: String,
    /// Seconds since the gateway started.
    pub uptime_secs: u64,
    /// Every network, in configuration order.
    pub networks: Vec<NetworkStatus>,
    /// The TLS certificates (expiry, last renewal, last error); absent without `[tls]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<bts_tls::CertStatus>,
}

/// One network.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkStatus {
    /// Its name.
    pub name: String,
    /// The chain id its backends must serve.
    pub chain_id: String,
    /// `round-robin`, `latency` or `geo`.
    pub selection: &'static str,
    /// Host names that reach it (empty: any).
    pub hosts: Vec<String>,
    /// Path prefixes that reach it.
    pub paths: Vec<String>,
    /// The corroborated head.
    pub head: Option<HeadStatus>,
    /// The corroborated last irreversible block.
    pub last_irreversible_block: Option<u32>,
    /// Seconds between blocks.
    pub block_interval_secs: Option<u32>,
    /// Whether every answering backend's head is old: the chain stalled, not the nodes.
    pub chain_stalled: bool,
    /// The sentence that explains the stall.
    pub stall: Option<String>,
    /// Backends taking new work.
    pub eligible_backends: usize,
    /// Every backend.
    pub backends: Vec<BackendStatus>,
}

/// A head block.
#[derive(Debug, Clone, Serialize)]
pub struct HeadStatus {
    /// Its number.
    pub number: u32,
    /// Its time (ISO 8601, UTC).
    pub time: String,
    /// Its age by the gateway's clock, in seconds.
    pub age_secs: i64,
}

/// One backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendStatus {
    /// Its id (for the admin endpoints).
    pub id: u64,
    /// Its URL.
    pub url: String,
    /// Its region.
    pub region: String,
    /// Its round-robin weight.
    pub weight: u32,
    /// `healthy`, `out` or `unknown`.
    pub state: State,
    /// Whether it takes new work (healthy and not cordoned).
    pub eligible: bool,
    /// Whether an operator cordoned it.
    pub cordoned: bool,
    /// Why it is in its state.
    pub reason: String,
    /// Its head at its last answered check.
    pub head: Option<HeadStatus>,
    /// Blocks behind the corroborated head at its last answered check.
    pub lag_blocks: Option<u32>,
    /// Its last irreversible block.
    pub last_irreversible_block: Option<u32>,
    /// Health checks made and failed.
    pub checks: u64,
    /// Health checks that did not pass.
    pub failed_checks: u64,
    /// Latency of real requests over the last five to ten minutes.
    pub latency_ms: Quantiles,
    /// Round trip of health checks over the last five to ten minutes.
    pub probe_rtt_ms: Quantiles,
    /// The peak-EWMA latency estimate that latency selection uses.
    pub ewma_ms: f64,
    /// Requests and sessions in flight.
    pub in_flight: u32,
    /// Real requests reported: answered.
    pub requests_ok: u64,
    /// Real requests reported: failed before answering.
    pub requests_failed: u64,
    /// Fraction of health checks passed.
    pub availability: AvailabilityStatus,
}

/// Latency quantiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Samples counted.
    pub samples: u64,
}

/// Fraction of health checks passed.
#[derive(Debug, Clone, Serialize)]
pub struct AvailabilityStatus {
    /// Over the last hour.
    pub hour: Option<f64>,
    /// Over the last day.
    pub day: Option<f64>,
    /// Per hour over the last day, oldest first.
    pub hourly: Vec<Option<f64>>,
}

/// The snapshot now.
pub fn snapshot(gw: &Gateway) -> Snapshot {
    snapshot_at(gw, SystemTime::now())
}

/// The snapshot at wall-clock time `wall`.
pub fn snapshot_at(gw: &Gateway, wall: SystemTime) -> Snapshot {
    Snapshot {
        version: env!("CARGO_PKG_VERSION"),
        generated: iso(wall),
        uptime_secs: wall.duration_since(gw.started_at()).map_or(0, |d| d.as_secs()),
        networks: gw.networks().iter().map(|n| network(n, wall)).collect(),
        certificates: Vec::new(),
    }
}

/// `/status` as JSON, with the certificates' status.
pub fn status_json(gw: &Gateway, certificates: Vec<bts_tls::CertStatus>) -> serde_json::Value {
    let mut s = snapshot(gw);
    s.certificates = certificates;
    serde_json::to_value(s).unwrap_or(serde_json::Value::Null)
}

/// `/status` as an HTML page (no scripts, no external assets; every value escaped).
pub fn status_html(gw: &Gateway, certificates: Vec<bts_tls::CertStatus>) -> String {
    let mut s = snapshot(gw);
    s.certificates = certificates;
    html::render(&s)
}

fn network(n: &Network, wall: SystemTime) -> NetworkStatus {
    let health = n.pool().health();
    let stall = health.stall(wall).map(|s| {
        format!(
            "every node's head is {} s old (freshest: block {} at {}): the chain stalled, not the nodes; \
             the pool keeps serving",
            s.age.as_secs(),
            s.head.number,
            s.head.time
        )
    });
    let head = health.head();
    let backends = n
        .backends()
        .iter()
        .map(|b| backend(b, health.tracker(b.id()), wall))
        .collect();
    let config = n.config();
    NetworkStatus {
        name: config.name.clone(),
        chain_id: config.chain_id.to_string(),
        selection: config.selection.as_str(),
        hosts: config.hosts.clone(),
        paths: config.paths.clone(),
        head: head.map(|h| head_status(h.number, h.time, wall)),
        last_irreversible_block: head.map(|h| h.last_irreversible),
        block_interval_secs: health.block_interval(),
        chain_stalled: stall.is_some(),
        stall,
        eligible_backends: n.eligible_count(),
        backends,
    }
}

fn backend(b: &Backend, tracker: Option<&Tracker>, wall: SystemTime) -> BackendStatus {
    let last = tracker.and_then(|t| t.last()).map(|(o, _)| o.head);
    let (checks, failed_checks) = tracker.map_or((0, 0), Tracker::checks);
    let (requests_ok, requests_failed) = b.requests();
    let availability = tracker.map(Tracker::availability);
    BackendStatus {
        id: b.id().0,
        url: b.url().to_owned(),
        region: b.region().to_owned(),
        weight: b.weight(),
        state: tracker.map_or(State::Unknown, Tracker::state),
        eligible: b.is_eligible(),
        cordoned: b.is_cordoned(),
        reason: tracker.map_or_else(|| "not checked yet".to_owned(), |t| t.reason().to_string()),
        head: last.map(|h| head_status(h.number, h.time, wall)),
        lag_blocks: tracker.and_then(Tracker::behind),
        last_irreversible_block: last.map(|h| h.last_irreversible),
        checks,
        failed_checks,
        latency_ms: quantiles(&b.latency),
        probe_rtt_ms: quantiles(&b.probe_rtt),
        ewma_ms: round(b.latency_estimate(Instant::now()).as_secs_f64() * 1000.0),
        in_flight: b.in_flight(),
        requests_ok,
        requests_failed,
        availability: AvailabilityStatus {
            hour: availability.and_then(|a| a.fraction(wall, Duration::from_secs(3600))),
            day: availability.and_then(|a| a.fraction(wall, Duration::from_secs(86_400))),
            hourly: availability.map_or_else(|| vec![None; 24], |a| a.hourly(wall, 24)),
        },
    }
}

fn quantiles(h: &crate::health::LatencyHistogram) -> Quantiles {
    let ms = |d: Duration| round(d.as_secs_f64() * 1000.0);
    Quantiles {
        p50: h.quantile(0.5).map(ms),
        p99: h.quantile(0.99).map(ms),
        samples: h.count(),
    }
}

fn head_status(number: u32, time: TimePointSec, wall: SystemTime) -> HeadStatus {
    let now = wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    HeadStatus {
        number,
        time: time.to_string(),
        age_secs: now - i64::from(time.secs()),
    }
}

/// Three decimals.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `2024-05-01T12:00:00Z`.
fn iso(wall: SystemTime) -> String {
    let secs = wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{}Z", TimePointSec(u32::try_from(secs).unwrap_or(u32::MAX)))
}
