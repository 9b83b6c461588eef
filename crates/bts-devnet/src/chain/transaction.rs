//! Applying a signed transaction to the state, as `database::_apply_transaction` does after the
//! stateless checks: duplicate check, authorities, TaPoS, expiration window and size (skipped
//! while the head is block 0, like the node), then each operation in order.

use super::authority::verify_authority;
use super::block::BlockLog;
use super::errors;
use super::evaluate::{Env, OpResult, apply_operation};
use super::json::to_value;
use super::state::State;
use bts_protocol::{PublicKey, SignedTransaction};
use bts_rpc::FcException;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Applies `tx` (whose signing keys are `signers`) on top of `state`. On error the state may be
/// half-changed: the caller rolls back to its savepoint.
pub(crate) fn apply_transaction(
    state: &mut State,
    log: &BlockLog,
    env: &Env<'_>,
    head_num: u32,
    tx: &SignedTransaction,
    signers: &BTreeSet<PublicKey>,
) -> Result<Vec<OpResult>, FcException> {
    let trx = &tx.transaction;
    let id = trx.id();
    if state.is_recent_tx(&id) {
        return Err(errors::duplicate_transaction(&id));
    }
    let params = &env.params.chain;
    verify_authority(state, trx, signers, u32::from(params.max_authority_depth))?;
    if head_num > 0 {
        if trx.ref_block_prefix != log.ref_block_prefix(trx.ref_block_num) {
            return Err(errors::tapos_mismatch());
        }
        let now = env.now;
        if trx.expiration > now.saturating_add(params.maximum_time_until_expiration) {
            return Err(errors::expiration_too_far(
                trx.expiration,
                now,
                params.maximum_time_until_expiration,
            ));
        }
        if now > trx.expiration {
            return Err(errors::expired(now, trx.expiration));
        }
        if tx.to_bytes().len() > params.maximum_transaction_size as usize {
            return Err(errors::transaction_too_large());
        }
    }
    state.insert_recent_tx(id, trx.expiration);
    trx.operations
        .iter()
        .map(|op| apply_operation(state, env, op))
        .collect()
}

/// Adds what the node's `_apply_transaction` and `push_transaction` add to an exception on its
/// way out (the transaction, twice), and stamps the entries with `env.now`.
pub(crate) fn finish_error(e: FcException, tx: &SignedTransaction, env: &Env<'_>) -> FcException {
    let trx = json!({ "trx": to_value(tx) });
    let e = errors::captured(e, errors::site("db_block.cpp", 782, "_apply_transaction"), trx.clone());
    let e = errors::captured(e, errors::site("db_block.cpp", 280, "push_transaction"), trx);
    errors::stamp(e, env.now)
}

/// A `processed_transaction`: the signed transaction and each operation's result.
pub(crate) fn processed_json(tx: &SignedTransaction, results: &[OpResult]) -> Value {
    let mut v = to_value(tx);
    v["operation_results"] = Value::Array(results.iter().map(|r| r.to_json()).collect());
    v
}
