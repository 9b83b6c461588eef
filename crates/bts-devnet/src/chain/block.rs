//! Blocks as the node builds them, and the block log: every block summary of the last 65536
//! blocks for TaPoS (`block_summary_object` 2.8.N), and whole blocks up to a cap.
//!
//! * header = `previous || timestamp || witness || transaction_merkle_root || extensions`
//!   (fc raw), signed by the witness over `sha256(header)`;
//! * id = the first 20 bytes of `sha224(header || witness_signature)` with the block number
//!   written big-endian over the first 4 (`signed_block_header::id`);
//! * merkle root = `ripemd160` of the pairwise `sha256` tree over each transaction's
//!   `sha256(pack(processed_transaction))` (`signed_block::calculate_merkle_root`).

use super::json::{hex, to_value};
use bts_protocol::raw::{self, Pack};
use bts_protocol::{BlockId, Digest, Extensions, PrivateKey, Signature, SignedTransaction, TimePointSec, WitnessId};
use ripemd::Ripemd160;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha224, Sha256};
use std::collections::VecDeque;

/// A produced block.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) num: u32,
    pub(crate) id: BlockId,
    pub(crate) previous: BlockId,
    pub(crate) timestamp: TimePointSec,
    pub(crate) witness: WitnessId,
    pub(crate) merkle_root: [u8; 20],
    pub(crate) signature: Signature,
    pub(crate) transactions: Vec<SignedTransaction>,
}

/// `sha256(pack(processed_transaction))` with empty `operation_results`, as blocks store them.
fn merkle_digest(tx: &SignedTransaction) -> [u8; 32] {
    let mut bytes = raw::to_bytes(tx);
    raw::write_varint(&mut bytes, 0);
    Sha256::digest(&bytes).into()
}

/// `signed_block::calculate_merkle_root`; all zeros for an empty block.
pub(crate) fn merkle_root(transactions: &[SignedTransaction]) -> [u8; 20] {
    let mut ids: Vec<[u8; 32]> = transactions.iter().map(merkle_digest).collect();
    if ids.is_empty() {
        return [0; 20];
    }
    while ids.len() > 1 {
        ids = ids
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => {
                    let mut h = Sha256::new();
                    h.update(a);
                    h.update(b);
                    h.finalize().into()
                }
                [a] => *a,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    Ripemd160::digest(ids[0]).into()
}

fn header_bytes(previous: &BlockId, timestamp: TimePointSec, witness: WitnessId, merkle_root: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    previous.pack(&mut out);
    timestamp.pack(&mut out);
    witness.pack(&mut out);
    out.extend_from_slice(merkle_root);
    Extensions.pack(&mut out);
    out
}

impl Block {
    /// Builds and signs the block after `previous`.
    pub(crate) fn build(
        previous: BlockId,
        timestamp: TimePointSec,
        witness: WitnessId,
        key: &PrivateKey,
        transactions: Vec<SignedTransaction>,
    ) -> Block {
        Block::assemble(previous, timestamp, witness, transactions, |digest| {
            key.sign_digest(digest)
        })
    }

    /// Builds the block after `previous`, signing its header digest with `sign`.
    fn assemble(
        previous: BlockId,
        timestamp: TimePointSec,
        witness: WitnessId,
        transactions: Vec<SignedTransaction>,
        sign: impl FnOnce(&Digest) -> Signature,
    ) -> Block {
        let num = previous.block_num().wrapping_add(1);
        let merkle_root = merkle_root(&transactions);
        let header = header_bytes(&previous, timestamp, witness, &merkle_root);
        let signature = sign(&Digest::sha256(&header));
        let mut signed = header;
        signature.pack(&mut signed);
        let hash = Sha224::digest(&signed);
        let mut id = [0u8; 20];
        id.copy_from_slice(&hash[..20]);
        id[..4].copy_from_slice(&num.to_be_bytes());
        Block {
            num,
            id: BlockId(id),
            previous,
            timestamp,
            witness,
            merkle_root,
            signature,
            transactions,
        }
    }

    /// `get_block_header`'s answer.
    pub(crate) fn header_json(&self) -> Value {
        json!({
            "previous": self.previous,
            "timestamp": self.timestamp,
            "witness": self.witness,
            "transaction_merkle_root": hex(&self.merkle_root),
            "extensions": [],
        })
    }

    /// `get_block`'s answer. Stored transactions carry empty `operation_results`, as the
    /// recorded node's blocks do.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = self.header_json();
        v["witness_signature"] = Value::String(self.signature.to_string());
        let txs = self
            .transactions
            .iter()
            .map(|tx| {
                let mut t = to_value(tx);
                t["operation_results"] = json!([]);
                t
            })
            .collect();
        v["transactions"] = Value::Array(txs);
        v
    }
}

