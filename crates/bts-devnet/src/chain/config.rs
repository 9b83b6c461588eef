//! What a devnet starts from: its identity (chain id, address prefix), timing, the funded
//! registrar and any extra genesis accounts.
//!
//! [`ChainConfig::devnet`] gives working defaults for a prefix; a genesis file
//! ([`ChainConfig::from_genesis_json`], see `genesis_file.rs`) overrides them. Everything here is
//! a development setting: the default keys are derived from public strings and anyone can sign
//! with them.

use super::params::MAX_SHARE_SUPPLY;
use bts_protocol::name::is_valid_name;
use bts_protocol::{ChainId, Prefix, PrivateKey, PublicKey, TimePointSec};
use thiserror::Error;

/// Seed of the default registrar key (`PrivateKey::from_seed`). It is public: whoever reads
/// this can spend the registrar's devnet funds, which is the point of a development chain.
pub const DEV_KEY_SEED: &str = "bts-infra devnet development key (public, never use it for real funds)";

/// Seed of the init witness's block signing key (`PrivateKey::from_seed`), public as well.
pub const WITNESS_KEY_SEED: &str = "bts-infra devnet init witness key (public)";

/// Default genesis time, `2024-01-01T00:00:00`. A server usually sets its start time instead.
pub const DEFAULT_GENESIS_TIME: TimePointSec = TimePointSec(1_704_067_200);

/// Names the genesis itself uses; a configured account may not take them.
pub const RESERVED_NAMES: [&str; 7] = [
    "committee-account",
    "witness-account",
    "relaxed-committee-account",
    "null-account",
    "temp-account",
    "proxy-to-self",
    INIT_WITNESS_NAME,
];

/// Name of the init witness's account (1.2.6).
pub const INIT_WITNESS_NAME: &str = "init0";

/// How a devnet starts.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The chain id every signature commits to.
    pub chain_id: ChainId,
    /// Address prefix of keys; also the core asset's symbol.
    pub prefix: Prefix,
    /// Seconds between blocks (1 to 30, as the node allows).
    pub block_interval: u32,
    /// Time of block 0; block 1 must come later.
    pub genesis_time: TimePointSec,
    /// Name of the funded lifetime member that registers accounts (1.2.7).
    pub registrar_name: String,
    /// The registrar's key (owner, active and memo).
    pub registrar_key: PublicKey,
    /// The registrar's private key, when this configuration knows it: the built-in defaults and
    /// a genesis file with `wif` or `seed` do; a follower's copy of its upstream's genesis does
    /// not (the devnet API serves only the public half).
    pub registrar_private_key: Option<PrivateKey>,
    /// The registrar's core balance, in satoshis (100000 = 1 unit with precision 5).
    pub registrar_balance: i64,
    /// How many blocks the last irreversible block trails the head (at least 1).
    pub irreversible_lag: u32,
    /// More accounts created at genesis (1.2.8 onwards, in this order).
    pub accounts: Vec<GenesisAccount>,
    /// How many recent blocks `get_block` can return (older ones answer `null`).
    pub max_blocks_kept: usize,
    /// The chain parameter `committee_proposal_review_period` in seconds, when not the
    /// recorded node's two weeks (a test cannot wait that long).
    pub committee_proposal_review_period: Option<u32>,
}

/// An extra account created at genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Account name (valid on chain, unique).
    pub name: String,
    /// Owner key.
    pub owner_key: PublicKey,
    /// Active key.
    pub active_key: PublicKey,
    /// Memo key.
    pub memo_key: PublicKey,
    /// Core balance in satoshis.
    pub balance: i64,
    /// Created as a lifetime member (may then register accounts).
    pub lifetime_member: bool,
    /// A committee member from genesis: its approval counts for committee-account.
    pub committee_member: bool,
}

