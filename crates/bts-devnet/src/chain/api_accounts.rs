//! Database API lookups of accounts, balances, keys, the core asset, witnesses and committee
//! members, with the node's argument forms (names or ids) and answer shapes.

use super::Chain;
use super::args::Args;
use super::errors;
use super::json::int;
use super::objects::Account;
use super::params::MAX_SHARE_SUPPLY;
use bts_protocol::{AccountId, AssetId, CommitteeMemberId, PublicKey, WitnessId};
use bts_rpc::ErrorObject;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

type Answer = Option<Result<Value, ErrorObject>>;

/// The node's default API limits (`application_options`).
const LIMIT_LOOKUP_ACCOUNTS: u32 = 1000;
const LIMIT_LIST_ASSETS: u32 = 101;
const LIMIT_LOOKUP_WITNESSES: u32 = 1000;

fn answer(v: Result<Value, ErrorObject>) -> Answer {
    Some(v)
}

impl Chain {
    /// `get_account_from_string`: an id when it starts with a digit, else a name.
    pub(crate) fn find_account(&self, name_or_id: &str) -> Option<&Account> {
        if name_or_id.starts_with(|c: char| c.is_ascii_digit()) {
            name_or_id
                .parse::<AccountId>()
                .ok()
                .and_then(|id| self.state.account(id))
        } else {
            self.state.account_by_name(name_or_id)
        }
    }

    fn account_or_error(&self, name_or_id: &str) -> Result<&Account, ErrorObject> {
        self.find_account(name_or_id)
            .ok_or_else(|| errors::no_such_account().into_execution_error())
    }

    fn account_name(&self, id: AccountId) -> Value {
        self.state.account(id).map_or(Value::Null, |a| json!(a.name))
    }

    /// Answers the account, balance, key, asset and witness methods; `None` for other methods.
    pub(crate) fn account_call(&self, method: &str, a: &Args<'_>) -> Answer {
        let accounts = |names: Vec<String>| -> Value {
            names
                .iter()
                .map(|n| self.find_account(n).map_or(Value::Null, Account::to_json))
                .collect()
        };
        match method {
            "get_accounts" | "lookup_account_names" => answer(a.get(0).map(accounts)),
            "get_account_by_name" => answer(
                a.get::<String>(0)
                    .map(|n| self.state.account_by_name(&n).map_or(Value::Null, Account::to_json)),
            ),
            "lookup_accounts" => answer((|| {
                let lower: String = a.get(0)?;
                let limit = a.limit(1, LIMIT_LOOKUP_ACCOUNTS)?;
                let pairs = self.state.names_from(&lower).take(limit).map(|(n, id)| json!([n, id]));
                Ok(pairs.collect())
            })()),
            "get_account_count" => answer(Ok(json!(self.state.accounts().len()))),
            "get_account_id_from_string" => answer((|| {
                let s: String = a.get(0)?;
                Ok(json!(self.account_or_error(&s)?.id))
            })()),
            "get_full_accounts" => answer(a.get::<Vec<String>>(0).map(|names| {
                let found: BTreeMap<String, Value> = names
                    .into_iter()
                    .filter_map(|n| self.find_account(&n).map(|acc| (n, self.full_account(acc))))
                    .collect();
                found.into_iter().map(|(k, v)| json!([k, v])).collect()
            })),
            "get_account_balances" | "get_named_account_balances" => answer(self.account_balances(a)),
            "get_proposed_transactions" => answer((|| {
                let s: String = a.get(0)?;
                Ok(self.proposals_of(self.account_or_error(&s)?.id))
            })()),
            "get_key_references" => answer(self.key_references(a)),
            "is_public_key_registered" => answer(a.get::<String>(0).map(|s| {
                let registered = PublicKey::parse(&s, self.config.prefix)
                    .is_ok_and(|k| self.state.accounts().iter().any(|acc| acc.keys().any(|x| *x == k)));
                json!(registered)
            })),
            "get_assets" | "lookup_asset_symbols" => answer(a.get::<Vec<String>>(0).map(|list| {
                list.iter()
                    .map(|s| {
                        if self.is_core_asset(s) {
                            self.asset_json(true)
                        } else {
                            Value::Null
                        }
                    })
                    .collect()
            })),
            "list_assets" => answer((|| {
                let lower: String = a.get(0)?;
                let limit = a.limit(1, LIMIT_LIST_ASSETS)?;
                let core = self.config.prefix.as_str() >= lower.as_str() && limit > 0;
                Ok(if core {
                    json!([self.asset_json(true)])
                } else {
                    json!([])
                })
            })()),
            "get_asset_count" => answer(Ok(json!(1))),
            _ => self.witness_call(method, a),
        }
    }

