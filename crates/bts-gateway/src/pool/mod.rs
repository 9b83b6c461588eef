//! The gateway's live state: the [`Gateway`] holds every [`Network`], each with its [`Backend`]s,
//! starts one health probe per backend, and swaps in a new configuration without dropping work.
//!
//! Reads on the request path are lock-free: the network list is an `ArcSwap` snapshot, a
//! network is immutable, and a backend's eligibility, load and latency are atomics. A reload
//! builds the new networks first (nothing changes if that fails, e.g. an unreadable geo
//! database), then swaps them in: a backend whose configuration is unchanged keeps its identity,
//! health record, latency estimate and probe; a removed backend turns ineligible (so WebSocket
//! sessions pinned to it move) and its probe stops; requests already holding the old network or
//! backend finish normally.

mod backend;
mod network;

pub use backend::{Backend, BackendId, InFlight};
pub use network::Network;
pub(crate) use network::Pool;

use crate::config::{self, GatewayConfig};
use crate::geo::{GeoDb, GeoError};
use crate::health::{Rules, probe};
use arc_swap::ArcSwap;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the gateway cannot start or take a configuration.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// A network's geo database cannot be used; the key path names the network.
    #[error("{key}: {source}")]
    Geo {
        /// `network[0].geo.database`.
        key: String,
        /// What is wrong with the file.
        source: GeoError,
    },
    /// Not called inside a Tokio runtime (the probes are tasks).
    #[error("the gateway must start inside a Tokio runtime")]
    NoRuntime,
    /// [`Gateway::shutdown`] was called.
    #[error("the gateway is shut down")]
    ShutDown,
}

/// What a reload changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReloadSummary {
    /// Backends started.
    pub added: usize,
    /// Backends kept with their state.
    pub kept: usize,
    /// Backends retired.
    pub removed: usize,
}

