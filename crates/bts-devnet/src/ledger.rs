//! A node's block records: every block of its chain as the producer ordered it, in memory and,
//! with a data dir, in a crash-safe file (`store.rs`).
//!
//! The producer appends the blocks it makes; a follower appends the blocks it fetches from its
//! upstream. Each [`crate::network::Node`] applies the records of its ledger in order to its
//! replica of the chain, and the devnet API serves them to followers further down the line. The
//! chain is deterministic, so a record (number, time, transactions) is all a replica needs.

use crate::store::{BlockFile, StoreError};
use bts_protocol::raw::{self, Pack, Reader, Unpack};
use bts_protocol::{Prefix, SignedTransaction, TimePointSec};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// A block as the network ordered it: enough for any replica to apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    /// Block number.
    pub num: u32,
    /// Timestamp.
    pub time: TimePointSec,
    /// The transactions, in order.
    pub transactions: Vec<SignedTransaction>,
}

impl BlockRecord {
    /// The record's bytes: number and time (fc raw, little-endian), then the transactions as fc
    /// raw `vector<signed_transaction>`. The block file stores them; the devnet API serves them
    /// as hex.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.num.pack(&mut out);
        self.time.pack(&mut out);
        self.transactions.pack(&mut out);
        out
    }

    /// Reads [`BlockRecord::to_bytes`]'s encoding, for a chain whose keys are written with
    /// `prefix` (bytes carry none); the error says what did not decode.
    pub fn from_bytes(bytes: &[u8], prefix: Prefix) -> Result<BlockRecord, raw::RawError> {
        let mut r = Reader::new(bytes);
        let num = u32::unpack(&mut r)?;
        let time = TimePointSec::unpack(&mut r)?;
        let transactions = Vec::<SignedTransaction>::unpack(&mut r)?
            .into_iter()
            .map(|tx| tx.with_key_prefix(prefix))
            .collect();
        match r.remaining() {
            0 => Ok(BlockRecord {
                num,
                time,
                transactions,
            }),
            n => Err(raw::RawError::TrailingBytes(n)),
        }
    }
}

/// Why a record could not be appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The record does not continue the ledger (a bug in the caller, or an upstream that
    /// changed its chain).
    #[error("block {got} does not follow the ledger's head {head}")]
    OutOfOrder {
        /// The ledger's head.
        head: u32,
        /// The record's number.
        got: u32,
    },
    /// The block file could not be written; the ledger is unchanged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The block records of one chain, in order from block 1.
pub struct Ledger {
    records: RwLock<Vec<Arc<BlockRecord>>>,
    new_block: Notify,
    file: Option<Mutex<BlockFile>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("head", &self.head())
            .field("persistent", &self.persistent())
            .finish()
    }
}

impl Ledger {
    /// An empty ledger in memory only.
    pub fn memory() -> Ledger {
        Ledger::with(Vec::new(), None)
    }

    /// A ledger with the records read from `file`, appending to it.
    pub(crate) fn with(records: Vec<BlockRecord>, file: Option<BlockFile>) -> Ledger {
        Ledger {
            records: RwLock::new(records.into_iter().map(Arc::new).collect()),
            new_block: Notify::new(),
            file: file.map(Mutex::new),
        }
    }

    /// Whether records are written to a data dir.
    pub fn persistent(&self) -> bool {
        self.file.is_some()
    }

    /// The number of the last record (0 when empty).
    pub fn head(&self) -> u32 {
        u32::try_from(self.records.read().expect("ledger lock").len()).unwrap_or(u32::MAX)
    }

    /// Record `num`, if the ledger has it.
    pub fn get(&self, num: u32) -> Option<Arc<BlockRecord>> {
        let index = (num as usize).checked_sub(1)?;
        self.records.read().expect("ledger lock").get(index).cloned()
    }

    /// Up to `limit` records from `first` on.
    pub fn range(&self, first: u32, limit: usize) -> Vec<Arc<BlockRecord>> {
        let records = self.records.read().expect("ledger lock");
        let start = (first.max(1) as usize - 1).min(records.len());
        records[start..].iter().take(limit).cloned().collect()
    }