    fn is_core_asset(&self, symbol_or_id: &str) -> bool {
        if symbol_or_id.starts_with(|c: char| c.is_ascii_digit()) {
            symbol_or_id.parse::<AssetId>() == Ok(AssetId::CORE)
        } else {
            symbol_or_id == self.config.prefix.as_str()
        }
    }

    /// The core asset (1.3.0); `extended` adds what `get_assets` adds (`total_in_collateral`).
    pub(crate) fn asset_json(&self, extended: bool) -> Value {
        let core = json!({"amount": 1, "asset_id": "1.3.0"});
        let mut v = json!({
            "id": "1.3.0",
            "symbol": self.config.prefix.as_str(),
            "precision": 5,
            "issuer": AccountId::NULL,
            "options": {
                "max_supply": int(MAX_SHARE_SUPPLY),
                "market_fee_percent": 0,
                "max_market_fee": int(MAX_SHARE_SUPPLY),
                "issuer_permissions": 0,
                "flags": 0,
                "core_exchange_rate": {"base": core, "quote": core},
                "whitelist_authorities": [],
                "blacklist_authorities": [],
                "whitelist_markets": [],
                "blacklist_markets": [],
                "description": "",
                "extensions": {},
            },
            "dynamic_asset_data_id": "2.3.0",
            "creation_block_num": 0,
            "creation_time": self.config.genesis_time,
        });
        if extended {
            v["total_in_collateral"] = json!(0);
        }
        v
    }

    /// `full_account` with the parts the devnet has (everything else empty).
    fn full_account(&self, a: &Account) -> Value {
        let balances: Vec<Value> = self.state.balances_of(a.id).map(|b| b.to_json()).collect();
        let assets = if a.id == AccountId::NULL {
            json!(["1.3.0"])
        } else {
            json!([])
        };
        let parts = [
            "balances",
            "vesting_balances",
            "limit_orders",
            "call_orders",
            "settle_orders",
            "proposals",
            "assets",
            "withdraws_from",
            "withdraws_to",
            "htlcs_from",
            "htlcs_to",
        ];
        let more: serde_json::Map<String, Value> = parts.iter().map(|p| ((*p).to_owned(), json!(false))).collect();
        let mut v = json!({
            "account": a.to_json(),
            "statistics": a.stats_json(&self.state.stats(a.id).copied().unwrap_or_default()),
            "registrar_name": self.account_name(a.registrar),
            "referrer_name": self.account_name(a.referrer),
            "lifetime_referrer_name": self.account_name(a.lifetime_referrer),
            "votes": [],
            "more_data_available": more,
        });
        for p in parts {
            v[p] = json!([]);
        }
        v["balances"] = Value::Array(balances);
        v["assets"] = assets;
        v["proposals"] = self.proposals_of(a.id);
        v
    }

    /// The open proposals `account` must approve or has approved, as `get_proposed_transactions`
    /// and `get_full_accounts` list them.
    fn proposals_of(&self, account: AccountId) -> Value {
        let involved = self.state.proposals().filter(|p| p.involves(account));
        involved.map(|p| p.to_json()).collect()
    }

