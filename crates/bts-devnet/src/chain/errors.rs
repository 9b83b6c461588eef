//! The node's exceptions for every rule the devnet enforces: code, name, message and text as
//! witness_node 7.0 reports them, so clients that match on error text keep working.
//!
//! `FC_ASSERT(expr, text)` becomes an `assert_exception` (code 10) whose format is
//! `"expr: text"`; `GRAPHENE_ASSERT(expr, type, text)` becomes an exception of that type whose
//! format is just `text`. Texts come from bitshares-core 7.0 (`db_block.cpp`,
//! `account_evaluator.cpp`, `transfer_evaluator.cpp`, `db_balance.cpp`, `transaction.cpp`,
//! `evaluator.hpp`) and, where the reference node was recorded, from its answers.

use bts_protocol::{ObjectId, TimePointSec, TransactionId};
use bts_rpc::fc::{FcException, LogContext, LogEntry, code};
use serde_json::{Value, json};

/// Where a check lives in bitshares-core; the node reports it in each log entry's context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site {
    file: &'static str,
    line: u64,
    method: &'static str,
}

/// A site; `line` is the 7.0 line where the recorded node showed it, else 0.
pub(crate) const fn site(file: &'static str, line: u64, method: &'static str) -> Site {
    Site { file, line, method }
}

pub(crate) const APPLY_TRX: Site = site("db_block.cpp", 747, "_apply_transaction");
const VERIFY_AUTHORITY: Site = site("transaction.cpp", 0, "verify_authority");
const SIGNATURE_KEYS: Site = site("elliptic_secp256k1.cpp", 0, "public_key");
const EVALUATOR: Site = site("evaluator.hpp", 0, "evaluate");
const ACCOUNT_CREATE: Site = site("account_evaluator.cpp", 0, "do_evaluate");
const ACCOUNT_UPGRADE: Site = site("account_evaluator.cpp", 0, "do_apply");
const BALANCE: Site = site("db_balance.cpp", 0, "adjust_balance");
const API: Site = site("database_api.cpp", 0, "call");

fn entry(level: &str, site: Site, format: String, data: Value) -> LogEntry {
    LogEntry {
        context: LogContext {
            level: level.to_owned(),
            file: site.file.to_owned(),
            line: site.line,
            method: site.method.to_owned(),
            hostname: String::new(),
            thread_name: "th_a".to_owned(),
            timestamp: String::new(),
        },
        format,
        data,
    }
}

/// `FC_ASSERT(expr, text, data)`.
pub(crate) fn fc_assert(expr: &str, text: &str, data: Value, site: Site) -> FcException {
    let mut e = FcException::assert(expr, text);
    e.stack = vec![entry("error", site, format!("{expr}: {text}"), data)];
    e
}

/// `GRAPHENE_ASSERT` / `FC_THROW_EXCEPTION` of a typed exception.
fn typed(code: i64, name: &str, message: &str, format: &str, data: Value, site: Site) -> FcException {
    let mut e = FcException::new(code, name, message, format);
    e.stack = vec![entry("error", site, format.to_owned(), data)];
    e
}

/// Appends what `FC_CAPTURE_AND_RETHROW` adds on the way out: an entry with an empty format
/// and the captured values.
pub(crate) fn captured(mut e: FcException, site: Site, data: Value) -> FcException {
    e.stack.push(entry("warn", site, String::new(), data));
    e
}

/// Stamps every entry with the time the node would have logged it (the devnet has no clock;
/// it uses the head block time).
pub(crate) fn stamp(mut e: FcException, now: TimePointSec) -> FcException {
    let now = now.to_string();
    for entry in &mut e.stack {
        if entry.context.timestamp.is_empty() {
            entry.context.timestamp.clone_from(&now);
        }
    }
    e
}

// --- Transaction-level checks (db_block.cpp, transaction.cpp, fc) ---

pub(crate) fn expired(now: TimePointSec, expiration: TimePointSec) -> FcException {
    let data = json!({"now": now, "trx.exp": expiration});
    fc_assert("now <= trx.expiration", "", data, APPLY_TRX)
}

pub(crate) fn expiration_too_far(expiration: TimePointSec, now: TimePointSec, max: u32) -> FcException {
    let data = json!({"trx.expiration": expiration, "now": now, "max_til_exp": max});
    let expr = "trx.expiration <= now + chain_parameters.maximum_time_until_expiration";
    fc_assert(expr, "", data, APPLY_TRX)
}

