//! Producing a block: the pending state is undone and its transactions applied again with the
//! new block's number and time, then the node's per-block bookkeeping runs
//! (`update_global_dynamic_data`, the signing witness, the last irreversible block,
//! maintenance when due, block summary, expired transaction ids) and the history is recorded.

use super::block::Block;
use super::evaluate::{Env, burn, process_fees};
use super::globals::MAINTENANCE_FLAG;
use super::objects::{kind, oid};
use super::proposals;
use super::transaction::{apply_transaction, finish_error, processed_json};
use super::{Chain, Pending};
use bts_protocol::{AssetId, BlockId, ObjectId, TimePointSec, TransactionId, WitnessId};
use bts_rpc::FcException;
use serde_json::Value;

/// `_generate_block`'s allowance for the header: a packed `signed_block_header` (111 bytes
/// with a one-byte witness id) plus 3 bytes for the transaction count.
const MAX_BLOCK_HEADER_SIZE: usize = 114;

/// The packed size of a transaction as a block stores it (a `processed_transaction`): the signed
/// transaction and, for each operation, at most 9 bytes of result.
fn processed_size(tx: &bts_protocol::SignedTransaction) -> usize {
    tx.to_bytes().len() + 1 + 9 * tx.transaction.operations.len()
}

/// A transaction included in a block: what `broadcast_transaction_synchronous` answers and
/// `broadcast_transaction_with_callback` notices.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    /// The transaction id.
    pub id: TransactionId,
    /// The block it is in.
    pub block_num: u32,
    /// Its position in the block.
    pub trx_num: u32,
    /// The processed transaction: the signed transaction plus `operation_results`.
    pub trx: Value,
}

/// What [`Chain::produce_block`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockProduced {
    /// The new head block's number.
    pub block_num: u32,
    /// The new head block's id.
    pub block_id: BlockId,
    /// The new head block's time (the requested time on its slot boundary).
    pub timestamp: TimePointSec,
    /// The transactions it contains, in order.
    pub confirmations: Vec<Confirmation>,
    /// Pending transactions that no longer applied and were dropped, with the reason. The node
    /// drops such transactions silently; this cannot happen with one producer unless the
    /// state changed in between, but a server should fail their waiters.
    pub dropped: Vec<(TransactionId, FcException)>,
    /// Objects created or modified since the previous block (including by pending
    /// transactions), e.g. accounts, balances, statistics, 2.1.0: what object subscriptions
    /// are told about.
    pub changed: Vec<ObjectId>,
}

impl Chain {
    /// The node's `get_slot_time(n)`: when the `n`th slot after the head is (slot 1 is the next
    /// block's; after a maintenance block `maintenance_skip_slots` slots are skipped).
    pub fn slot_time(&self, slot: u32) -> TimePointSec {
        if slot == 0 {
            return TimePointSec(0);
        }
        let interval = self.config.block_interval;
        let dgp = &self.state.globals().dgp;
        if dgp.head_block_number == 0 {
            return dgp.time.saturating_add(slot.saturating_mul(interval));
        }
        let head_slot_time = dgp.time.secs() / interval * interval;
        let skip = if dgp.dynamic_flags & MAINTENANCE_FLAG != 0 {
            u32::from(self.params.chain.maintenance_skip_slots)
        } else {
            0
        };
        TimePointSec(head_slot_time).saturating_add(slot.saturating_add(skip).saturating_mul(interval))
    }

    /// The node's `get_slot_at_time`: which slot after the head `time` falls in (0 if before
    /// the next slot).
    pub fn slot_at_time(&self, time: TimePointSec) -> u32 {
        let first = self.slot_time(1);
        if time < first {
            0
        } else {
            (time.secs() - first.secs()) / self.config.block_interval + 1
        }
    }

    /// The witness scheduled for a slot after the head (round robin over the active witnesses).
    fn scheduled_witness(&self, slot: u32) -> WitnessId {
        let active = &self.state.witnesses[1..];
        let aslot = self.state.globals().dgp.current_aslot + u64::from(slot);
        active[(aslot % active.len() as u64) as usize].id
    }

