//! One network: its settings, its backends and how they are picked ([`Network`]), and the health
//! state of its backends that survives configuration reloads ([`Pool`]).
//!
//! The request path calls [`Network::pick`], which reads only atomics and immutable data: each
//! backend's eligibility is an atomic that the probe tasks set after every check. The health
//! records behind a mutex are touched by the probe tasks and the status page only.

use super::backend::{Backend, BackendId};
use crate::config::NetworkConfig;
use crate::config::Selection;
use crate::geo::{GeoDb, Place};
use crate::health::{CheckResult, Head, PoolHealth, Reason, Rules, State};
use crate::metrics;
use crate::select::p2c::Rng;
use crate::select::region::RegionOrder;
use crate::select::round_robin::RoundRobin;
use crate::select::{Candidates, Strategy};
use arc_swap::ArcSwap;
use bts_protocol::{ChainId, TimePointSec};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::sync::watch;
use tokio::time::Instant;

/// What the request path may read about a pool's chain without locking.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) head: Option<Head>,
    pub(crate) block_interval: Option<u32>,
    pub(crate) stalled: bool,
}

/// The health of one network's backends; kept across reloads while the network's name and chain
/// id stay the same.
#[derive(Debug)]
pub(crate) struct Pool {
    network: String,
    chain_id: ChainId,
    health: Mutex<PoolHealth>,
    summary: ArcSwap<Summary>,
    changes: watch::Sender<u64>,
}

impl Pool {
    pub(crate) fn new(network: &str, chain_id: ChainId, rules: Rules) -> Arc<Pool> {
        Arc::new(Pool {
            network: network.to_owned(),
            chain_id,
            health: Mutex::new(PoolHealth::new(network, chain_id, rules)),
            summary: ArcSwap::from_pointee(Summary::default()),
            changes: watch::Sender::new(0),
        })
    }

    pub(crate) fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The health records (the probe tasks and the status page; never the request path).
    pub(crate) fn health(&self) -> MutexGuard<'_, PoolHealth> {
        // A panic while holding the lock leaves records that are still consistent enough to read.
        self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn summary(&self) -> Summary {
        **self.summary.load()
    }

    /// Records a check of `backend` sent at `wall`, and publishes the backend's eligibility, the
    /// pool's summary and the metrics.
    pub(crate) fn record(&self, backend: &Backend, result: CheckResult, wall: SystemTime) {
        let rtt = match &result {
            CheckResult::Answered(o) => Some(o.rtt),
            _ => None,
        };
        let Some(j) = self.judge(backend.id(), result, wall) else {
            return; // retired by a reload while this check ran
        };
        backend.set_healthy(j.state == State::Healthy);
        if let Some(rtt) = rtt {
            backend.observe_probe(rtt, Instant::now());
        }
        backend.probe_rtt.rotate(wall);
        backend.latency.rotate(wall);
        metrics::health_check(&self.network, backend.url(), j.label, rtt.map(|r| r.as_secs_f64()));
        metrics::backend_state(&self.network, backend.url(), backend.is_eligible(), j.head, j.behind);
        metrics::chain_stalled(&self.network, j.summary.stalled);
        if j.before != Some(j.state) {
            tracing::info!(target: "bts_gateway::health", network = %self.network, backend = backend.url(),
                from = j.before.map_or("new", State::as_str), to = j.state.as_str(), reason = %j.reason,
                "backend health changed");
        }
        self.publish(j.summary);
    }

    /// Applies the rules to a check, under the lock; `None` if the backend is no longer tracked.
    fn judge(&self, id: BackendId, result: CheckResult, wall: SystemTime) -> Option<Judged> {
        let label = match &result {
            CheckResult::WrongChain(_) => "wrong_chain",
            CheckResult::Timeout => "timeout",
            CheckResult::Error(_) => "error",
            CheckResult::Answered(_) => "ok",
        };
        let mut health = self.health();
        let before = health.tracker(id).map(|t| t.state());
        let state = health.record(id, result, wall)?;
        let tracker = health.tracker(id)?;
        let label = match (label, tracker.reason()) {
            ("ok", Reason::Lagging { .. }) => "lagging",
            ("ok", Reason::Stopped { .. }) => "stopped",
            (l, _) => l,
        };
        Some(Judged {
            before,
            state,
            label,
            head: tracker.last().map(|(o, _)| o.head.number),
            behind: tracker.behind(),
            reason: tracker.reason().to_string(),
            summary: Summary {
                head: health.head(),
                block_interval: health.block_interval(),
                stalled: health.stall(wall).is_some(),
            },
        })
    }

