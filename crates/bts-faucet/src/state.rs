//! What every request and background task of one faucet shares, passed explicitly.

use crate::config::FaucetConfig;
use crate::locks::NameLocks;
use crate::metrics::Metrics;
use crate::nodes::Nodes;
use crate::register::Referrer;
use crate::stats::ChainFigures;
use crate::store::Store;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One faucet's state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: FaucetConfig,
    pub(crate) nodes: Nodes,
    pub(crate) store: Store,
    /// The registrar account, as found on chain at start.
    pub(crate) registrar: Referrer,
    pub(crate) locks: NameLocks,
    /// Serialises "check the limits, then claim a row", so concurrent requests cannot all pass a
    /// limit that only one of them should.
    pub(crate) admission: tokio::sync::Mutex<()>,
    /// Every registration in progress holds a read guard; shutdown takes the write lock, so it
    /// waits until they have all finished their bookkeeping.
    pub(crate) in_flight: Arc<tokio::sync::RwLock<()>>,
    pub(crate) metrics: Metrics,
    /// The chain's figures for the statistics page, with when they were read.
    pub(crate) chain_figures: Mutex<Option<(Instant, ChainFigures)>>,
}

impl Shared {
    pub(crate) fn new(
        config: FaucetConfig,
        nodes: Nodes,
        store: Store,
        registrar: Referrer,
        metrics: Metrics,
    ) -> Shared {
        Shared {
            config,
            nodes,
            store,
            registrar,
            locks: NameLocks::default(),
            admission: tokio::sync::Mutex::new(()),
            in_flight: Arc::new(tokio::sync::RwLock::new(())),
            metrics,
            chain_figures: Mutex::new(None),
        }
    }

    /// The longest a registration request can take: reads, a broadcast per node, and the wait
    /// after a duplicate. A row younger than this may still be worked on by another process.
    pub(crate) fn request_budget(&self) -> Duration {
        let t = &self.config.timeouts;
        let nodes = u32::try_from(self.nodes.all().len()).unwrap_or(u32::MAX);
        t.broadcast.saturating_mul(nodes.saturating_add(2)) + t.node.saturating_mul(8 * nodes.max(1))
    }
}