    /// Produces the next block with the pending transactions, at `time` rounded down to its
    /// slot ([`Chain::slot_time`]; the node's blocks always sit on slot boundaries). A `time`
    /// not after the head's is moved one block interval after it; a `time` before the next
    /// slot is used as it is. Transactions that would make the block larger than
    /// `maximum_block_size` stay pending for the next block, as on the node.
    pub fn produce_block(&mut self, time: TimePointSec) -> BlockProduced {
        let head_time = self.head_block_time();
        let requested = if time > head_time {
            time
        } else {
            head_time.saturating_add(self.config.block_interval)
        };
        let slot = self.slot_at_time(requested);
        let time = if slot >= 1 { self.slot_time(slot) } else { requested };
        let slot = slot.max(1);
        let head = self.head_block_num();
        let witness = self.scheduled_witness(slot);
        let maintenance_due = self.state.globals().dgp.next_maintenance_time <= time;

        // Undo the pending state and apply its transactions again, in the block.
        self.state.rollback(0);
        let env = Env {
            params: &self.params,
            proposal_depth: 0,
            prefix: self.config.prefix,
            now: head_time,
            block_num: head + 1,
            block_time: time,
        };
        let (mut included, mut postponed, mut dropped) = (Vec::new(), Vec::new(), Vec::new());
        let mut block_size = MAX_BLOCK_HEADER_SIZE;
        for pending in std::mem::take(&mut self.pending) {
            let Pending { tx, signers } = &pending;
            let size = block_size + processed_size(tx);
            if size > self.params.chain.maximum_block_size as usize {
                postponed.push(pending);
                continue;
            }
            let save = self.state.savepoint();
            match apply_transaction(&mut self.state, &self.log, &env, head, tx, signers) {
                Ok(results) => {
                    block_size = size;
                    included.push((pending.tx, results));
                }
                Err(e) => {
                    self.state.rollback(save);
                    dropped.push((tx.id(), finish_error(e, tx, &env)));
                }
            }
        }

        let txs = included.iter().map(|(tx, _)| tx.clone()).collect();
        let block = Block::build(self.head_block_id(), time, witness, &self.witness_key, txs);
        let (block_num, block_id) = (block.num, block.id);
        self.update_witnesses(slot, witness, block_num);
        self.update_dynamic_properties(&block, slot - 1);

        if maintenance_due {
            self.perform_maintenance(block_num, time);
        }
        // Proposals due by the new block's time execute (if approved) or go, after maintenance
        // as in the node's `_apply_block`.
        let env = Env {
            params: &self.params,
            proposal_depth: 0,
            prefix: self.config.prefix,
            now: time,
            block_num,
            block_time: time,
        };
        proposals::clear_expired(&mut self.state, &env);
        self.state.modify_globals(|g| {
            if maintenance_due {
                g.dgp.dynamic_flags |= MAINTENANCE_FLAG;
            } else {
                g.dgp.dynamic_flags &= !MAINTENANCE_FLAG;
            }
        });
        self.log.push(block);
        self.state.clear_expired_txs(time);

        let mut confirmations = Vec::with_capacity(included.len());
        for (i, (tx, results)) in included.iter().enumerate() {
            let trx_in_block = u16::try_from(i).unwrap_or(u16::MAX);
            let ops = &tx.transaction.operations;
            self.history
                .record(&mut self.state, (block_num, time), trx_in_block, ops, results);
            confirmations.push(Confirmation {
                id: tx.id(),
                block_num,
                trx_num: i as u32,
                trx: processed_json(tx, results),
            });
        }
        self.state.commit();
        dropped.extend(self.repush(postponed));
        BlockProduced {
            block_num,
            block_id,
            timestamp: time,
            confirmations,
            dropped,
            changed: self.state.take_changed().into_iter().collect(),
        }
    }

    /// Pushes postponed transactions again on top of the new head; returns those that no
    /// longer apply.
    fn repush(&mut self, postponed: Vec<Pending>) -> Vec<(TransactionId, FcException)> {
        let env = Env::pending(
            &self.params,
            self.config.prefix,
            self.head_block_num(),
            self.head_block_time(),
        );
        let mut dropped = Vec::new();
        for pending in postponed {
            let save = self.state.savepoint();
            match apply_transaction(
                &mut self.state,
                &self.log,
                &env,
                env.block_num,
                &pending.tx,
                &pending.signers,
            ) {
                Ok(_) => self.pending.push(pending),
                Err(e) => {
                    self.state.rollback(save);
                    dropped.push((pending.tx.id(), finish_error(e, &pending.tx, &env)));
                }
            }
        }
        dropped
    }