pub(crate) fn tapos_mismatch() -> FcException {
    let expr = "trx.ref_block_prefix == tapos_block_summary.block_id._hash[1].value()";
    fc_assert(expr, "", json!({}), APPLY_TRX)
}

pub(crate) fn duplicate_transaction(id: &TransactionId) -> FcException {
    typed(
        code::DUPLICATE_TRANSACTION,
        "duplicate_transaction",
        "duplicate transaction",
        "Transaction '${txid}' is already in the database",
        json!({"txid": id}),
        site("db_block.cpp", 708, "_apply_transaction"),
    )
}

pub(crate) fn transaction_too_large() -> FcException {
    let expr = "head_block_time() <= HARDFORK_CORE_1573_TIME || trx.get_packed_size() <= chain_parameters.maximum_transaction_size";
    fc_assert(
        expr,
        "Transaction exceeds maximum transaction size.",
        json!({}),
        APPLY_TRX,
    )
}

pub(crate) fn missing_active_authority(id: ObjectId, active: Value, owner: Value) -> FcException {
    let data = json!({"id": id, "auth": active, "owner": owner, "rejected_custom_auths": []});
    typed(
        code::MISSING_ACTIVE_AUTH,
        "tx_missing_active_auth",
        "missing required active authority",
        "Missing Active Authority ${id}",
        data,
        VERIFY_AUTHORITY,
    )
}

pub(crate) fn missing_owner_authority(id: ObjectId, owner: Value) -> FcException {
    typed(
        code::MISSING_OWNER_AUTH,
        "tx_missing_owner_auth",
        "missing required owner authority",
        "Missing Owner Authority ${id}",
        json!({"id": id, "auth": owner}),
        VERIFY_AUTHORITY,
    )
}

pub(crate) fn missing_other_authority(auth: Value) -> FcException {
    typed(
        4_010_003,
        "tx_missing_other_auth",
        "missing required other authority",
        "Missing Authority",
        json!({"auth": auth}),
        VERIFY_AUTHORITY,
    )
}

pub(crate) fn irrelevant_signature() -> FcException {
    typed(
        code::IRRELEVANT_SIG,
        "tx_irrelevant_sig",
        "irrelevant signature included",
        "Unnecessary signature(s) detected",
        json!({}),
        VERIFY_AUTHORITY,
    )
}

pub(crate) fn duplicate_signature() -> FcException {
    typed(
        code::DUPLICATE_SIG,
        "tx_duplicate_sig",
        "duplicate signature included",
        "Duplicate Signature detected",
        json!({}),
        site("transaction.cpp", 0, "get_signature_keys"),
    )
}

pub(crate) fn committee_approval() -> FcException {
    typed(
        4_010_006,
        "invalid_committee_approval",
        "committee account cannot directly approve transaction",
        "Committee account may only propose transactions",
        json!({}),
        VERIFY_AUTHORITY,
    )
}

pub(crate) fn signature_header() -> FcException {
    typed(
        code::UNSPECIFIED,
        "exception",
        "unspecified",
        "unable to reconstruct public key from signature",
        json!({}),
        SIGNATURE_KEYS,
    )
}

pub(crate) fn signature_not_canonical() -> FcException {
    fc_assert(
        "is_canonical( c )",
        "signature is not canonical",
        json!({}),
        SIGNATURE_KEYS,
    )
}

pub(crate) fn signature_unrecoverable() -> FcException {
    let expr = "secp256k1_ecdsa_recover_compact( detail::_get_context(), (unsigned char*) digest.data(), \
                (unsigned char*) c.begin() + 1, (unsigned char*) my->_key.begin(), (int*) &pk_len, 1, \
                (*c.begin() - 27) & 3 )";
    fc_assert(expr, "", json!({}), SIGNATURE_KEYS)
}

/// A public key written with another chain's prefix: the node cannot even parse it.
pub(crate) fn wrong_key_prefix(key: &str) -> FcException {
    let expr = "base58str.substr( 0, prefix_len ) == prefix";
    fc_assert(
        expr,
        "",
        json!({"base58str": key}),
        site("types.cpp", 0, "public_key_type"),
    )
}