    /// Publishes a new summary (logging a change of the stall flag) and wakes the waiters.
    fn publish(&self, summary: Summary) {
        let was_stalled = self.summary.load().stalled;
        if summary.stalled && !was_stalled {
            tracing::warn!(target: "bts_gateway::health", network = %self.network,
                head = summary.head.map(|h| h.number), "chain stalled: every head is old; the pool keeps serving");
        } else if was_stalled && !summary.stalled {
            tracing::info!(target: "bts_gateway::health", network = %self.network, "chain moving again");
        }
        self.summary.store(Arc::new(summary));
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// What one check changed, as [`Pool::judge`] found it.
struct Judged {
    before: Option<State>,
    state: State,
    label: &'static str,
    head: Option<u32>,
    behind: Option<u32>,
    reason: String,
    summary: Summary,
}

/// A network as the request path sees it. Immutable: a reload builds a new one (keeping the
/// backends and health records that did not change).
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    pool: Arc<Pool>,
    backends: Vec<Arc<Backend>>,
    /// Each backend's index in the region order's region list.
    regions: Vec<Option<usize>>,
    strategy: Strategy,
    geo: Option<Arc<GeoDb>>,
    rng: Rng,
    metrics: crate::metrics::RequestMetrics,
}

impl Network {
    pub(crate) fn new(
        config: NetworkConfig,
        pool: Arc<Pool>,
        backends: Vec<Arc<Backend>>,
        geo: Option<Arc<GeoDb>>,
    ) -> Network {
        let names: Vec<&str> = config.regions();
        let order = RegionOrder::new(
            &config.geo.as_ref().map(|g| g.prefer.clone()).unwrap_or_default(),
            &names,
        );
        let regions = backends.iter().map(|b| order.index(b.region())).collect();
        let strategy = match config.selection {
            Selection::RoundRobin => Strategy::RoundRobin(RoundRobin::new(
                &backends.iter().map(|b| b.weight()).collect::<Vec<_>>(),
            )),
            Selection::Latency => Strategy::Latency,
            Selection::Geo => Strategy::Geo(order),
        };
        Network {
            metrics: crate::metrics::RequestMetrics::new(&config.name, None),
            config,
            pool,
            backends,
            regions,
            strategy,
            geo,
            rng: Rng::from_clock(),
        }
    }

    /// Metrics of the requests the gateway answers itself on this network (cache, limits, no backend).
    pub fn metrics(&self) -> &crate::metrics::RequestMetrics {
        &self.metrics
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The chain id every backend must report.
    pub fn chain_id(&self) -> ChainId {
        self.config.chain_id
    }

    /// JSON-RPC methods refused on this network.
    pub fn deny_methods(&self) -> &[String] {
        &self.config.deny_methods
    }

    /// Its configuration.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Its backends, in configuration order.
    pub fn backends(&self) -> &[Arc<Backend>] {
        &self.backends
    }

    /// The backend with this id.
    pub fn backend(&self, id: BackendId) -> Option<&Arc<Backend>> {
        self.backends.iter().find(|b| b.id() == id)
    }

    /// An eligible backend for a new request or session, by the network's selection; `exclude`
    /// lists backends already tried. `None` when no eligible backend is left.
    pub fn pick(&self, client_ip: IpAddr, exclude: &[BackendId]) -> Option<Arc<Backend>> {
        self.pick_at(client_ip, exclude, Instant::now())
    }

    /// [`Network::pick`] with latency costs evaluated at `now` (tests pass a paused clock).
    pub fn pick_at(&self, client_ip: IpAddr, exclude: &[BackendId], now: Instant) -> Option<Arc<Backend>> {
        let place = match &self.strategy {
            Strategy::Geo(_) => self.place(client_ip),
            _ => Place::default(),
        };
        let candidates = Candidates {
            n: self.backends.len(),
            usable: |i: usize| self.backends[i].is_eligible() && !exclude.contains(&self.backends[i].id()),
            cost: |i: usize| self.backends[i].cost(now),
            region: |i: usize| self.regions[i],
        };
        let client = (
            place.country.as_ref().map(|c| c.as_str()),
            place.continent.as_ref().map(|c| c.as_str()),
        );
        let index = self.strategy.pick(&candidates, client, self.rng.next())?;
        Some(self.backends[index].clone())
    }

    /// Where the geo database puts an address (empty without one).
    pub fn place(&self, ip: IpAddr) -> Place {
        self.geo.as_ref().map(|g| g.lookup(ip)).unwrap_or_default()
    }

    /// The corroborated head (second-highest among answering backends): number and time.
    pub fn head(&self) -> Option<(u32, TimePointSec)> {
        self.pool.summary().head.map(|h| (h.number, h.time))
    }

    /// The corroborated last irreversible block: blocks at or below it never change (for the cache).
    pub fn last_irreversible_block(&self) -> Option<u32> {
        self.pool.summary().head.map(|h| h.last_irreversible)
    }

    /// The chain's block interval in seconds, once a backend answered.
    pub fn block_interval(&self) -> Option<u32> {
        self.pool.summary().block_interval
    }

    /// Whether the chain stalled (every answering head is old); the pool keeps serving.
    pub fn chain_stalled(&self) -> bool {
        self.pool.summary().stalled
    }

    /// How many backends take new work now.
    pub fn eligible_count(&self) -> usize {
        self.backends.iter().filter(|b| b.is_eligible()).count()
    }

    /// Ticks after every health check of this network (tests and the status page await
    /// conditions with `wait_for`).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.pool.changes.subscribe()
    }

    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
}