    /// `update_witness_missed_blocks` and `update_signing_witness`.
    fn update_witnesses(&mut self, slot: u32, producer: WitnessId, block_num: u32) {
        let missed = slot - 1;
        if (missed as usize) < self.state.witnesses.len() - 1 {
            for i in 0..missed {
                let w = self.scheduled_witness(i + 1);
                if w != producer {
                    self.modify_witness(w, |w| w.total_missed += 1);
                }
            }
        }
        let aslot = self.state.globals().dgp.current_aslot + u64::from(slot);
        self.modify_witness(producer, |w| {
            w.last_aslot = aslot;
            w.last_confirmed_block_num = block_num;
        });
    }

    fn modify_witness(&mut self, id: WitnessId, f: impl FnOnce(&mut super::objects::Witness)) {
        if let Some(w) = self.state.witnesses.get_mut(id.instance() as usize) {
            f(w);
            self.state.mark_changed(id.into());
        }
    }

    /// `update_global_dynamic_data` and the last irreversible block.
    fn update_dynamic_properties(&mut self, block: &Block, missed: u32) {
        let lag = self.config.irreversible_lag;
        self.state.modify_globals(|g| {
            let d = &mut g.dgp;
            // GRAPHENE_RECENTLY_MISSED_COUNT_INCREMENT / _DECREMENT
            d.recently_missed_count = if block.num == 1 {
                0
            } else if missed > 0 {
                d.recently_missed_count.saturating_add(missed.saturating_mul(4))
            } else if d.recently_missed_count > 4 {
                d.recently_missed_count - 3
            } else {
                d.recently_missed_count.saturating_sub(1)
            };
            d.head_block_number = block.num;
            d.head_block_id = block.id;
            d.time = block.timestamp;
            d.current_witness = block.witness;
            let filled = (d.recent_slots_filled << 1) | 1;
            d.recent_slots_filled = filled.checked_shl(missed).unwrap_or(0);
            d.current_aslot += u64::from(missed) + 1;
            d.last_irreversible_block_num = block.num.saturating_sub(lag);
        });
    }

    /// `perform_chain_maintenance`, the parts the devnet has: the account_create fee scaling
    /// and registration count reset, pending fees processed, core balances counted into the
    /// statistics, and the next maintenance time.
    fn perform_maintenance(&mut self, block_num: u32, time: TimePointSec) {
        let p = &self.params.chain;
        let (per_scale, shifts, interval) = (
            u32::from(p.accounts_per_fee_scale.max(1)),
            u32::from(p.account_fee_scale_bitshifts),
            p.maintenance_interval.max(1),
        );
        self.state.modify_globals(|g| {
            let steps = g.dgp.accounts_registered_this_interval / per_scale;
            g.basic_fee = g.basic_fee.checked_shr(shifts.saturating_mul(steps)).unwrap_or(0);
            g.dgp.accounts_registered_this_interval = 0;
            let next = g.dgp.next_maintenance_time.secs();
            g.dgp.next_maintenance_time = if block_num == 1 {
                TimePointSec((time.secs() / interval + 1).saturating_mul(interval))
            } else {
                let behind = time.secs().saturating_sub(next) / interval;
                TimePointSec(next.saturating_add((behind + 1).saturating_mul(interval)))
            };
            g.dgp.last_vote_tally_time = time;
            g.dgp.last_budget_time = time;
        });
        let ids: Vec<_> = self.state.accounts().iter().map(|a| a.id).collect();
        let mut burned = 0;
        for id in ids {
            burned += process_fees(&mut self.state, id);
            let core = self.state.balance(id, AssetId::CORE);
            if self.state.stats(id).is_some_and(|s| s.core_in_balance != core) {
                self.state.modify_stats(id, |s| s.core_in_balance = core);
            }
        }
        burn(&mut self.state, burned);
        self.state.clear_maintenance_flags();
        self.state.mark_changed(oid(kind::GLOBAL_PROPERTIES, 0));
    }
}
