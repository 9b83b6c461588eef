//! The optional genesis file: JSON with kebab-case keys; every key is optional and overrides
//! [`ChainConfig::devnet`]'s default (precedence: built-in defaults < genesis file).
//!
//! ```json
//! {
//!   "prefix": "TEST",
//!   "chain-id": "<64 hex digits; default sha256(\"bts-infra devnet TEST\")>",
//!   "genesis-time": "2024-01-01T00:00:00",
//!   "block-interval": 3,
//!   "irreversible-lag": 3,
//!   "max-blocks-kept": 100000,
//!   "registrar": { "name": "faucet", "wif": "5K...", "balance": "10000000000000" },
//!   "accounts": [
//!     { "name": "alice", "key": "TEST6MRy...", "balance": 100000000 },
//!     { "name": "bob", "owner-key": "TEST...", "active-key": "TEST...", "memo-key": "TEST...",
//!       "balance": 0, "lifetime-member": true }
//!   ]
//! }
//! ```
//!
//! The registrar's key is given as `wif` or as a `seed` for `PrivateKey::from_seed`, or only
//! its public `key` (then this configuration cannot sign for it: what a follower holds); without
//! any of them it is the development key.
//!
//! [`ChainConfig::to_genesis_json`] writes a configuration back in this format, with every key
//! present and in a fixed order, so that its SHA-256 ([`ChainConfig::genesis_hash`]) identifies a
//! chain: the devnet API serves it (public form) to followers, a data dir stores it. An account's `key` sets owner, active and memo key at
//! once; otherwise `owner-key` and `active-key` are required and `memo-key` defaults to the
//! active key. Balances are in satoshis, as numbers or strings.

