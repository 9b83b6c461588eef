//! The database API (`database_api.cpp`): method dispatch, `get_objects` and every object's
//! JSON, chain-wide properties and blocks. Account, asset and witness lookups are in
//! `api_accounts.rs`, transaction helpers in `api_transactions.rs`.
//!
//! Subscription methods (`set_subscribe_callback`, `set_block_applied_callback`,
//! `set_pending_transaction_callback`, `cancel_all_subscriptions`, `set_auto_subscription`)
//! are per connection and belong to the server; here they are unknown methods.

use super::Chain;
use super::args::Args;
use super::errors;
use super::objects::kind;
use super::params;
use bts_protocol::ObjectId;
use bts_rpc::{Call, ErrorObject};
use serde_json::{Value, json};

/// The recorded node's `immutable_parameters` (2.11.0).
fn immutable_parameters() -> Value {
    json!({
        "min_committee_member_count": 11,
        "min_witness_count": 11,
        "num_special_accounts": 0,
        "num_special_assets": 0,
    })
}

impl Chain {
    /// Answers a database API call (`call.method` with positional `call.args`) as the node
    /// does; an unknown method is the node's "method not found".
    pub fn database_call(&self, call: &Call) -> Result<Value, ErrorObject> {
        let a = Args::of(call);
        let method = call.method.as_str();
        match method {
            "get_chain_id" => Ok(json!(self.config.chain_id)),
            "get_chain_properties" => Ok(self.chain_properties_json()),
            "get_config" => Ok(self.config_json()),
            "get_global_properties" => Ok(self.global_properties_json()),
            "get_dynamic_global_properties" => Ok(self.state.globals().dgp.to_json()),
            "get_objects" => {
                let ids: Vec<ObjectId> = a.get(0)?;
                Ok(ids
                    .into_iter()
                    .map(|id| object_json(self, id).unwrap_or(Value::Null))
                    .collect())
            }
            "get_block_header" => {
                let num: u32 = a.get(0)?;
                Ok(self.log.get(num).map_or(Value::Null, |b| b.header_json()))
            }
            "get_block_header_batch" => {
                let mut nums: Vec<u32> = a.get(0)?;
                nums.sort_unstable();
                nums.dedup();
                let pairs = nums
                    .into_iter()
                    .map(|n| json!([n, self.log.get(n).map_or(Value::Null, |b| b.header_json())]));
                Ok(pairs.collect())
            }
            "get_block" => {
                let num: u32 = a.get(0)?;
                Ok(self.log.get(num).map_or(Value::Null, |b| b.to_json()))
            }
            "get_transaction" => {
                let (num, trx): (u32, u32) = (a.get(0)?, a.get(1)?);
                let block = self
                    .log
                    .get(num)
                    .ok_or_else(|| errors::api_assert("opt_block").into_execution_error())?;
                let Some(tx) = block.transactions.get(trx as usize) else {
                    return Err(errors::api_assert("opt_block->transactions.size() > trx_num").into_execution_error());
                };
                let mut tx = super::json::to_value(tx);
                tx["operation_results"] = json!([]);
                Ok(tx)
            }
            _ => self
                .account_call(method, &a)
                .or_else(|| self.transaction_call(method, &a))
                .unwrap_or_else(|| Err(ErrorObject::method_not_found(method))),
        }
    }

    fn chain_properties_json(&self) -> Value {
        json!({
            "id": "2.11.0",
            "chain_id": self.config.chain_id,
            "immutable_parameters": immutable_parameters(),
        })
    }

    /// The recorded `get_config` with this chain's symbol and address prefix.
    fn config_json(&self) -> Value {
        let mut v: Value = serde_json::from_str(params::CONFIG).expect("embedded config is JSON");
        v["GRAPHENE_SYMBOL"] = json!(self.config.prefix.as_str());
        v["GRAPHENE_ADDRESS_PREFIX"] = json!(self.config.prefix.as_str());
        v
    }

    /// 2.0.0: the recorded object with this chain's block interval, current account_create
    /// basic fee, witnesses and committee.
    pub(crate) fn global_properties_json(&self) -> Value {
        let mut v = self.params.global_properties.clone();
        v["parameters"]["block_interval"] = json!(self.config.block_interval);
        if let Some(fees) = v["parameters"]["current_fees"]["parameters"].as_array_mut() {
            for entry in fees.iter_mut().filter(|e| e[0] == 5) {
                if let Some(Value::Object(p)) = entry.get_mut(1) {
                    p.insert("basic_fee".into(), super::json::uint(self.state.globals().basic_fee));
                }
            }
        }
        v["next_available_vote_id"] = json!(self.state.next_vote_id());
        v["active_committee_members"] = self.state.committee.iter().map(|c| json!(c.id)).collect();
        v["active_witnesses"] = self.state.witnesses[1..].iter().map(|w| json!(w.id)).collect();
        v
    }
}

/// Any object the devnet has, as `get_objects` returns it.
pub(crate) fn object_json(chain: &Chain, id: ObjectId) -> Option<Value> {
    let s = &chain.state;
    let i = usize::try_from(id.instance).ok()?;
    let account = || bts_protocol::AccountId::new(id.instance).and_then(|a| s.account(a));
    match (id.space, id.type_id) {
        kind::ACCOUNT => account().map(|a| a.to_json()),
        kind::ASSET => (id.instance == 0).then(|| chain.asset_json(false)),
        kind::COMMITTEE_MEMBER => s.committee.get(i).map(|c| c.to_json()),
        kind::WITNESS => s.witnesses.get(i).map(|w| w.to_json()),
        kind::PROPOSAL => bts_protocol::ProposalId::new(id.instance)
            .and_then(|p| s.proposal(p))
            .map(|p| p.to_json()),
        kind::OPERATION_HISTORY => chain.history.op_json(id.instance),
        kind::GLOBAL_PROPERTIES => (id.instance == 0).then(|| chain.global_properties_json()),
        kind::DYNAMIC_GLOBAL_PROPERTIES => (id.instance == 0).then(|| s.globals().dgp.to_json()),
        kind::ASSET_DYNAMIC_DATA => (id.instance == 0).then(|| s.globals().asset_dynamic_data_json()),
        kind::ACCOUNT_BALANCE => s.balances().get(i).map(|b| b.to_json()),
        kind::ACCOUNT_STATISTICS => account().and_then(|a| s.stats(a.id).map(|st| a.stats_json(st))),
        kind::ACCOUNT_HISTORY => chain.history.entry_json(id.instance),
        kind::CHAIN_PROPERTIES => (id.instance == 0).then(|| chain.chain_properties_json()),
        _ => None,
    }
}
