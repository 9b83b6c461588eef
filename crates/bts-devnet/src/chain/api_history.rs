//! The history API (`history_api` in `api.cpp`): an account's operations, newest first.

use super::Chain;
use super::args::Args;
use bts_protocol::ObjectId;
use bts_rpc::{Call, ErrorObject};
use serde_json::Value;

/// The node's default `api_limit_get_account_history` (and its siblings).
const LIMIT_ACCOUNT_HISTORY: u32 = 100;

/// An `operation_history_id_type` argument: `"1.11.N"`.
fn op_instance(a: &Args<'_>, i: usize) -> Result<u64, ErrorObject> {
    let id: ObjectId = a.get(i)?;
    Ok(id.instance)
}

impl Chain {
    /// Answers a history API call; an unknown method is the node's "method not found". An
    /// unknown account has an empty history, as on the node.
    pub fn history_call(&self, call: &Call) -> Result<Value, ErrorObject> {
        let a = Args::of(call);
        let ops = match call.method.as_str() {
            "get_account_history" => {
                let account: String = a.get(0)?;
                let stop = op_instance(&a, 1)?;
                let limit = a.limit(2, LIMIT_ACCOUNT_HISTORY)?;
                let start = op_instance(&a, 3)?;
                self.find_account(&account)
                    .map(|acc| self.history.account_history(acc.id, stop, limit, start))
            }
            "get_account_history_operations" => {
                let account: String = a.get(0)?;
                let op_type: i64 = a.get(1)?;
                let start = op_instance(&a, 2)?;
                let stop = op_instance(&a, 3)?;
                let limit = a.limit(4, LIMIT_ACCOUNT_HISTORY)?;
                self.find_account(&account).map(|acc| {
                    self.history
                        .account_history_operations(acc.id, op_type, start, stop, limit)
                })
            }
            "get_relative_account_history" => {
                let account: String = a.get(0)?;
                let stop: u64 = a.get(1)?;
                let limit = a.limit(2, LIMIT_ACCOUNT_HISTORY)?;
                let start: u64 = a.get(3)?;
                self.find_account(&account)
                    .map(|acc| self.history.relative_account_history(acc.id, stop, limit, start))
            }
            other => return Err(ErrorObject::method_not_found(other)),
        };
        Ok(Value::Array(ops.unwrap_or_default()))
    }
}
