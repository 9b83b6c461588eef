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
//! A node may also live in another process: a follower ([`crate::follow`]) fills its own ledger
//! from an upstream node and relays its clients' broadcasts there ([`Relay::Upstream`]).

use crate::chain::{BlockProduced, Chain, ChainConfig, ConfigError};
use crate::faults::Faults;
use crate::follow::Upstream;
pub use crate::ledger::BlockRecord;
use crate::ledger::{AppendError, Ledger};
use bts_protocol::{SignedTransaction, TimePointSec, TransactionId};
use bts_rpc::{ErrorObject, FcException};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tracing::{debug, error, info};

/// The ordering side of a network: the canonical chain, the transactions waiting for the next
/// block, and the ledger of all blocks.
pub struct Network {
    name: String,
    config: ChainConfig,
    producer: Mutex<Producer>,
    ledger: Arc<Ledger>,
}

struct Producer {
    chain: Chain,
    pending: Vec<SignedTransaction>,
}

impl Network {
    /// A network at genesis, its blocks kept in memory; an invalid configuration is an error
    /// naming the bad setting. Call [`Network::produce_blocks`] to make it tick.
    pub fn new(name: &str, config: ChainConfig) -> Result<Arc<Network>, ConfigError> {
        Network::resume(name, config, Arc::new(Ledger::memory()))
    }

