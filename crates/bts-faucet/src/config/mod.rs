//! The faucet's configuration: [`FaucetConfig`], checked, built from the raw layer ([`raw`]).
//!
//! Precedence, lowest first: the TOML file (`--config faucet.toml`), then the `BTS_FAUCET_*`
//! environment variables ([`raw::ENV_VARS`]), then command-line flags; each layer replaces the
//! values it sets. Defaults fill what no layer sets. The registrar's active key is never in the
//! file: it comes from the environment variable named by `registrar.key-env` (default
//! `BTS_FAUCET_REGISTRAR_WIF`) or from the file named by `registrar.key-file`, exactly one of
//! them, and it is never logged or shown in an error.
//!
//! Errors name the key (`limits.ip-interval: ...`) and say what to write instead.

mod key;
pub mod raw;
mod validate;

pub use key::DEFAULT_KEY_ENV;
use raw::{Overrides, RawConfig};
use validate::{
    apply_registrar, database_url, parse_database_url, parse_limits, parse_listen, parse_nodes, parse_path_prefix,
    parse_prefix, parse_proxy, parse_timeouts, required,
};

use bts_protocol::{ChainId, NamePolicy, Prefix, PrivateKey};
use ipnet::IpNet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// The default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://bts-faucet.db";

/// The default listen address (the gateway or a reverse proxy sits in front).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Why a configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a key of the wrong type or an unknown key.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message, with line, column and key.
        message: String,
    },
    /// A value is missing or wrong.
    #[error("{key}: {message}")]
    Invalid {
        /// The key, e.g. `limits.ip-interval`.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
}

pub(crate) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// What to do with a referrer that does not exist or is not a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownReferrer {
    /// Register anyway with the registrar as referrer, as the proposal says; the reply names it.
    UseRegistrar,
    /// Refuse with "Unknown referrer: x" (as tapin did).
    Reject,
}

/// The header a trusted proxy puts the client's address in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, our gateway).
    XForwardedFor,
    /// `X-Real-IP: client` (nginx's `real_ip` style).
    XRealIp,
    /// `CF-Connecting-IP: client` (Cloudflare).
    CfConnectingIp,
}

impl ClientIpHeader {
    /// The header name, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::XRealIp => "x-real-ip",
            ClientIpHeader::CfConnectingIp => "cf-connecting-ip",
        }
    }
}

/// Registration limits. `None` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One account per client address (an IPv6 /64 counts as one) in this interval.
    pub ip_interval: Option<Duration>,
    /// At most this many accounts per client address in 24 hours.
    pub ip_per_day: Option<u32>,
    /// At most this many accounts in all in one hour.
    pub global_per_hour: Option<u32>,
}

impl Limits {
    /// No limits (a devnet, a test).
    pub const OFF: Limits = Limits {
        ip_interval: None,
        ip_per_day: None,
        global_per_hour: None,
    };
}

impl Default for Limits {
    /// 30 minutes per address (the Rails faucet), 20 a day per address (its Rack::Attack ban
    /// threshold), 500 an hour in all.
    fn default() -> Self {
        Limits {
            ip_interval: Some(Duration::from_secs(30 * 60)),
            ip_per_day: Some(20),
            global_per_hour: Some(500),
        }
    }
}

/// Whose word on the client's address is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Peers in these networks are proxies: their client-address header is read.
    pub trusted: Vec<IpNet>,
    /// Which header.
    pub header: ClientIpHeader,
}

/// How long things may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One read call to a node, including connecting.
    pub node: Duration,
    /// One `broadcast_transaction_synchronous`, which waits for the next block.
    pub broadcast: Duration,
    /// A signed registration expires this long after the head block time; until then it may
    /// still be included, so a row is only given up after it.
    pub transaction_expiration: Duration,
    /// How often unsettled registrations are checked against the chain.
    pub reconcile_interval: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            node: Duration::from_secs(5),
            broadcast: Duration::from_secs(30),
            transaction_expiration: Duration::from_secs(120),
            reconcile_interval: Duration::from_secs(60),
        }
    }
}

/// A checked faucet configuration: everything [`crate::run`] needs. `Debug` shows neither the
/// key nor the database password.
#[derive(Clone)]
pub struct FaucetConfig {
    /// Where the binary listens ([`crate::run`] takes a bound listener instead).
    pub listen: SocketAddr,
    /// A path prefix the API is also served under, e.g. `/onboarding` (no trailing slash).
    pub path_prefix: Option<String>,
    /// `sqlite://FILE` or `postgres://USER:PASS@HOST/DB`.
    pub database_url: String,
    /// The largest request body read; larger ones get HTTP 413.
    pub max_body_bytes: usize,
    /// The chain the nodes must follow.
    pub chain_id: ChainId,
    /// Its address prefix; request keys must carry it.
    pub prefix: Prefix,
    /// Node URLs (`http://` or `ws://`), tried in order, failing over on errors.
    pub nodes: Vec<String>,
    /// The registrar account's name: a lifetime member that pays for every account.
    pub registrar: String,
    /// The registrar's active key. `Debug` does not show it.
    pub registrar_key: PrivateKey,
    /// The referrer's share of referral rewards, in hundredths of a percent (7000 = 70%).
    pub referrer_percent: u16,
    /// What to do with an unknown or non-member referrer.
    pub unknown_referrer: UnknownReferrer,
    /// Warn (at start, on the stats page) when the registrar's balance pays for fewer
    /// registrations than this; 0 turns the warning off.
    pub low_balance_registrations: u64,
    /// Which names are registered.
    pub names: NamePolicy,
    /// Registration limits.
    pub limits: Limits,
    /// Trusted reverse proxies.
    pub proxy: ProxyConfig,
    /// Timeouts.
    pub timeouts: Timeouts,
}

