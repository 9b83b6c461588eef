//! A devnet network: one chain that orders transactions into blocks, and the nodes that serve it.
//!
//! Real BitShares networks have many nodes on one chain, and the gateway has to tell a healthy one
//! from one that lags or has died. So a devnet network is one ordering chain (the block producer)
//! plus any number of [`Node`]s, each with its own replica of the chain, its own endpoint and its
//! own faults. Every block is a list of transactions and a timestamp; the chain is deterministic,
//! so a node that applies the same blocks in the same order reaches the same state and the same
//! block ids. A frozen node stops applying blocks (its head falls behind) and catches up when it
//! is thawed, as a real node resyncs.
//!
//! Time comes from tokio's clock (`tokio::time::Instant`), so tests can pause it.

use crate::chain::{BlockProduced, Chain, ChainConfig, ConfigError};
use crate::faults::Faults;
use bts_protocol::{SignedTransaction, TimePointSec, TransactionId};
use bts_rpc::FcException;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, watch};
use tracing::{debug, error, info};

/// A block as the network ordered it: enough for any replica to apply it.
#[derive(Debug)]
pub struct BlockRecord {
    /// Block number.
    pub num: u32,
    /// Timestamp.
    pub time: TimePointSec,
    /// The transactions, in order.
    pub transactions: Vec<SignedTransaction>,
}

/// The ordering side of a network: the canonical chain, the transactions waiting for the next
/// block, and the log of all blocks.
pub struct Network {
    name: String,
    config: ChainConfig,
    producer: Mutex<Producer>,
    log: RwLock<Vec<Arc<BlockRecord>>>,
    new_block: Notify,
}

struct Producer {
    chain: Chain,
    pending: Vec<SignedTransaction>,
}

impl Network {
    /// A network at genesis; an invalid configuration is an error naming the bad setting. Call
    /// [`Network::produce_blocks`] to make it tick.
    pub fn new(name: &str, config: ChainConfig) -> Result<Arc<Network>, ConfigError> {
        Ok(Arc::new(Network {
            name: name.to_owned(),
            producer: Mutex::new(Producer {
                chain: Chain::new(config.clone())?,
                pending: Vec::new(),
            }),
            config,
            log: RwLock::new(Vec::new()),
            new_block: Notify::new(),
        }))
    }

    /// The network's name (`mainnet`, `testnet`, ... on this machine).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The genesis configuration.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// Checks a transaction against the canonical chain and queues it for the next block, as a
    /// node does when it receives a transaction from a client and relays it to the producers.
    pub fn push(&self, tx: &SignedTransaction) -> Result<TransactionId, FcException> {
        let mut producer = self.producer.lock().expect("producer lock");
        let id = producer.chain.push_transaction(tx)?;
        producer.pending.push(tx.clone());
        Ok(id)
    }

    /// Makes the next block at `time` from the queued transactions.
    pub fn produce_block(&self, time: TimePointSec) -> Arc<BlockRecord> {
        let record = {
            let mut producer = self.producer.lock().expect("producer lock");
            let produced = producer.chain.produce_block(time);
            // The block holds what the chain included; what it left pending (a full block) waits
            // for the next one, and what no longer applies is gone, as on the node.
            let included: Vec<TransactionId> = produced.confirmations.iter().map(|c| c.id).collect();
            let (transactions, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut producer.pending)
                .into_iter()
                .partition(|tx| included.contains(&tx.id()));
            producer.pending = rest
                .into_iter()
                .filter(|tx| produced.dropped.iter().all(|(id, _)| *id != tx.id()))
                .collect();
            Arc::new(BlockRecord {
                num: produced.block_num,
                time: produced.timestamp,
                transactions,
            })
        };
        self.log.write().expect("log lock").push(record.clone());
        self.new_block.notify_waiters();
        debug!(target: "bts_devnet::network", network = %self.name, block = record.num, txs = record.transactions.len(), "block produced");
        record
    }

    /// The block after `num`, if the network has produced it.
    fn block_after(&self, num: u32) -> Option<Arc<BlockRecord>> {
        // Block n is at index n - 1: the log starts with block 1.
        self.log.read().expect("log lock").get(num as usize).cloned()
    }