use super::config::{ChainConfig, ConfigError, GenesisAccount};
use bts_protocol::json::i64_compat;
use bts_protocol::{ChainId, Prefix, PrivateKey, PublicKey, TimePointSec};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGenesis {
    prefix: Option<String>,
    chain_id: Option<String>,
    genesis_time: Option<String>,
    block_interval: Option<u32>,
    irreversible_lag: Option<u32>,
    max_blocks_kept: Option<usize>,
    committee_proposal_review_period: Option<u32>,
    registrar: Option<RawRegistrar>,
    #[serde(default)]
    accounts: Vec<RawAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRegistrar {
    name: Option<String>,
    key: Option<String>,
    wif: Option<String>,
    seed: Option<String>,
    balance: Option<Amount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAccount {
    name: String,
    key: Option<String>,
    owner_key: Option<String>,
    active_key: Option<String>,
    memo_key: Option<String>,
    #[serde(default)]
    balance: Amount,
    #[serde(default)]
    lifetime_member: bool,
    #[serde(default)]
    committee_member: bool,
}

#[derive(Deserialize, Default)]
struct Amount(#[serde(with = "i64_compat")] i64);

impl ChainConfig {
    /// Reads a genesis file (format in this module's documentation) on top of
    /// `ChainConfig::devnet(prefix)`, where `prefix` is the file's `prefix` or else
    /// `default_prefix`; the result is validated.
    pub fn from_genesis_json(text: &str, default_prefix: Prefix) -> Result<ChainConfig, ConfigError> {
        let raw: RawGenesis =
            serde_json::from_str(text).map_err(|e| ConfigError::new("genesis file", e.to_string()))?;
        let prefix = match &raw.prefix {
            Some(p) => Prefix::new(p).map_err(|e| ConfigError::new("prefix", e.to_string()))?,
            None => default_prefix,
        };
        let mut config = ChainConfig::devnet(prefix);
        if let Some(id) = &raw.chain_id {
            config.chain_id = id
                .parse::<ChainId>()
                .map_err(|e| ConfigError::new("chain-id", e.to_string()))?;
        }
        if let Some(t) = &raw.genesis_time {
            config.genesis_time = t
                .parse::<TimePointSec>()
                .map_err(|e| ConfigError::new("genesis-time", e.to_string()))?;
        }
        config.block_interval = raw.block_interval.unwrap_or(config.block_interval);
        config.irreversible_lag = raw.irreversible_lag.unwrap_or(config.irreversible_lag);
        config.max_blocks_kept = raw.max_blocks_kept.unwrap_or(config.max_blocks_kept);
        config.committee_proposal_review_period = raw.committee_proposal_review_period;
        if let Some(r) = raw.registrar {
            apply_registrar(&mut config, r)?;
        }
        for (i, a) in raw.accounts.into_iter().enumerate() {
            let account = account(prefix, i, a)?;
            config.accounts.push(account);
        }
        config.validate()?;
        Ok(config)
    }
}

fn apply_registrar(config: &mut ChainConfig, r: RawRegistrar) -> Result<(), ConfigError> {
    if let Some(name) = r.name {
        config.registrar_name = name;
    }
    let private = match (r.wif, r.seed) {
        (Some(_), Some(_)) => return Err(ConfigError::new("registrar", "give either wif or seed, not both")),
        (Some(wif), None) => {
            Some(PrivateKey::from_wif(&wif).map_err(|e| ConfigError::new("registrar.wif", e.to_string()))?)
        }
        (None, Some(seed)) => {
            Some(PrivateKey::from_seed(&seed).map_err(|e| ConfigError::new("registrar.seed", e.to_string()))?)
        }
        (None, None) => None,
    };
    let public = match &r.key {
        Some(k) => {
            Some(PublicKey::parse(k, config.prefix).map_err(|e| ConfigError::new("registrar.key", e.to_string()))?)
        }
        None => None,
    };
    match (private, public) {
        (Some(private), Some(public)) if private.public_key(config.prefix) != public => {
            return Err(ConfigError::new(
                "registrar.key",
                "is not the public key of the registrar's wif or seed: give one of them",
            ));
        }
        (Some(private), _) => {
            config.registrar_key = private.public_key(config.prefix);
            config.registrar_private_key = Some(private);
        }
        (None, Some(public)) => {
            config.registrar_key = public;
            config.registrar_private_key = None;
        }
        (None, None) => {}
    }
    if let Some(Amount(balance)) = r.balance {
        config.registrar_balance = balance;
    }
    Ok(())
}

impl ChainConfig {
    /// The configuration as a genesis file that [`ChainConfig::from_genesis_json`] reads back
    /// to the same configuration: every key present, in a fixed order. With `private`, the
    /// registrar's `wif` is included when known (a data dir's copy, readable only by its owner);
    /// without, only its public `key` (what the devnet API serves and the genesis hash covers).
    pub fn to_genesis_json(&self, private: bool) -> String {
        let mut registrar = serde_json::Map::new();
        registrar.insert("name".into(), self.registrar_name.clone().into());
        registrar.insert("key".into(), self.registrar_key.to_string().into());
        if private && let Some(k) = &self.registrar_private_key {
            registrar.insert("wif".into(), k.to_wif().into());
        }
        registrar.insert("balance".into(), self.registrar_balance.to_string().into());
        let accounts: Vec<serde_json::Value> = self
            .accounts
            .iter()
            .map(|a| {
                let mut v = serde_json::json!({
                    "name": a.name,
                    "owner-key": a.owner_key.to_string(),
                    "active-key": a.active_key.to_string(),
                    "memo-key": a.memo_key.to_string(),
                    "balance": a.balance.to_string(),
                    "lifetime-member": a.lifetime_member,
                });
                // Written only when set, so that the files (and hashes) of older chains stay
                // the same.
                if a.committee_member {
                    v["committee-member"] = true.into();
                }
                v
            })
            .collect();
        let mut value = serde_json::json!({
            "prefix": self.prefix.to_string(),
            "chain-id": self.chain_id.to_string(),
            "genesis-time": self.genesis_time.to_string(),
            "block-interval": self.block_interval,
            "irreversible-lag": self.irreversible_lag,
            "max-blocks-kept": self.max_blocks_kept,
            "registrar": registrar,
            "accounts": accounts,
        });
        if let Some(period) = self.committee_proposal_review_period {
            value["committee-proposal-review-period"] = period.into();
        }
        // serde_json's maps are sorted by key, so the text is the same for the same configuration.
        serde_json::to_string_pretty(&value).expect("JSON values always serialize")
    }

    /// SHA-256 of the public genesis file ([`ChainConfig::to_genesis_json`] without secrets):
    /// two nodes with the same hash run the same chain from the same genesis.
    pub fn genesis_hash(&self) -> bts_protocol::Digest {
        bts_protocol::Digest::sha256(self.to_genesis_json(false).as_bytes())
    }
}

fn account(prefix: Prefix, i: usize, a: RawAccount) -> Result<GenesisAccount, ConfigError> {
    let key = |role: &str, s: &str| {
        PublicKey::parse(s, prefix).map_err(|e| ConfigError::new(format!("accounts[{i}].{role}"), e.to_string()))
    };
    let missing = |role: &str| {
        ConfigError::new(
            format!("accounts[{i}].{role}"),
            "missing: give \"key\" (used for owner, active and memo) or \"owner-key\" and \"active-key\"",
        )
    };
    let (owner_key, active_key, memo_key) = match (&a.key, &a.owner_key, &a.active_key) {
        (Some(k), None, None) if a.memo_key.is_none() => {
            let k = key("key", k)?;
            (k, k, k)
        }
        (Some(_), _, _) => {
            return Err(ConfigError::new(
                format!("accounts[{i}].key"),
                "\"key\" sets all three keys; do not combine it with owner-key, active-key or memo-key",
            ));
        }
        (None, Some(owner), Some(active)) => {
            let active = key("active-key", active)?;
            let memo = match &a.memo_key {
                Some(m) => key("memo-key", m)?,
                None => active,
            };
            (key("owner-key", owner)?, active, memo)
        }
        (None, None, _) => return Err(missing("owner-key")),
        (None, Some(_), None) => return Err(missing("active-key")),
    };
    Ok(GenesisAccount {
        name: a.name,
        owner_key,
        active_key,
        memo_key,
        balance: a.balance.0,
        lifetime_member: a.lifetime_member,
        committee_member: a.committee_member,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file() {
        let key = ChainConfig::dev_key().public_key(Prefix::TEST);
        let text = format!(
            r#"{{"prefix":"TEST","genesis-time":"2025-01-01T00:00:00","block-interval":5,
                "registrar":{{"name":"onboarding","seed":"x","balance":"123456789012"}},
                "accounts":[{{"name":"alice","key":"{key}","balance":5}},
                            {{"name":"bob","owner-key":"{key}","active-key":"{key}","lifetime-member":true}}]}}"#
        );
        let c = ChainConfig::from_genesis_json(&text, Prefix::BTS).unwrap();
        assert_eq!(c.prefix, Prefix::TEST);
        assert_eq!(c.chain_id, ChainConfig::devnet_chain_id(Prefix::TEST));
        assert_eq!(c.block_interval, 5);
        assert_eq!(c.registrar_name, "onboarding");
        assert_eq!(c.registrar_balance, 123_456_789_012);
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.accounts[0].balance, 5);
        assert!(c.accounts[1].lifetime_member);
    }

    #[test]
    fn the_written_file_reads_back_to_the_same_chain() {
        let key = ChainConfig::dev_key().public_key(Prefix::TEST);
        let text = format!(
            r#"{{"prefix":"TEST","genesis-time":"2025-01-01T00:00:00","block-interval":5,
                "registrar":{{"name":"onboarding","seed":"x","balance":"123456789012"}},
                "accounts":[{{"name":"alice","key":"{key}","balance":5,"lifetime-member":true}}]}}"#
        );
        let c = ChainConfig::from_genesis_json(&text, Prefix::BTS).unwrap();
        let private = ChainConfig::from_genesis_json(&c.to_genesis_json(true), Prefix::BTS).unwrap();
        let wif = |c: &ChainConfig| c.registrar_private_key.as_ref().map(PrivateKey::to_wif);
        assert_eq!(wif(&private), wif(&c));
        assert_eq!(private.genesis_hash(), c.genesis_hash());
        assert_eq!(private.accounts, c.accounts);
        let public_text = c.to_genesis_json(false);
        assert!(!public_text.contains(&c.registrar_private_key.as_ref().unwrap().to_wif()));
        let public = ChainConfig::from_genesis_json(&public_text, Prefix::BTS).unwrap();
        assert!(public.registrar_private_key.is_none());
        assert_eq!(public.registrar_key, c.registrar_key);
        assert_eq!(public.genesis_hash(), c.genesis_hash());
        assert_eq!(public.to_genesis_json(false), public_text);
        let mut other = c.clone();
        other.genesis_time = other.genesis_time.saturating_add(1);
        assert_ne!(other.genesis_hash(), c.genesis_hash());
    }

    #[test]
    fn a_public_key_that_is_not_the_secret_is_refused() {
        let other = PrivateKey::from_seed("other").unwrap().public_key(Prefix::BTS);
        let text = format!(r#"{{"registrar":{{"seed":"x","key":"{other}"}}}}"#);
        let err = ChainConfig::from_genesis_json(&text, Prefix::BTS).unwrap_err();
        assert_eq!(err.path, "registrar.key");
    }

    #[test]
    fn errors_name_the_key() {
        let err = ChainConfig::from_genesis_json(r#"{"block-intervall": 3}"#, Prefix::BTS).unwrap_err();
        assert!(err.message.contains("block-intervall"), "{err}");
        let err = ChainConfig::from_genesis_json(r#"{"accounts":[{"name":"a","key":"BTS1"}]}"#, Prefix::BTS);
        assert_eq!(err.unwrap_err().path, "accounts[0].key");
        let err = ChainConfig::from_genesis_json(r#"{"accounts":[{"name":"a"}]}"#, Prefix::BTS);
        assert_eq!(err.unwrap_err().path, "accounts[0].owner-key");
        let err = ChainConfig::from_genesis_json(r#"{"block-interval": 0}"#, Prefix::BTS);
        assert_eq!(err.unwrap_err().path, "block_interval");
    }
}