/// A stateless `validate()` assertion (`transaction::validate`, `operation::validate`).
pub(crate) fn invalid(expr: &str, text: &str) -> FcException {
    fc_assert(expr, text, json!({}), site("operations.cpp", 0, "validate"))
}

// --- Evaluation (evaluator.hpp, db_balance.cpp, the operation evaluators) ---

pub(crate) fn object_not_found(id: ObjectId) -> FcException {
    fc_assert(
        "maybe_found != nullptr",
        "Unable to find Object",
        json!({"id": id}),
        site("index.hpp", 0, "get"),
    )
}

pub(crate) fn insufficient_fee(paid: i64, required: i64) -> FcException {
    let data = json!({"core_fee_paid": super::json::int(paid), "required": super::json::int(required)});
    typed(
        code::INSUFFICIENT_FEE,
        "insufficient_fee",
        "insufficient fee",
        "Insufficient Fee Paid",
        data,
        EVALUATOR,
    )
}

/// `adjust_balance` failing: `had_balance_object` selects the node's two spellings.
pub(crate) fn insufficient_balance(had_balance_object: bool, name: &str, balance: &str, required: &str) -> FcException {
    let expr = if had_balance_object {
        "abo->get_balance() >= -delta"
    } else {
        "delta.amount > 0"
    };
    let text = "Insufficient Balance: ${a}'s balance of ${b} is less than required ${r}";
    fc_assert(expr, text, json!({"a": name, "b": balance, "r": required}), BALANCE)
}

pub(crate) fn transfer_insufficient_balance(balance: &str, total: &str, from: &str, to: &str) -> FcException {
    let text = "Insufficient Balance: ${balance}, unable to transfer '${total_transfer}' from account '${a}' to '${t}'";
    let data = json!({"a": from, "t": to, "total_transfer": total, "balance": balance});
    let e = fc_assert(
        "insufficient_balance",
        text,
        data,
        site("transfer_evaluator.cpp", 0, "do_evaluate"),
    );
    let rethrow = json!({"a": total, "f": from, "t": to});
    let mut e = captured(e, site("transfer_evaluator.cpp", 0, "do_evaluate"), rethrow);
    rethrown(&mut e, "Unable to transfer ${a} from ${f} to ${t}");
    e
}

/// `FC_RETHROW_EXCEPTIONS(error, format, ...)`: the appended entry has a format and level error.
fn rethrown(e: &mut FcException, format: &str) {
    if let Some(last) = e.stack.last_mut() {
        format.clone_into(&mut last.format);
        "error".clone_into(&mut last.context.level);
    }
}

pub(crate) fn invalid_proxy() -> FcException {
    let expr = "d.find_object(op.options.voting_account)";
    fc_assert(expr, "Invalid proxy account specified.", json!({}), ACCOUNT_CREATE)
}

pub(crate) fn registrar_not_lifetime_member() -> FcException {
    let expr = "fee_paying_account->is_lifetime_member()";
    fc_assert(
        expr,
        "Only Lifetime members may register an account.",
        json!({}),
        ACCOUNT_CREATE,
    )
}

pub(crate) fn referrer_not_member() -> FcException {
    let expr = "op.referrer(d).is_member(d.head_block_time())";
    let text = "The referrer must be either a lifetime or annual subscriber.";
    fc_assert(expr, text, json!({}), ACCOUNT_CREATE)
}

/// `verify_authority_accounts` failures, recoded per operation: `account_create` (tag 5) and
/// `account_update` (tag 6) each have their own codes (3050000 + 100 × tag + 1 or 2).
pub(crate) fn max_auth_exceeded(op: &str, tag: i64) -> FcException {
    typed(
        3_050_001 + 100 * tag,
        &format!("{op}_max_auth_exceeded"),
        "Exceeds max authority fan-out",
        "Maximum authority membership exceeded",
        json!({}),
        site("account_evaluator.cpp", 0, "verify_authority_accounts"),
    )
}

pub(crate) fn auth_account_not_found(op: &str, tag: i64, id: ObjectId) -> FcException {
    typed(
        3_050_002 + 100 * tag,
        &format!("{op}_auth_account_not_found"),
        "Auth account not found",
        "Account ${a} specified in authority does not exist",
        json!({"a": id}),
        site("account_evaluator.cpp", 0, "verify_authority_accounts"),
    )
}

