//! Starting and stopping a whole devnet network: the block producer, the nodes and their endpoints.
//! This is what `bts-infra devnet`, `bts-infra up` and the integration tests of every crate use.

use crate::chain::ChainConfig;
use crate::network::{Network, Node};
use crate::server::{self, ServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

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

/// A running devnet network.
pub struct Devnet {
    network: Arc<Network>,
    nodes: Vec<RunningNode>,
    stop: watch::Sender<bool>,
    node_stops: Vec<watch::Sender<bool>>,
    tasks: JoinSet<()>,
}

impl Devnet {
    /// Starts a network named `name` with one node per listener (bind them to port 0 in tests).
    ///
    /// Block 1 is made before any node serves: a chain at block 0 has no block after its last
    /// irreversible one, where python-bitshares takes its TaPoS reference from.
    pub async fn start(
        name: &str,
        config: ChainConfig,
        listeners: Vec<TcpListener>,
        server: ServerConfig,
    ) -> std::io::Result<Devnet> {
        let network = Network::new(name, config)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let interval = network.config().block_interval.max(1);
        network.produce_block(network.config().genesis_time.saturating_add(interval));
        let (stop, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(network.clone().produce_blocks(stop.subscribe()));
        let mut nodes = Vec::new();
        let mut node_stops = Vec::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let addr = listener.local_addr()?;
            let node = Node::new(&format!("{name}-{i}"), &network);
            node.catch_up();
            tasks.spawn(node.clone().follow(stop.subscribe()));
            let mut stopped = stop.subscribe();
            let (node_stop, mut node_stopped) = watch::channel(false);
            node_stops.push(node_stop);
            let serving = node.clone();
            tasks.spawn(async move {
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
            nodes.push(RunningNode { node, addr });
        }
        Ok(Devnet {
            network,
            nodes,
            stop,
            node_stops,
            tasks,
        })
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
        &self.nodes
    }

    /// Kills node `index` as a crashed process would vanish: its connections drop without a
    /// goodbye and its port refuses new ones. The rest of the network goes on.
    pub fn stop_node(&self, index: usize) {
        if let (Some(node), Some(stop)) = (self.nodes.get(index), self.node_stops.get(index)) {
            node.node.drop_connections();
            let _ = stop.send(true);
        }
    }

    /// Stops producing blocks, closes every connection and waits for all tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}