/// A configuration the devnet cannot start from; `path` names the setting.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The setting, e.g. `accounts[2].name`.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl ChainConfig {
    /// A devnet with `prefix`: chain id [`ChainConfig::devnet_chain_id`], 3-second blocks,
    /// genesis at [`DEFAULT_GENESIS_TIME`], registrar `faucet` with the development key
    /// ([`DEV_KEY_SEED`]) and 100,000,000 core units, the last irreversible block 3 behind the
    /// head, 100,000 blocks kept.
    pub fn devnet(prefix: Prefix) -> ChainConfig {
        ChainConfig {
            chain_id: ChainConfig::devnet_chain_id(prefix),
            prefix,
            block_interval: 3,
            genesis_time: DEFAULT_GENESIS_TIME,
            registrar_name: "faucet".to_owned(),
            registrar_key: ChainConfig::dev_key().public_key(prefix),
            registrar_private_key: Some(ChainConfig::dev_key()),
            registrar_balance: 10_000_000_000_000,
            irreversible_lag: 3,
            accounts: Vec::new(),
            max_blocks_kept: 100_000,
            committee_proposal_review_period: None,
        }
    }

    /// The default chain id for a prefix: `sha256("bts-infra devnet <PREFIX>")`, so every
    /// devnet with the same prefix has the same id and none collides with a public chain.
    pub fn devnet_chain_id(prefix: Prefix) -> ChainId {
        ChainId::devnet(prefix)
    }

    /// The development key, `PrivateKey::from_seed(DEV_KEY_SEED)`.
    pub fn dev_key() -> PrivateKey {
        PrivateKey::from_seed(DEV_KEY_SEED).expect("the sha256 of the seed is a valid secp256k1 secret")
    }

    /// The init witness's block signing key, `PrivateKey::from_seed(WITNESS_KEY_SEED)`.
    pub fn witness_key() -> PrivateKey {
        PrivateKey::from_seed(WITNESS_KEY_SEED).expect("the sha256 of the seed is a valid secp256k1 secret")
    }

    /// Checks everything [`crate::chain::Chain::new`] relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=30).contains(&self.block_interval) {
            return Err(ConfigError::new(
                "block_interval",
                format!("{} s is outside 1..=30 s, the node's limits", self.block_interval),
            ));
        }
        if self.irreversible_lag == 0 {
            return Err(ConfigError::new(
                "irreversible_lag",
                "must be at least 1: python-bitshares takes its TaPoS block from last_irreversible_block_num + 1",
            ));
        }
        if self.max_blocks_kept == 0 {
            return Err(ConfigError::new("max_blocks_kept", "must be at least 1"));
        }
        let mut names: Vec<&str> = RESERVED_NAMES.to_vec();
        check_name("registrar_name", &self.registrar_name, &names)?;
        names.push(&self.registrar_name);
        if self.registrar_key.prefix() != self.prefix {
            return Err(ConfigError::new(
                "registrar_key",
                format!(
                    "key {} does not use this chain's prefix {}",
                    self.registrar_key, self.prefix
                ),
            ));
        }
        if let Some(secret) = &self.registrar_private_key
            && secret.public_key(self.prefix) != self.registrar_key
        {
            return Err(ConfigError::new(
                "registrar_private_key",
                "is not the private key of registrar_key",
            ));
        }
        let mut total = check_balance("registrar_balance", self.registrar_balance, 0)?;
        for (i, a) in self.accounts.iter().enumerate() {
            check_name(&format!("accounts[{i}].name"), &a.name, &names)?;
            names.push(&a.name);
            for (role, key) in [
                ("owner_key", &a.owner_key),
                ("active_key", &a.active_key),
                ("memo_key", &a.memo_key),
            ] {
                if key.prefix() != self.prefix {
                    return Err(ConfigError::new(
                        format!("accounts[{i}].{role}"),
                        format!("key {key} does not use this chain's prefix {}", self.prefix),
                    ));
                }
            }
            total = check_balance(&format!("accounts[{i}].balance"), a.balance, total)?;
        }
        Ok(())
    }
}

fn check_name(path: &str, name: &str, taken: &[&str]) -> Result<(), ConfigError> {
    if let Err(e) = is_valid_name(name) {
        return Err(ConfigError::new(
            path,
            format!("{name:?} is not a valid account name: {e}"),
        ));
    }
    if taken.contains(&name) {
        return Err(ConfigError::new(
            path,
            format!("the name {name:?} is already used at genesis"),
        ));
    }
    Ok(())
}

fn check_balance(path: &str, balance: i64, total: i64) -> Result<i64, ConfigError> {
    if balance < 0 {
        return Err(ConfigError::new(path, format!("{balance} is negative")));
    }
    total
        .checked_add(balance)
        .filter(|t| *t <= MAX_SHARE_SUPPLY)
        .ok_or_else(|| {
            ConfigError::new(
                path,
                format!("genesis balances add up to more than the maximum supply {MAX_SHARE_SUPPLY}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_deterministic() {
        let c = ChainConfig::devnet(Prefix::TEST);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.chain_id, ChainConfig::devnet(Prefix::TEST).chain_id);
        assert_ne!(c.chain_id, ChainConfig::devnet(Prefix::BTS).chain_id);
        assert_eq!(c.registrar_key, ChainConfig::dev_key().public_key(Prefix::TEST));
    }

    #[test]
    fn bad_settings_name_their_path() {
        let mut c = ChainConfig::devnet(Prefix::BTS);
        c.irreversible_lag = 0;
        assert_eq!(c.validate().unwrap_err().path, "irreversible_lag");
        let mut c = ChainConfig::devnet(Prefix::BTS);
        c.registrar_name = "init0".into();
        assert_eq!(c.validate().unwrap_err().path, "registrar_name");
        let mut c = ChainConfig::devnet(Prefix::BTS);
        let key = ChainConfig::dev_key().public_key(Prefix::TEST);
        c.accounts.push(GenesisAccount {
            name: "alice".into(),
            owner_key: key,
            active_key: key,
            memo_key: key,
            balance: 1,
            lifetime_member: false,
            committee_member: false,
        });
        assert_eq!(c.validate().unwrap_err().path, "accounts[0].owner_key");
        c.accounts[0].owner_key = key.with_prefix(Prefix::BTS);
        c.accounts[0].active_key = key.with_prefix(Prefix::BTS);
        c.accounts[0].memo_key = key.with_prefix(Prefix::BTS);
        c.accounts[0].balance = MAX_SHARE_SUPPLY;
        assert_eq!(c.validate().unwrap_err().path, "accounts[0].balance");
    }
}