pub(crate) fn review_period_required(min: u32) -> FcException {
    typed(
        3_052_201,
        "proposal_create_review_period_required",
        "review_period required",
        "Review period not given, but at least ${min} required",
        json!({"min": min}),
        site("proposal_evaluator.cpp", 0, "do_evaluate"),
    )
}

pub(crate) fn review_period_insufficient(t: u32, min: u32) -> FcException {
    typed(
        3_052_202,
        "proposal_create_review_period_insufficient",
        "review_period insufficient",
        "Review period of ${t} specified, but at least ${min} required",
        json!({"t": t, "min": min}),
        site("proposal_evaluator.cpp", 0, "do_evaluate"),
    )
}

/// A vote check of `verify_account_votes`.
pub(crate) fn vote(expr: &str, text: &str, data: Value) -> FcException {
    fc_assert(
        expr,
        text,
        data,
        site("account_evaluator.cpp", 0, "verify_account_votes"),
    )
}

pub(crate) fn account_exists(name: &str) -> FcException {
    let expr = "current_account_itr == acnt_indx.indices().get<by_name>().end()";
    fc_assert(
        expr,
        "Account '${a}' already exists.",
        json!({"a": name}),
        ACCOUNT_CREATE,
    )
}

pub(crate) fn already_lifetime_member(name: &str) -> FcException {
    let e = fc_assert("!account->is_lifetime_member()", "", json!({}), ACCOUNT_CREATE);
    let mut e = captured(e, ACCOUNT_CREATE, json!({"a": name}));
    rethrown(&mut e, "Unable to upgrade account '${a}'");
    e
}

pub(crate) fn annual_membership_disabled() -> FcException {
    fc_assert(
        "d.head_block_time() <= HARDFORK_613_TIME",
        "",
        json!({}),
        ACCOUNT_UPGRADE,
    )
}

// --- API argument and lookup errors (fc api_connection.hpp, database_api.cpp) ---

pub(crate) fn too_few_arguments() -> FcException {
    fc_assert(
        "a0 != e || optional_args",
        "too few arguments passed to method",
        json!({}),
        site("api_connection.hpp", 0, "call_generic"),
    )
}

pub(crate) fn no_such_account() -> FcException {
    fc_assert("account_ptr", "no such account", json!({}), API)
}

pub(crate) fn no_such_asset() -> FcException {
    fc_assert("asset", "no such asset", json!({}), API)
}

pub(crate) fn limit_exceeded(configured: u32) -> FcException {
    let text = "limit can not be greater than ${configured_limit}";
    fc_assert(
        "limit <= configured_limit",
        text,
        json!({"configured_limit": configured}),
        API,
    )
}

/// An assertion in an API call, e.g. `get_transaction`'s `opt_block`.
pub(crate) fn api_assert(expr: &str) -> FcException {
    fc_assert(expr, "", json!({}), API)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_the_nodes() {
        let e = expired(TimePointSec(10), TimePointSec(5)).into_execution_error();
        assert_eq!(e.code, 10);
        assert_eq!(e.message, "Execution error: Assert Exception: now <= trx.expiration: ");
        let e = account_exists("alice").into_execution_error();
        assert_eq!(
            e.message,
            "Execution error: Assert Exception: current_account_itr == acnt_indx.indices().get<by_name>().end(): \
             Account 'alice' already exists."
        );
        let e = insufficient_balance(true, "bob", "0.5 BTS", "20 BTS").text();
        assert_eq!(
            e,
            "Assert Exception: abo->get_balance() >= -delta: Insufficient Balance: bob's balance of 0.5 BTS is less \
             than required 20 BTS"
        );
        let e = transfer_insufficient_balance("1 BTS", "2 BTS", "a", "b");
        assert_eq!(e.stack.len(), 2);
        assert_eq!(e.stack[1].format, "Unable to transfer ${a} from ${f} to ${t}");
    }

    #[test]
    fn stamping_fills_every_entry() {
        let e = stamp(captured(tapos_mismatch(), APPLY_TRX, json!({})), TimePointSec(0));
        assert!(e.stack.iter().all(|s| s.context.timestamp == "1970-01-01T00:00:00"));
    }
}
