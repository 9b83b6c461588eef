//! Starting and stopping devnet nodes: a whole network (the block producer and its nodes) or a
//! follower of another node, with their endpoints.
//! This is what `bts-infra devnet`, `bts-infra up` and the integration tests of every crate use.

use crate::chain::ChainConfig;
use crate::follow::{self, FollowError, Upstream};
use crate::ledger::Ledger;
use crate::network::{Network, Node, Relay};
use crate::server::{self, ServerConfig};
use crate::store::DataDir;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::info;

/// Where a devnet that starts now puts its genesis: one `interval` before the wall clock, rounded
/// down to a whole interval. Its first block is then due at once ([`Devnet::start`] makes it),
/// and its head time follows the real time, which clients compute expirations from.
pub fn genesis_now(interval: u32) -> bts_protocol::TimePointSec {
    let interval = interval.max(1);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = u32::try_from(secs).unwrap_or(u32::MAX);
    bts_protocol::TimePointSec((secs - secs % interval).saturating_sub(interval))
}

/// The chain of a devnet that starts now: `prefix`'s devnet defaults with one-second blocks and
/// its genesis at [`genesis_now`], so its head time follows the wall clock.
pub fn config_now(prefix: bts_protocol::Prefix) -> ChainConfig {
    let mut config = ChainConfig::devnet(prefix);
    config.block_interval = 1;
    config.genesis_time = genesis_now(1);
    config
}