    /// A future that completes at the next append; create it before looking at the head, so an
    /// append in between is not missed.
    pub fn appended(&self) -> Notified<'_> {
        self.new_block.notified()
    }

    /// Appends the record after the head: written (and flushed to the disk) first, when the
    /// ledger has a file, then visible to readers.
    pub fn append(&self, record: BlockRecord) -> Result<Arc<BlockRecord>, AppendError> {
        // One appender at a time: the file lock (or, in memory, the records' lock) orders them.
        let file = self.file.as_ref().map(|f| f.lock().expect("block file lock"));
        let head = self.head();
        if record.num != head + 1 {
            return Err(AppendError::OutOfOrder { head, got: record.num });
        }
        if let Some(mut file) = file {
            file.append(&record.to_bytes())?;
        }
        let record = Arc::new(record);
        self.records.write().expect("ledger lock").push(record.clone());
        self.new_block.notify_waiters();
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_trailing_bytes() {
        let record = BlockRecord {
            num: 7,
            time: TimePointSec(1_700_000_000),
            transactions: Vec::new(),
        };
        let bytes = record.to_bytes();
        assert_eq!(hex::encode(&bytes), "0700000000f1536500");
        assert_eq!(BlockRecord::from_bytes(&bytes, Prefix::BTS).unwrap(), record);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(BlockRecord::from_bytes(&longer, Prefix::BTS).is_err());
        assert!(BlockRecord::from_bytes(&bytes[..5], Prefix::BTS).is_err());
    }

    #[test]
    fn keys_read_back_with_the_chains_prefix() {
        use bts_protocol::{AccountCreate, AccountId, Asset, Authority, BlockId, Operation, PrivateKey, Transaction};
        let key = PrivateKey::from_seed("k").unwrap().public_key(Prefix::TEST);
        let op: Operation = AccountCreate {
            fee: Asset::core(1),
            registrar: AccountId::new(7).unwrap(),
            referrer: AccountId::new(7).unwrap(),
            referrer_percent: 7000,
            name: "alice".into(),
            owner: Authority::single_key(key),
            active: Authority::single_key(key),
            options: bts_protocol::AccountOptions::no_votes(key),
            extensions: Default::default(),
        }
        .into();
        let tx = Transaction::new(&BlockId::default(), TimePointSec(9), vec![op])
            .sign(&bts_protocol::ChainId::TESTNET, &[&PrivateKey::from_seed("r").unwrap()]);
        let record = BlockRecord {
            num: 1,
            time: TimePointSec(3),
            transactions: vec![tx],
        };
        let back = BlockRecord::from_bytes(&record.to_bytes(), Prefix::TEST).unwrap();
        assert_eq!(back.transactions[0].transaction.check_prefix(Prefix::TEST), Ok(()));
        assert_eq!(back.transactions[0].id(), record.transactions[0].id());
        let bts = BlockRecord::from_bytes(&record.to_bytes(), Prefix::BTS).unwrap();
        assert!(bts.transactions[0].transaction.check_prefix(Prefix::TEST).is_err());
    }

    #[test]
    fn appends_in_order_only() {
        let ledger = Ledger::memory();
        let record = |num| BlockRecord {
            num,
            time: TimePointSec(num),
            transactions: Vec::new(),
        };
        ledger.append(record(1)).unwrap();
        assert!(matches!(
            ledger.append(record(3)),
            Err(AppendError::OutOfOrder { head: 1, got: 3 })
        ));
        ledger.append(record(2)).unwrap();
        assert_eq!(ledger.head(), 2);
        assert_eq!(ledger.get(2).unwrap().num, 2);
        assert!(ledger.get(0).is_none() && ledger.get(3).is_none());
        assert_eq!(ledger.range(2, 10).len(), 1);
        assert_eq!(ledger.range(0, 1)[0].num, 1);
        assert!(ledger.range(9, 10).is_empty());
    }
}