/// A running probe.
struct Probe {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// All networks, their backends and health probes.
pub struct Gateway {
    config: ArcSwap<GatewayConfig>,
    networks: ArcSwap<Vec<Arc<Network>>>,
    probes: Mutex<HashMap<BackendId, Probe>>,
    /// Probes told to stop by a reload, awaited at shutdown.
    stopping: Mutex<Vec<JoinHandle<()>>>,
    reloading: Mutex<()>,
    next_id: AtomicU64,
    started: SystemTime,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("networks", &self.networks.load())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex whose data stays usable after a panic elsewhere.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Gateway {
    /// Builds every network from `config` and starts the health probes; must run inside a Tokio
    /// runtime. Backends are unused until their first good check (made at once).
    pub fn start(config: &GatewayConfig) -> Result<Arc<Gateway>, GatewayError> {
        tokio::runtime::Handle::try_current().map_err(|_| GatewayError::NoRuntime)?;
        let gateway = Arc::new(Gateway {
            config: ArcSwap::from_pointee(config.clone()),
            networks: ArcSwap::from_pointee(Vec::new()),
            probes: Mutex::new(HashMap::new()),
            stopping: Mutex::new(Vec::new()),
            reloading: Mutex::new(()),
            next_id: AtomicU64::new(1),
            started: SystemTime::now(),
            shut_down: AtomicBool::new(false),
        });
        gateway.apply(config, true)?;
        Ok(gateway)
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<GatewayConfig> {
        self.config.load_full()
    }

    /// When the gateway started.
    pub fn started_at(&self) -> SystemTime {
        self.started
    }

    /// The network a request for `host` and `path` reaches (see [`GatewayConfig::route`]).
    pub fn network_for(&self, host: Option<&str>, path: &str) -> Option<Arc<Network>> {
        config::route(&self.networks.load(), |n| n.config(), host, path).cloned()
    }

    /// The network named `name`.
    pub fn network(&self, name: &str) -> Option<Arc<Network>> {
        self.networks.load().iter().find(|n| n.name() == name).cloned()
    }

    /// Every network, in configuration order (a snapshot: a reload does not change it).
    pub fn networks(&self) -> Arc<Vec<Arc<Network>>> {
        self.networks.load_full()
    }

    /// The backend with this id, in any network.
    pub fn backend(&self, id: BackendId) -> Option<Arc<Backend>> {
        self.networks.load().iter().find_map(|n| n.backend(id).cloned())
    }

    /// Completes when every network has at least one eligible backend (never, if a network has
    /// no backend that answers: wrap it in a timeout).
    pub async fn wait_ready(&self) {
        loop {
            let networks = self.networks();
            for network in networks.iter() {
                let mut changes = network.changes();
                // The sender lives in the network's pool, which this snapshot keeps alive.
                let _ = changes.wait_for(|_| network.eligible_count() > 0).await;
            }
            if networks.iter().all(|n| n.eligible_count() > 0) {
                return;
            }
        }
    }

    /// Swaps in a new configuration: see the module documentation. Errors leave everything as it
    /// was. (The caller counts reloads in [`crate::metrics::reload`], since it also sees the
    /// configuration errors that never reach here.)
    pub fn reload(&self, new: &GatewayConfig) -> Result<ReloadSummary, GatewayError> {
        let result = self.apply(new, false);
        if let Ok(s) = &result {
            tracing::info!(target: "bts_gateway::reload", added = s.added, kept = s.kept, removed = s.removed, "configuration reloaded");
        }
        result
    }

    /// Stops every probe and waits for them to end. Networks stay readable; backends keep their
    /// last state.
    pub async fn shutdown(&self) {
        let serial = lock(&self.reloading);
        self.shut_down.store(true, Ordering::SeqCst);
        let mut tasks: Vec<JoinHandle<()>> = lock(&self.stopping).drain(..).collect();
        for (_, probe) in lock(&self.probes).drain() {
            let _ = probe.stop.send(true);
            tasks.push(probe.task);
        }
        drop(serial);
        for task in tasks {
            let _ = task.await;
        }
    }

    fn apply(&self, new: &GatewayConfig, first: bool) -> Result<ReloadSummary, GatewayError> {
        let _serial = lock(&self.reloading);
        if self.shut_down.load(Ordering::SeqCst) {
            return Err(GatewayError::ShutDown);
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| GatewayError::NoRuntime)?;
        let old_networks = self.networks.load_full();
        let restart_probes = !first && self.config.load().health != new.health;
        let rules = Rules::from(&new.health);
        let built = self.build(new, &old_networks, rules)?;

        let kept: HashSet<BackendId> = built.iter().flat_map(|n| n.backends().iter().map(|b| b.id())).collect();
        let mut summary = ReloadSummary::default();
        for network in old_networks.iter() {
            for backend in network.backends().iter().filter(|b| !kept.contains(&b.id())) {
                backend.retire();
                network.pool().health().remove(backend.id());
                summary.removed += 1;
            }
        }
        for network in &built {
            let mut health = network.pool().health();
            health.set_rules(rules);
            for backend in network.backends() {
                health.add(backend.id());
            }
        }
        self.networks.store(Arc::new(built.clone()));
        self.config.store(Arc::new(new.clone()));

        self.start_probes(&runtime, &built, &kept, restart_probes, new.health);
        let old: HashSet<BackendId> = old_networks
            .iter()
            .flat_map(|n| n.backends().iter().map(|b| b.id()))
            .collect();
        summary.added = kept.difference(&old).count();
        summary.kept = kept.len() - summary.added;
        Ok(summary)
    }

    /// Stops the probes of backends not in `kept` (all of them if `restart`), and starts one for
    /// every backend of `networks` that has none.
    fn start_probes(
        &self,
        runtime: &tokio::runtime::Handle,
        networks: &[Arc<Network>],
        kept: &HashSet<BackendId>,
        restart: bool,
        settings: crate::config::HealthSettings,
    ) {
        let mut probes = lock(&self.probes);
        let mut stopping = lock(&self.stopping);
        stopping.retain(|t| !t.is_finished());
        let ended: Vec<BackendId> = probes
            .keys()
            .filter(|id| restart || !kept.contains(id))
            .copied()
            .collect();
        for id in ended {
            if let Some(probe) = probes.remove(&id) {
                let _ = probe.stop.send(true);
                stopping.push(probe.task);
            }
        }
        for network in networks {
            for backend in network.backends() {
                if let std::collections::hash_map::Entry::Vacant(slot) = probes.entry(backend.id()) {
                    let (stop, stopped) = watch::channel(false);
                    let task = runtime.spawn(probe::run(backend.clone(), network.pool().clone(), settings, stopped));
                    slot.insert(Probe { stop, task });
                }
            }
        }
    }

    /// The new networks, reusing pools and unchanged backends of `old`; no side effects.
    fn build(
        &self,
        new: &GatewayConfig,
        old: &[Arc<Network>],
        rules: Rules,
    ) -> Result<Vec<Arc<Network>>, GatewayError> {
        let mut built = Vec::new();
        for (i, config) in new.networks.iter().enumerate() {
            let previous = old
                .iter()
                .find(|n| n.name() == config.name && n.chain_id() == config.chain_id);
            let pool = previous.map_or_else(|| Pool::new(&config.name, config.chain_id, rules), |n| n.pool().clone());
            let geo = match (&config.geo, config.selection) {
                (Some(g), crate::Selection::Geo) => Some(Arc::new(GeoDb::open(&g.database).map_err(|source| {
                    GatewayError::Geo {
                        key: format!("network[{i}].geo.database"),
                        source,
                    }
                })?)),
                _ => None,
            };
            let backends = config
                .backends
                .iter()
                .map(|b| {
                    let same = previous.and_then(|n| n.backends().iter().find(|o| o.config() == b));
                    same.cloned().unwrap_or_else(|| {
                        let id = BackendId(self.next_id.fetch_add(1, Ordering::Relaxed));
                        Arc::new(Backend::new(id, &config.name, b.clone()))
                    })
                })
                .collect();
            built.push(Arc::new(Network::new(config.clone(), pool, backends, geo)));
        }
        Ok(built)
    }
}