/// A node that is serving.
#[derive(Clone)]
pub struct RunningNode {
    /// The node (its chain replica and faults).
    pub node: Arc<Node>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl RunningNode {
    /// `ws://ADDR/`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// `http://ADDR/`.
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// Nodes being served, and the tasks that run them.
struct Serving {
    nodes: Vec<RunningNode>,
    stop: watch::Sender<bool>,
    node_stops: Vec<watch::Sender<bool>>,
    tasks: JoinSet<()>,
}

impl Serving {
    fn new() -> Serving {
        Serving {
            nodes: Vec::new(),
            stop: watch::channel(false).0,
            node_stops: Vec::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Serves `node` on `listener`: it catches up with its ledger at once, then follows it.
    fn serve(&mut self, node: Arc<Node>, listener: TcpListener, server: ServerConfig) -> std::io::Result<()> {
        let addr = listener.local_addr()?;
        node.catch_up();
        self.tasks.spawn(node.clone().follow(self.stop.subscribe()));
        let mut stopped = self.stop.subscribe();
        let (node_stop, mut node_stopped) = watch::channel(false);
        self.node_stops.push(node_stop);
        let serving = node.clone();
        self.tasks.spawn(async move {
            let shutdown = async move {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => {}
                    _ = node_stopped.wait_for(|s| *s) => {}
                }
            };
            if let Err(e) = server::run(listener, serving, server, shutdown).await {
                tracing::error!(target: "bts_devnet::server", %addr, error = %e, "server failed");
            }
        });
        self.nodes.push(RunningNode { node, addr });
        Ok(())
    }

    fn stop_node(&self, index: usize) {
        if let (Some(node), Some(stop)) = (self.nodes.get(index), self.node_stops.get(index)) {
            node.node.drop_connections();
            let _ = stop.send(true);
        }
    }

    async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn invalid(e: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
}

/// A running devnet network: the block producer and its nodes, in this process.
pub struct Devnet {
    network: Arc<Network>,
    serving: Serving,
}

impl Devnet {
    /// Starts a network named `name` with one node per listener (bind them to port 0 in tests),
    /// its blocks kept in memory.
    pub async fn start(
        name: &str,
        config: ChainConfig,
        listeners: Vec<TcpListener>,
        server: ServerConfig,
    ) -> std::io::Result<Devnet> {
        Devnet::resume(name, config, Arc::new(Ledger::memory()), listeners, server).await
    }

    /// [`Devnet::start`] continuing the blocks of `ledger` (from [`crate::store::DataDir::open`]):
    /// the chain resumes from its last stored block, and new blocks are stored there too.
    ///
    /// On a new chain, block 1 is made before any node serves: a chain at block 0 has no block
    /// after its last irreversible one, where python-bitshares takes its TaPoS reference from.
    pub async fn resume(
        name: &str,
        config: ChainConfig,
        ledger: Arc<Ledger>,
        listeners: Vec<TcpListener>,
        server: ServerConfig,
    ) -> std::io::Result<Devnet> {
        let network = Network::resume(name, config, ledger).map_err(invalid)?;
        if network.ledger().head() == 0 {
            let interval = network.config().block_interval.max(1);
            network
                .produce_block(network.config().genesis_time.saturating_add(interval))
                .map_err(std::io::Error::other)?;
        }
        let mut serving = Serving::new();
        serving
            .tasks
            .spawn(network.clone().produce_blocks(serving.stop.subscribe()));
        for (i, listener) in listeners.into_iter().enumerate() {
            serving.serve(Node::new(&format!("{name}-{i}"), &network), listener, server)?;
        }
        Ok(Devnet { network, serving })
    }

    /// [`Devnet::start`] with `nodes` nodes on `127.0.0.1` ports the system picks: what tests and
    /// local demos want, since a fixed port may be taken.
    pub async fn start_local(
        name: &str,
        config: ChainConfig,
        nodes: usize,
        server: ServerConfig,
    ) -> std::io::Result<Devnet> {
        let mut listeners = Vec::with_capacity(nodes);
        for _ in 0..nodes {
            listeners.push(TcpListener::bind("127.0.0.1:0").await?);
        }
        Devnet::start(name, config, listeners, server).await
    }

    /// The network (ordering chain and configuration).
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    /// The serving nodes, in listener order.
    pub fn nodes(&self) -> &[RunningNode] {
        &self.serving.nodes
    }

    /// Kills node `index` as a crashed process would vanish: its connections drop without a
    /// goodbye and its port refuses new ones. The rest of the network goes on.
    pub fn stop_node(&self, index: usize) {
        self.serving.stop_node(index);
    }

    /// Stops producing blocks, closes every connection and waits for all tasks to end.
    pub async fn shutdown(self) {
        self.serving.shutdown().await;
    }
}

/// A running follower: nodes in this process that replicate an upstream node's chain.
pub struct Follower {
    upstream: Arc<Upstream>,
    config: ChainConfig,
    serving: Serving,
    failed: watch::Receiver<Option<Arc<FollowError>>>,
}

impl Follower {
    /// Follows the devnet node at `url` (`ws://` or `http://`), serving one node per listener.
    /// An upstream that cannot be reached is waited for (logged); `cancel` turning true ends
    /// the wait with `Ok(None)`. With `data_dir`, blocks are stored there and a restart resumes
    /// from them; the data dir must hold the upstream's chain (or nothing yet).
    pub async fn start(
        url: &str,
        data_dir: Option<&DataDir>,
        listeners: Vec<TcpListener>,
        server: ServerConfig,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<Option<Follower>, FollowError> {
        let Some(upstream) = Upstream::connect(url, &mut cancel).await? else {
            return Ok(None);
        };
        let Some(config) = upstream.genesis(&mut cancel).await? else {
            return Ok(None);
        };
        info!(target: "bts_devnet::follow", upstream = %url, chain_id = %config.chain_id, "following");
        let ledger = match data_dir {
            Some(dir) => Arc::new(dir.open(&config)?),
            None => Arc::new(Ledger::memory()),
        };
        let upstream = Arc::new(upstream);
        let mut serving = Serving::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let node = Node::with_relay(
                &format!("follower-{i}"),
                config.clone(),
                ledger.clone(),
                Relay::Upstream(upstream.clone()),
            )
            .map_err(|e| FollowError::NotDevnet {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
            serving.serve(node, listener, server).map_err(|e| FollowError::BadUrl {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
        }
        let (fail, failed) = watch::channel(None);
        let sync = follow::sync(upstream.clone(), config.clone(), ledger, serving.stop.subscribe());
        serving.tasks.spawn(async move {
            if let Err(e) = sync.await {
                tracing::error!(target: "bts_devnet::follow", error = %e, "cannot follow the upstream any more");
                let _ = fail.send(Some(Arc::new(e)));
            }
        });
        Ok(Some(Follower {
            upstream,
            config,
            serving,
            failed,
        }))
    }

    /// The chain followed.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The upstream's address.
    pub fn upstream(&self) -> &str {
        self.upstream.url()
    }

    /// The serving nodes, in listener order.
    pub fn nodes(&self) -> &[RunningNode] {
        &self.serving.nodes
    }

    /// Completes when the follower cannot go on (its upstream now serves another chain, or its
    /// data dir cannot be written), with the reason.
    pub async fn failed(&self) -> Arc<FollowError> {
        let mut failed = self.failed.clone();
        match failed.wait_for(Option::is_some).await {
            Ok(e) => e.clone().expect("waited for it"),
            // The sync task ended without an error (a shutdown): never complete.
            Err(_) => std::future::pending().await,
        }
    }

    /// Closes every connection and waits for all tasks to end.
    pub async fn shutdown(self) {
        self.serving.shutdown().await;
    }
}
