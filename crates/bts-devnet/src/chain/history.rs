//! Operation history as the node's account_history plugin keeps it: one
//! `operation_history_object` (1.11.N) per applied operation and one
//! `account_transaction_history_object` (2.9.N) per account it impacts, linked newest first
//! through `next`, with the account statistics' `most_recent_op` and `total_ops` kept in step.

use super::evaluate::OpResult;
use super::json::{to_value, uint};
use super::objects::{kind, oid};
use super::state::State;
use bts_protocol::{AccountId, Operation, TimePointSec};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// An applied operation (1.11.N).
#[derive(Debug, Clone)]
pub(crate) struct OpHistory {
    pub(crate) op: Operation,
    pub(crate) result: OpResult,
    pub(crate) block_num: u32,
    pub(crate) trx_in_block: u16,
    pub(crate) op_in_trx: u16,
    pub(crate) block_time: TimePointSec,
}

/// One account's link to an operation (2.9.N).
#[derive(Debug, Clone)]
pub(crate) struct AccountEntry {
    pub(crate) account: AccountId,
    pub(crate) operation: u64,
    pub(crate) sequence: u64,
    pub(crate) next: u64,
}

/// All history, in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    ops: Vec<OpHistory>,
    entries: Vec<AccountEntry>,
    /// Each account's operation instances, oldest first (sequence = index + 1).
    by_account: BTreeMap<AccountId, Vec<u64>>,
}

/// The accounts an operation appears in the history of: the fee payer, and the receiver of a
/// transfer, the new account of an account_create, the accounts named in an account_update's
/// new authorities, the accounts a proposal's operations need (the plugin's impacted accounts).
fn impacted(op: &Operation, result: OpResult) -> BTreeSet<AccountId> {
    let mut out = BTreeSet::from([op.fee_payer()]);
    match (op, result) {
        (Operation::AccountUpdate(u), _) => {
            let named = u.owner.iter().chain(&u.active).flat_map(|a| a.account_auths.iter());
            out.extend(named.map(|(id, _)| *id));
        }
        (Operation::ProposalCreate(p), _) => {
            for w in &p.proposed_ops {
                let r = w.op.required_authorities();
                out.insert(w.op.fee_payer());
                out.extend(r.active.iter().chain(&r.owner));
                let other = r.other.iter().flat_map(|a| a.account_auths.iter());
                out.extend(other.map(|(id, _)| *id));
            }
        }
        (Operation::Transfer(t), _) => {
            out.insert(t.to);
        }
        (Operation::AccountCreate(_), OpResult::Object(id)) => {
            if let Ok(id) = AccountId::try_from(id) {
                out.insert(id);
            }
        }
        _ => {}
    }
    out
}

impl History {
    /// Records the operations of one applied transaction.
    pub(crate) fn record(
        &mut self,
        state: &mut State,
        block: (u32, TimePointSec),
        trx_in_block: u16,
        ops: &[Operation],
        results: &[OpResult],
    ) {
        for (op_in_trx, (op, result)) in ops.iter().zip(results).enumerate() {
            let op_id = self.ops.len() as u64;
            self.ops.push(OpHistory {
                op: op.clone(),
                result: *result,
                block_num: block.0,
                trx_in_block,
                op_in_trx: u16::try_from(op_in_trx).unwrap_or(u16::MAX),
                block_time: block.1,
            });
            state.mark_changed(oid(kind::OPERATION_HISTORY, op_id));
            for account in impacted(op, *result) {
                let Some(stats) = state.stats(account).copied() else {
                    continue;
                };
                let entry_id = self.entries.len() as u64;
                self.entries.push(AccountEntry {
                    account,
                    operation: op_id,
                    sequence: stats.total_ops + 1,
                    next: stats.most_recent_op,
                });
                self.by_account.entry(account).or_default().push(op_id);
                state.mark_changed(oid(kind::ACCOUNT_HISTORY, entry_id));
                state.modify_stats(account, |s| {
                    s.most_recent_op = entry_id;
                    s.total_ops += 1;
                });
            }
        }
    }

    /// 1.11.N as JSON.
    pub(crate) fn op_json(&self, instance: u64) -> Option<Value> {
        let h = self.ops.get(usize::try_from(instance).ok()?)?;
        Some(json!({
            "id": oid(kind::OPERATION_HISTORY, instance),
            "op": to_value(&h.op),
            "result": h.result.to_json(),
            "block_num": h.block_num,
            "trx_in_block": h.trx_in_block,
            "op_in_trx": h.op_in_trx,
            "virtual_op": h.op_in_trx,
            "is_virtual": false,
            "block_time": h.block_time,
        }))
    }

    /// 2.9.N as JSON.
    pub(crate) fn entry_json(&self, instance: u64) -> Option<Value> {
        let e = self.entries.get(usize::try_from(instance).ok()?)?;
        Some(json!({
            "id": oid(kind::ACCOUNT_HISTORY, instance),
            "account": e.account,
            "operation_id": oid(kind::OPERATION_HISTORY, e.operation),
            "sequence": uint(e.sequence),
            "next": oid(kind::ACCOUNT_HISTORY, e.next),
        }))
    }

    /// An account's operation instances, oldest first.
    fn ops_of(&self, account: AccountId) -> &[u64] {
        self.by_account.get(&account).map_or(&[], Vec::as_slice)
    }

    /// `get_account_history`: the account's operations with `stop < id <= start` (any id up to
    /// `start` when `stop` is 0; `start` 0 means the newest), newest first, at most `limit`.
    pub(crate) fn account_history(&self, account: AccountId, stop: u64, limit: usize, start: u64) -> Vec<Value> {
        self.select(account, stop, limit, start, |_| true)
    }

    /// `get_account_history_operations`: as [`History::account_history`] for one operation type.
    pub(crate) fn account_history_operations(
        &self,
        account: AccountId,
        op_type: i64,
        start: u64,
        stop: u64,
        limit: usize,
    ) -> Vec<Value> {
        self.select(account, stop, limit, start, |op| i64::try_from(op.tag()) == Ok(op_type))
    }

    fn select(
        &self,
        account: AccountId,
        stop: u64,
        limit: usize,
        start: u64,
        keep: impl Fn(&Operation) -> bool,
    ) -> Vec<Value> {
        let ops = self.ops_of(account);
        let newest = ops.last().copied().unwrap_or(0);
        let start = if start == 0 || start > newest { newest } else { start };
        ops.iter()
            .rev()
            .filter(|id| **id <= start && (**id > stop || stop == 0))
            .filter(|id| self.ops.get(**id as usize).is_some_and(|h| keep(&h.op)))
            .take(limit)
            .filter_map(|id| self.op_json(*id))
            .collect()
    }

    /// `get_relative_account_history`: by the account's own sequence numbers (1 = its first
    /// operation), from `start` (0 = newest) down to `stop`, newest first, at most `limit`.
    pub(crate) fn relative_account_history(
        &self,
        account: AccountId,
        stop: u64,
        limit: usize,
        start: u64,
    ) -> Vec<Value> {
        let ops = self.ops_of(account);
        let total = ops.len() as u64;
        let start = if start == 0 { total } else { start.min(total) };
        if start < stop || start == 0 || limit == 0 {
            return Vec::new();
        }
        let low = stop.max(1);
        (low..=start)
            .rev()
            .take(limit)
            .filter_map(|seq| ops.get((seq - 1) as usize))
            .filter_map(|id| self.op_json(*id))
            .collect()
    }
}