    /// The head block time of the canonical chain.
    pub fn head_time(&self) -> TimePointSec {
        self.producer.lock().expect("producer lock").chain.head_block_time()
    }

    /// Produces a block every interval until `stop` turns true. Block times are whole slots; the
    /// block of time T is made when the wall clock reads T (or at once if T is past, for a chain
    /// whose genesis was pinned in the past), then the pace is kept with tokio's clock.
    pub async fn produce_blocks(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let interval = self.config.block_interval.max(1);
        let first = self.head_time().saturating_add(interval);
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let delay = Duration::from_secs(u64::from(first.secs()).saturating_sub(wall));
        let start = tokio::time::Instant::now() + delay;
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(stopped);
        let mut next = first;
        loop {
            let due = start + Duration::from_secs(u64::from(next.secs() - first.secs()));
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = &mut stopped => return,
            }
            self.produce_block(next);
            next = next.saturating_add(interval);
        }
    }
}

/// What a node tells its connections.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// The node applied a block.
    Block(Arc<BlockProduced>),
    /// The admin asked to drop every connection.
    DropConnections,
}

/// One node of a network: a replica of the chain, its faults, and the events its clients see.
pub struct Node {
    name: String,
    network: Arc<Network>,
    chain: Mutex<Chain>,
    faults: Faults,
    events: broadcast::Sender<NodeEvent>,
}

impl Node {
    /// A node at genesis; [`Node::follow`] makes it apply the network's blocks.
    pub fn new(name: &str, network: &Arc<Network>) -> Arc<Node> {
        let (events, _) = broadcast::channel(256);
        // The network was built from the same configuration, so it is valid.
        let chain = Chain::new(network.config.clone()).expect("the network's configuration was validated");
        Arc::new(Node {
            name: name.to_owned(),
            network: network.clone(),
            chain: Mutex::new(chain),
            faults: Faults::default(),
            events,
        })
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The network the node belongs to.
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    /// The node's faults (all off unless an admin turns them on).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Runs `f` with the node's chain.
    pub fn with_chain<T>(&self, f: impl FnOnce(&Chain) -> T) -> T {
        f(&self.chain.lock().expect("chain lock"))
    }

    /// Subscribes to the node's events.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Asks every connection of this node to close.
    pub fn drop_connections(&self) {
        let _ = self.events.send(NodeEvent::DropConnections);
    }

    /// Applies the network's blocks as they come, unless frozen, until `stop` turns true.
    pub async fn follow(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(stopped);
        loop {
            // Register interest before looking, so a block produced in between is not missed.
            let new_block = self.network.new_block.notified();
            let thawed = self.faults.thawed();
            if self.faults.frozen() {
                tokio::select! {
                    () = thawed => continue,
                    () = &mut stopped => return,
                }
            }
            let head = self.with_chain(Chain::head_block_num);
            match self.network.block_after(head) {
                Some(block) => self.apply(&block),
                None => tokio::select! {
                    () = new_block => {}
                    () = thawed => {}
                    () = &mut stopped => return,
                },
            }
        }
    }

    /// Applies every block the network has made so far, at once.
    pub fn catch_up(&self) {
        while let Some(block) = self.network.block_after(self.with_chain(Chain::head_block_num)) {
            self.apply(&block);
        }
    }

    /// Applies one block: its transactions, then the block itself.
    fn apply(&self, block: &BlockRecord) {
        let produced = {
            let mut chain = self.chain.lock().expect("chain lock");
            for tx in &block.transactions {
                // The producer accepted this transaction against the same state; a replica that
                // disagrees has a determinism bug, which must be loud.
                if let Err(e) = chain.push_transaction(tx) {
                    error!(target: "bts_devnet::network", node = %self.name, block = block.num, error = %e.text(), "replica rejected a block's transaction");
                }
            }
            chain.produce_block(block.time)
        };
        if produced.block_num != block.num {
            error!(target: "bts_devnet::network", node = %self.name, expected = block.num, got = produced.block_num, "replica out of step");
        }
        if block.num.is_multiple_of(100) {
            info!(target: "bts_devnet::network", node = %self.name, block = block.num, "head");
        }
        let _ = self.events.send(NodeEvent::Block(Arc::new(produced)));
    }
}