    /// A network that continues the blocks of `ledger` (read from a data dir): the canonical
    /// chain applies them again, so it reaches the state it had when it stopped.
    pub fn resume(name: &str, config: ChainConfig, ledger: Arc<Ledger>) -> Result<Arc<Network>, ConfigError> {
        let mut chain = Chain::new(config.clone())?;
        for record in ledger.range(1, usize::MAX) {
            apply_record(&mut chain, &record, name);
        }
        if ledger.head() > 0 {
            info!(target: "bts_devnet::network", network = %name, head = ledger.head(), "resumed the stored chain");
        }
        Ok(Arc::new(Network {
            name: name.to_owned(),
            producer: Mutex::new(Producer {
                chain,
                pending: Vec::new(),
            }),
            config,
            ledger,
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

    /// The blocks made so far.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Checks a transaction against the canonical chain and queues it for the next block, as a
    /// node does when it receives a transaction from a client and relays it to the producers.
    pub fn push(&self, tx: &SignedTransaction) -> Result<TransactionId, FcException> {
        let mut producer = self.producer.lock().expect("producer lock");
        let id = producer.chain.push_transaction(tx)?;
        producer.pending.push(tx.clone());
        Ok(id)
    }

    /// Makes the next block at `time` from the queued transactions and appends it to the ledger.
    /// An error means the block could not be stored (a full disk): the chain cannot go on.
    pub fn produce_block(&self, time: TimePointSec) -> Result<Arc<BlockRecord>, AppendError> {
        // The producer lock is held until the block is in the ledger, so blocks enter it in order.
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
        let record = self.ledger.append(BlockRecord {
            num: produced.block_num,
            time: produced.timestamp,
            transactions,
        })?;
        debug!(target: "bts_devnet::network", network = %self.name, block = record.num, txs = record.transactions.len(), "block produced");
        Ok(record)
    }

    /// The head block time of the canonical chain.
    pub fn head_time(&self) -> TimePointSec {
        self.producer.lock().expect("producer lock").chain.head_block_time()
    }

    /// Produces a block in every slot until `stop` turns true. Block times are whole slots
    /// (genesis time plus a multiple of the interval); the block of slot T is made when the wall
    /// clock reads T. A slot that passed while the producer could not run (stopped, restarted
    /// later) is missed, as on a real chain: the next block takes the current slot. A chain whose
    /// head is ahead of the wall clock (a genesis pinned in the future) waits for it.
    pub async fn produce_blocks(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(stopped);
        loop {
            let (slot, wait) = next_slot(&self.config, self.head_time(), wall_clock_millis());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut stopped => return,
            }
            if let Err(e) = self.produce_block(slot) {
                error!(target: "bts_devnet::network", network = %self.name, error = %e, "cannot store the next block; block production stopped");
                return;
            }
        }
    }
}

/// Milliseconds since 1970 by the system clock.
fn wall_clock_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The slot of the next block after `head` at wall time `now_ms`, and how long until it is due:
/// the first slot after the head that is not already over.
fn next_slot(config: &ChainConfig, head: TimePointSec, now_ms: u64) -> (TimePointSec, Duration) {
    let interval = u64::from(config.block_interval.max(1));
    let genesis = u64::from(config.genesis_time.secs());
    let after_head = u64::from(head.secs()) + interval;
    // The current slot, if the wall clock is past genesis: a slot still running is not over.
    let now = now_ms / 1000;
    let current = genesis + now.saturating_sub(genesis) / interval * interval;
    let slot = after_head.max(current);
    let wait = Duration::from_millis((slot * 1000).saturating_sub(now_ms));
    (TimePointSec(u32::try_from(slot).unwrap_or(u32::MAX)), wait)
}

/// Applies one block record to a chain: its transactions, then the block itself.
fn apply_record(chain: &mut Chain, block: &BlockRecord, who: &str) -> BlockProduced {
    for tx in &block.transactions {
        // The producer accepted this transaction against the same state; a replica that
        // disagrees has a determinism bug, which must be loud.
        if let Err(e) = chain.push_transaction(tx) {
            error!(target: "bts_devnet::network", node = %who, block = block.num, error = %e.text(), "replica rejected a block's transaction");
        }
    }
    let produced = chain.produce_block(block.time);
    if produced.block_num != block.num {
        error!(target: "bts_devnet::network", node = %who, expected = block.num, got = produced.block_num, "replica out of step");
    }
    produced
}

/// Where a node sends the transactions its clients broadcast.
pub enum Relay {
    /// To the producer in this process.
    Producer(Arc<Network>),
    /// To the upstream node this node follows (which relays them further up).
    Upstream(Arc<Upstream>),
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
    config: ChainConfig,
    ledger: Arc<Ledger>,
    relay: Relay,
    chain: Mutex<Chain>,
    faults: Faults,
    events: broadcast::Sender<NodeEvent>,
}

impl Node {
    /// A node of the producer's network at genesis; [`Node::follow`] makes it apply the
    /// network's blocks.
    pub fn new(name: &str, network: &Arc<Network>) -> Arc<Node> {
        // The network was built from the same configuration, so it is valid.
        Node::with_relay(
            name,
            network.config.clone(),
            network.ledger.clone(),
            Relay::Producer(network.clone()),
        )
        .expect("the network's configuration was validated")
    }

    /// A node at genesis that applies the blocks of `ledger` and relays broadcasts to `relay`.
    pub fn with_relay(
        name: &str,
        config: ChainConfig,
        ledger: Arc<Ledger>,
        relay: Relay,
    ) -> Result<Arc<Node>, ConfigError> {
        let (events, _) = broadcast::channel(256);
        let chain = Chain::new(config.clone())?;
        Ok(Arc::new(Node {
            name: name.to_owned(),
            config,
            ledger,
            relay,
            chain: Mutex::new(chain),
            faults: Faults::default(),
            events,
        }))
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The chain's genesis configuration.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The block records the node applies (and serves to followers).
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Whether this node follows another one (rather than running beside the producer).
    pub fn is_follower(&self) -> bool {
        matches!(self.relay, Relay::Upstream(_))
    }

    /// Relays a transaction a client broadcast: checked by the producer and queued for its next
    /// block. An error is the answer for the client: the producer's rejection, or why the
    /// upstream could not be reached.
    pub async fn relay(&self, tx: &SignedTransaction) -> Result<TransactionId, ErrorObject> {
        match &self.relay {
            Relay::Producer(network) => network.push(tx).map_err(FcException::into_execution_error),
            Relay::Upstream(upstream) => upstream.broadcast(tx).await,
        }
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

    /// Applies the network's blocks as they come, unless frozen (or `lag_blocks` behind), until
    /// `stop` turns true.
    pub async fn follow(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(stopped);
        loop {
            // Register interest before looking, so a block produced in between is not missed.
            let new_block = self.ledger.appended();
            let thawed = self.faults.thawed();
            if self.faults.frozen() {
                tokio::select! {
                    () = thawed => continue,
                    () = &mut stopped => return,
                }
            }
            let head = self.with_chain(Chain::head_block_num);
            // A lagging node applies a block only once the network is that many blocks further.
            let lag = self.faults.lag_blocks();
            let next = self
                .ledger
                .get(head + 1)
                .filter(|_| self.ledger.get(head + 1 + lag).is_some());
            match next {
                Some(block) => self.apply(&block),
                None => tokio::select! {
                    () = new_block => {}
                    () = thawed => {}
                    () = &mut stopped => return,
                },
            }
        }
    }

    /// Applies every block of the ledger so far, at once.
    pub fn catch_up(&self) {
        while let Some(block) = self.ledger.get(self.with_chain(Chain::head_block_num) + 1) {
            self.apply(&block);
        }
    }

    /// Applies one block: its transactions, then the block itself.
    fn apply(&self, block: &BlockRecord) {
        let produced = apply_record(&mut self.chain.lock().expect("chain lock"), block, &self.name);
        if block.num.is_multiple_of(100) {
            info!(target: "bts_devnet::network", node = %self.name, block = block.num, "head");
        }
        let _ = self.events.send(NodeEvent::Block(Arc::new(produced)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(genesis: u32, interval: u32) -> ChainConfig {
        let mut c = ChainConfig::devnet(bts_protocol::Prefix::TEST);
        c.genesis_time = TimePointSec(genesis);
        c.block_interval = interval;
        c
    }

    #[test]
    fn the_next_block_takes_the_next_slot_that_is_not_over() {
        let c = config(1_000, 3);
        // On time: the slot after the head, due when the wall clock reaches it.
        assert_eq!(
            next_slot(&c, TimePointSec(1_009), 1_010_500),
            (TimePointSec(1_012), Duration::from_millis(1_500))
        );
        // Late (the producer was stopped, or restarted): the current slot, at once.
        assert_eq!(
            next_slot(&c, TimePointSec(1_009), 1_100_200),
            (TimePointSec(1_099), Duration::ZERO)
        );
        // The head is ahead of the wall clock (a genesis pinned in the future): wait for it.
        assert_eq!(
            next_slot(&c, TimePointSec(2_000), 1_000_000),
            (TimePointSec(2_003), Duration::from_secs(1_003))
        );
        // Slots count from genesis, whatever the interval divides.
        let c = config(1_001, 5);
        assert_eq!(next_slot(&c, TimePointSec(1_001), 1_020_000).0, TimePointSec(1_016));
    }
}