    fn account_balances(&self, a: &Args<'_>) -> Result<Value, ErrorObject> {
        let name: String = a.get(0)?;
        let account = self.account_or_error(&name)?;
        let assets: BTreeSet<AssetId> = a.get(1)?;
        let amount = |asset: AssetId, amount: i64| json!({"amount": int(amount), "asset_id": asset});
        Ok(if assets.is_empty() {
            self.state
                .balances_of(account.id)
                .map(|b| amount(b.asset, b.amount))
                .collect()
        } else {
            assets
                .into_iter()
                .map(|asset| amount(asset, self.state.balance(account.id, asset)))
                .collect()
        })
    }

    fn key_references(&self, a: &Args<'_>) -> Result<Value, ErrorObject> {
        let keys: Vec<String> = a.get(0)?;
        let mut out = Vec::with_capacity(keys.len());
        for s in keys {
            let key = self.parse_key(&s)?;
            let ids: BTreeSet<AccountId> = self
                .state
                .accounts()
                .iter()
                .filter(|acc| acc.keys().any(|k| *k == key))
                .map(|acc| acc.id)
                .collect();
            out.push(json!(ids));
        }
        Ok(Value::Array(out))
    }

    /// A public key argument; like the node, only this chain's prefix parses.
    pub(crate) fn parse_key(&self, s: &str) -> Result<PublicKey, ErrorObject> {
        PublicKey::parse(s, self.config.prefix).map_err(|e| {
            let exc = if s.starts_with(self.config.prefix.as_str()) {
                errors::api_assert(&format!("public_key_type( \"{s}\" ): {e}"))
            } else {
                errors::wrong_key_prefix(s)
            };
            exc.into_execution_error()
        })
    }

    fn witness_call(&self, method: &str, a: &Args<'_>) -> Answer {
        let s = &self.state;
        let by_account = |want: AccountId| -> Value {
            let w = s
                .witnesses
                .iter()
                .find(|w| w.account == want && w.id != WitnessId::default());
            w.map_or(Value::Null, |w| w.to_json())
        };
        let lookup = |names: Vec<(String, Value)>| -> Result<Value, ErrorObject> {
            let lower: String = a.get(0)?;
            let limit = a.limit(1, LIMIT_LOOKUP_WITNESSES)?;
            let sorted: BTreeMap<String, Value> = names.into_iter().filter(|(n, _)| *n >= lower).collect();
            Ok(sorted.into_iter().take(limit).map(|(n, id)| json!([n, id])).collect())
        };
        let name_of = |id: AccountId| s.account(id).map(|acc| acc.name.clone()).unwrap_or_default();
        match method {
            "get_witnesses" => answer(a.get::<Vec<WitnessId>>(0).map(|ids| {
                ids.iter()
                    .map(|id| {
                        s.witnesses
                            .get(id.instance() as usize)
                            .map_or(Value::Null, |w| w.to_json())
                    })
                    .collect()
            })),
            "get_witness_by_account" => answer((|| {
                let name: String = a.get(0)?;
                Ok(by_account(self.account_or_error(&name)?.id))
            })()),
            "get_witness_count" => answer(Ok(json!(s.witnesses.len()))),
            "lookup_witness_accounts" => answer(lookup(
                s.witnesses.iter().map(|w| (name_of(w.account), json!(w.id))).collect(),
            )),
            "get_committee_members" => answer(a.get::<Vec<CommitteeMemberId>>(0).map(|ids| {
                ids.iter()
                    .map(|id| {
                        s.committee
                            .get(id.instance() as usize)
                            .map_or(Value::Null, |c| c.to_json())
                    })
                    .collect()
            })),
            "get_committee_member_by_account" => answer((|| {
                let name: String = a.get(0)?;
                let id = self.account_or_error(&name)?.id;
                Ok(s.committee
                    .iter()
                    .find(|c| c.account == id)
                    .map_or(Value::Null, |c| c.to_json()))
            })()),
            "get_committee_count" => answer(Ok(json!(s.committee.len()))),
            "lookup_committee_member_accounts" => answer(lookup(
                s.committee.iter().map(|c| (name_of(c.account), json!(c.id))).collect(),
            )),
            _ => None,
        }
    }
}