impl std::fmt::Debug for FaucetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaucetConfig")
            .field("listen", &self.listen)
            .field("path_prefix", &self.path_prefix)
            .field("database_url", &crate::store::redact_url(&self.database_url))
            .field("chain_id", &self.chain_id)
            .field("prefix", &self.prefix)
            .field("nodes", &self.nodes)
            .field("registrar", &self.registrar)
            .field("registrar_key", &self.registrar_key)
            .field("referrer_percent", &self.referrer_percent)
            .field("unknown_referrer", &self.unknown_referrer)
            .field("low_balance_registrations", &self.low_balance_registrations)
            .field("names", &self.names)
            .field("limits", &self.limits)
            .field("proxy", &self.proxy)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl FaucetConfig {
    /// Checks what [`FaucetConfig::new`] and direct field changes cannot: the path prefix (as
    /// the file's `path-prefix` is checked). [`crate::Faucet::start`] calls it.
    pub fn check(&self) -> Result<(), ConfigError> {
        let normalised = parse_path_prefix(self.path_prefix.clone())?;
        if normalised != self.path_prefix {
            return Err(invalid(
                "path-prefix",
                format!("{:?}: write it as {normalised:?}", self.path_prefix),
            ));
        }
        Ok(())
    }

    /// A configuration with the defaults for everything but what identifies the chain, the
    /// registrar and the database: what `bts-infra up` builds for a devnet
    /// (`FaucetConfig::new("faucet", dev_key, chain_id, prefix, node_urls, "sqlite://...")`).
    /// Limits are the production defaults; set [`Limits::OFF`] for a playground.
    pub fn new(
        registrar: impl Into<String>,
        registrar_key: PrivateKey,
        chain_id: ChainId,
        prefix: Prefix,
        nodes: Vec<String>,
        database_url: impl Into<String>,
    ) -> FaucetConfig {
        FaucetConfig {
            listen: DEFAULT_LISTEN.parse().expect("a valid default address"),
            path_prefix: None,
            database_url: database_url.into(),
            max_body_bytes: 16 * 1024,
            chain_id,
            prefix,
            nodes,
            registrar: registrar.into(),
            registrar_key,
            referrer_percent: 7000,
            unknown_referrer: UnknownReferrer::UseRegistrar,
            low_balance_registrations: 1000,
            names: NamePolicy::default(),
            limits: Limits::default(),
            proxy: ProxyConfig {
                trusted: Vec::new(),
                header: ClientIpHeader::XForwardedFor,
            },
            timeouts: Timeouts::default(),
        }
    }

    /// Loads the configuration the way `bts-infra faucet` does: the file (if any), then the
    /// process environment, then `flags`.
    pub fn load(file: Option<&Path>, flags: Overrides) -> Result<FaucetConfig, ConfigError> {
        let mut raw = match file {
            Some(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    file: shown.clone(),
                    source,
                })?;
                RawConfig::from_toml(&text).map_err(|e| ConfigError::Parse {
                    file: shown,
                    message: raw::describe_toml_error(&text, &e),
                })?
            }
            None => RawConfig::default(),
        };
        let env = |k: &str| std::env::var(k).ok();
        raw.apply(Overrides::from_env(env));
        raw.apply(flags);
        FaucetConfig::from_raw(raw, env)
    }

    /// Checks a raw configuration. `env` looks up environment variables (for the key).
    pub fn from_raw(raw: RawConfig, env: impl Fn(&str) -> Option<String>) -> Result<FaucetConfig, ConfigError> {
        let chain_id = required(
            raw.chain.id,
            "chain.id",
            "the chain id the nodes must report (64 hex digits)",
        )?;
        let chain_id: ChainId = chain_id
            .trim()
            .parse()
            .map_err(|e| invalid("chain.id", format!("{e}: write the 64 hex digits of the chain id")))?;
        let prefix = parse_prefix(raw.chain.prefix, chain_id)?;
        let registrar = required(
            raw.registrar.name.clone(),
            "registrar.name",
            "the paying account's name",
        )?;
        bts_protocol::name::is_valid_name(&registrar)
            .map_err(|e| invalid("registrar.name", format!("{registrar:?} is not an account name: {e}")))?;
        let mut config = FaucetConfig::new(
            registrar,
            key::load(&raw.registrar, &env)?,
            chain_id,
            prefix,
            parse_nodes(raw.chain.nodes)?,
            parse_database_url(database_url(raw.database_url, raw.database_url_file.as_deref())?)?,
        );
        config.listen = parse_listen(raw.listen)?;
        config.path_prefix = parse_path_prefix(raw.path_prefix)?;
        if let Some(n) = raw.max_body_bytes {
            config.max_body_bytes = n.max(1024);
        }
        apply_registrar(&mut config, &raw.registrar)?;
        config.names.allow_premium = raw.names.allow_premium.unwrap_or(false);
        config.limits = parse_limits(&raw.limits);
        config.proxy = parse_proxy(raw.proxy)?;
        config.timeouts = parse_timeouts(&raw.timeouts)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests;