/// Block summaries for TaPoS and the most recent whole blocks.
#[derive(Debug, Clone)]
pub(crate) struct BlockLog {
    /// `block_summary_object`s: the id of the last block whose number ≡ i (mod 65536); all
    /// zeros where no block has been yet, as on the node.
    summaries: Vec<BlockId>,
    blocks: VecDeque<Block>,
    cap: usize,
}

impl BlockLog {
    pub(crate) fn new(cap: usize) -> BlockLog {
        BlockLog {
            summaries: vec![BlockId::default(); 0x10000],
            blocks: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// The TaPoS check's `tapos_block_summary.block_id._hash[1]` for a `ref_block_num`.
    pub(crate) fn ref_block_prefix(&self, ref_block_num: u16) -> u32 {
        self.summaries[usize::from(ref_block_num)].ref_block_prefix()
    }

    pub(crate) fn push(&mut self, block: Block) {
        self.summaries[(block.num & 0xffff) as usize] = block.id;
        if self.blocks.len() == self.cap {
            self.blocks.pop_front();
        }
        self.blocks.push_back(block);
    }

    /// A kept block by number.
    pub(crate) fn get(&self, num: u32) -> Option<&Block> {
        let first = self.blocks.front()?.num;
        let i = usize::try_from(num.checked_sub(first)?).ok()?;
        self.blocks.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_block_number() {
        let key = PrivateKey::from_seed("w").unwrap();
        let b1 = Block::build(
            BlockId::default(),
            TimePointSec(100),
            WitnessId::new(1).unwrap(),
            &key,
            vec![],
        );
        assert_eq!(b1.num, 1);
        assert_eq!(b1.id.block_num(), 1);
        let b2 = Block::build(b1.id, TimePointSec(103), WitnessId::new(1).unwrap(), &key, vec![]);
        assert_eq!(b2.id.block_num(), 2);
        assert_ne!(b1.id, b2.id);
        assert_eq!(
            b1.header_json()["transaction_merkle_root"],
            "0000000000000000000000000000000000000000"
        );
        let mut log = BlockLog::new(1);
        log.push(b1.clone());
        log.push(b2.clone());
        assert!(log.get(1).is_none());
        assert_eq!(log.get(2).unwrap().id, b2.id);
        assert_eq!(log.ref_block_prefix(1), b1.id.ref_block_prefix());
    }

    #[test]
    fn recorded_block_62_has_our_merkle_root_and_id() {
        let node: Value = serde_json::from_str(include_str!("../../tests/data/witness_node_7.0.2.json")).unwrap();
        let b = &node["get_block"];
        let txs: Vec<SignedTransaction> = serde_json::from_value(b["transactions"].clone()).unwrap();
        let signature: Signature = serde_json::from_value(b["witness_signature"].clone()).unwrap();
        let block = Block::assemble(
            serde_json::from_value(b["previous"].clone()).unwrap(),
            serde_json::from_value(b["timestamp"].clone()).unwrap(),
            serde_json::from_value(b["witness"].clone()).unwrap(),
            txs,
            |_| signature,
        );
        assert_eq!(block.to_json(), *b);
        // The next transfer referred to block 62 with this prefix (TaPoS from the real id).
        assert_eq!(block.num, 62);
        assert_eq!(block.id.ref_block_prefix(), 3_782_753_505);
    }
}
