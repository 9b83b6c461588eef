//! The first configuration layer: what the operator wrote, as serde reads it (TOML file, then
//! environment variables, then command-line flags), before anything is checked.
//!
//! Keys are kebab-case, unknown keys are errors (a typo must not silently fall back to a
//! default), durations are human (`"30m"`, `"5s"`). Every field is optional here; the validated
//! layer ([`super::FaucetConfig`]) says which ones are required and why.

use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

/// A configuration file (`faucet.toml`), field for field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// `listen`: the address the binary binds.
    pub listen: Option<String>,
    /// `path-prefix`: where a reverse proxy mounts the faucet, e.g. `/onboarding`.
    pub path_prefix: Option<String>,
    /// `database-url`: `sqlite://FILE` or `postgres://...`.
    pub database_url: Option<String>,
    /// `database-url-file`: a file holding the database URL (a mounted secret: a PostgreSQL URL
    /// carries its password). Exclusive with `database-url`.
    pub database_url_file: Option<PathBuf>,
    /// `max-body-bytes`: the largest request body read.
    pub max_body_bytes: Option<usize>,
    /// `[chain]`.
    #[serde(default)]
    pub chain: RawChain,
    /// `[registrar]`.
    #[serde(default)]
    pub registrar: RawRegistrar,
    /// `[names]`.
    #[serde(default)]
    pub names: RawNames,
    /// `[limits]`.
    #[serde(default)]
    pub limits: RawLimits,
    /// `[proxy]`.
    #[serde(default)]
    pub proxy: RawProxy,
    /// `[timeouts]`.
    #[serde(default)]
    pub timeouts: RawTimeouts,
}

/// `[chain]`: which chain, through which nodes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawChain {
    /// `chain.id`: the expected chain id (hex).
    pub id: Option<String>,
    /// `chain.prefix`: the expected address prefix (`BTS`, `TEST`, ...).
    pub prefix: Option<String>,
    /// `chain.nodes`: node URLs (`http://` or `ws://`), tried in order.
    pub nodes: Option<Vec<String>>,
}

/// `[registrar]`: the paying account and its key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRegistrar {
    /// `registrar.name`.
    pub name: Option<String>,
    /// `registrar.key-env`: the environment variable holding the active key (WIF).
    pub key_env: Option<String>,
    /// `registrar.key-file`: a file holding the active key (WIF).
    pub key_file: Option<PathBuf>,
    /// `registrar.referrer-percent`: the referrer's share, in hundredths of a percent.
    pub referrer_percent: Option<u16>,
    /// `registrar.unknown-referrer`: `"registrar"` or `"reject"`.
    pub unknown_referrer: Option<String>,
    /// `registrar.low-balance-registrations`: warn below this many registrations left (0: never).
    pub low_balance_registrations: Option<u64>,
}

/// `[names]`: which names are registered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawNames {
    /// `names.allow-premium`.
    pub allow_premium: Option<bool>,
}

/// `[limits]`: how many accounts, from where, how often.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLimits {
    /// `limits.ip-interval`: one account per client address in this interval.
    #[serde(default, deserialize_with = "human_duration")]
    pub ip_interval: Option<Duration>,
    /// `limits.ip-per-day`: accounts per client address in 24 hours.
    pub ip_per_day: Option<u32>,
    /// `limits.global-per-hour`: accounts in all in one hour.
    pub global_per_hour: Option<u32>,
}

/// `[proxy]`: who may tell us the client's address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawProxy {
    /// `proxy.trusted`: networks of reverse proxies whose client-address header is believed.
    pub trusted: Option<Vec<String>>,
    /// `proxy.client-ip-header`: `x-forwarded-for`, `x-real-ip` or `cf-connecting-ip`.
    pub client_ip_header: Option<String>,
}

/// `[timeouts]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTimeouts {
    /// `timeouts.node`: one read call to a node.
    #[serde(default, deserialize_with = "human_duration")]
    pub node: Option<Duration>,
    /// `timeouts.broadcast`: one `broadcast_transaction_synchronous` (waits for a block).
    #[serde(default, deserialize_with = "human_duration")]
    pub broadcast: Option<Duration>,
    /// `timeouts.transaction-expiration`: how long a signed registration stays valid.
    #[serde(default, deserialize_with = "human_duration")]
    pub transaction_expiration: Option<Duration>,
    /// `timeouts.reconcile-interval`: how often unsettled registrations are checked.
    #[serde(default, deserialize_with = "human_duration")]
    pub reconcile_interval: Option<Duration>,
}

/// Reads `"30m"`, `"5s"`, `"1h 30m"` (humantime), or a bare number of seconds.
fn human_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Secs(u64),
        Text(String),
    }
    match Wire::deserialize(d)? {
        Wire::Secs(s) => Ok(Some(Duration::from_secs(s))),
        Wire::Text(t) => parse_duration(&t).map(Some).map_err(serde::de::Error::custom),
    }
}

/// Parses a human duration, with a message that says how to write one.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{text:?} is not a duration ({e}): write e.g. \"30m\""))
}

/// Values that override the file: from environment variables ([`Overrides::from_env`]) or
/// command-line flags (built by the caller). `None` leaves the value below in place.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `listen`.
    pub listen: Option<String>,
    /// `path-prefix`.
    pub path_prefix: Option<String>,
    /// `database-url`.
    pub database_url: Option<String>,
    /// `database-url-file`.
    pub database_url_file: Option<PathBuf>,
    /// `chain.nodes` (replaces the whole list).
    pub nodes: Option<Vec<String>>,
    /// `chain.id`.
    pub chain_id: Option<String>,
    /// `chain.prefix`.
    pub prefix: Option<String>,
    /// `registrar.name`.
    pub registrar: Option<String>,
    /// `registrar.key-file`.
    pub registrar_key_file: Option<PathBuf>,
}

/// The environment variables [`Overrides::from_env`] reads, with the key each one sets.
pub const ENV_VARS: [(&str, &str); 9] = [
    ("BTS_FAUCET_LISTEN", "listen"),
    ("BTS_FAUCET_PATH_PREFIX", "path-prefix"),
    ("BTS_FAUCET_DATABASE_URL", "database-url"),
    ("BTS_FAUCET_DATABASE_URL_FILE", "database-url-file"),
    ("BTS_FAUCET_NODES", "chain.nodes (comma-separated)"),
    ("BTS_FAUCET_CHAIN_ID", "chain.id"),
    ("BTS_FAUCET_PREFIX", "chain.prefix"),
    ("BTS_FAUCET_REGISTRAR", "registrar.name"),
    ("BTS_FAUCET_REGISTRAR_KEY_FILE", "registrar.key-file"),
];

impl Overrides {
    /// The overrides set by `BTS_FAUCET_*` variables ([`ENV_VARS`]); `env` looks one up (pass
    /// `|k| std::env::var(k).ok()`). Empty values count as unset.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Overrides {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        Overrides {
            listen: get("BTS_FAUCET_LISTEN"),
            path_prefix: get("BTS_FAUCET_PATH_PREFIX"),
            database_url: get("BTS_FAUCET_DATABASE_URL"),
            database_url_file: get("BTS_FAUCET_DATABASE_URL_FILE").map(PathBuf::from),
            nodes: get("BTS_FAUCET_NODES").map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            chain_id: get("BTS_FAUCET_CHAIN_ID"),
            prefix: get("BTS_FAUCET_PREFIX"),
            registrar: get("BTS_FAUCET_REGISTRAR"),
            registrar_key_file: get("BTS_FAUCET_REGISTRAR_KEY_FILE").map(PathBuf::from),
        }
    }
}

impl RawConfig {
    /// Parses a TOML file's text. The error names the line and the key.
    pub fn from_toml(text: &str) -> Result<RawConfig, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies overrides on top of this configuration.
    pub fn apply(&mut self, o: Overrides) {
        fn set<T>(slot: &mut Option<T>, value: Option<T>) {
            if value.is_some() {
                *slot = value;
            }
        }
        set(&mut self.listen, o.listen);
        set(&mut self.path_prefix, o.path_prefix);
        set(&mut self.database_url, o.database_url);
        set(&mut self.database_url_file, o.database_url_file);
        set(&mut self.chain.nodes, o.nodes);
        set(&mut self.chain.id, o.chain_id);
        set(&mut self.chain.prefix, o.prefix);
        set(&mut self.registrar.name, o.registrar);
        set(&mut self.registrar.key_file, o.registrar_key_file);
    }
}

/// A TOML error as "KEY.PATH (line L): message", without the quoted source line that toml
/// prints: someone who pastes the registrar key into the file must not see it echoed into a log.
/// Anything shaped like a private key (WIF) in the message is blanked too.
pub fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let at = e.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line_no = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..].lines().next().unwrap_or("");
        // The key of the line (what precedes `=`), inside the last `[table]` above it.
        let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"'));
        let table = before
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(['[', ']', ' ']));
        match (table, key) {
            (Some(t), Some(k)) if !k.is_empty() => format!("{t}.{k} (line {line_no}): "),
            (None, Some(k)) if !k.is_empty() => format!("{k} (line {line_no}): "),
            _ => format!("line {line_no}: "),
        }
    });
    redact_wifs(&format!("{}{}", at.unwrap_or_default(), e.message()))
}

/// Replaces every run of 50 or more base58 characters starting with `5`, `K` or `L` (the
/// shapes of a WIF) with `<redacted>`.
fn redact_wifs(text: &str) -> String {
    const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 50 && run.starts_with(['5', 'K', 'L']) {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if BASE58.contains(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kebab_case_and_human_durations() {
        let raw = RawConfig::from_toml(
            r#"
            path-prefix = "/onboarding"
            [limits]
            ip-interval = "30m"
            ip-per-day = 5
            [timeouts]
            node = 3
            "#,
        )
        .unwrap();
        assert_eq!(raw.limits.ip_interval, Some(Duration::from_secs(1800)));
        assert_eq!(raw.timeouts.node, Some(Duration::from_secs(3)));
        assert_eq!(raw.path_prefix.as_deref(), Some("/onboarding"));
    }

    #[test]
    fn unknown_keys_and_bad_durations_name_the_key() {
        let e = RawConfig::from_toml("[limits]\nip-intervall = \"5m\"\n").unwrap_err();
        assert!(e.to_string().contains("ip-intervall"), "{e}");
        let e = RawConfig::from_toml("[timeouts]\nnode = \"soon\"\n").unwrap_err();
        assert!(e.to_string().contains("node") && e.to_string().contains("30m"), "{e}");
    }

    #[test]
    fn a_key_pasted_into_the_file_is_not_echoed() {
        let wif = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
        for text in [
            format!("[registrar]\nname = \"faucet\"\nkey = \"{wif}\"\n"),
            format!("[registrar]\nreferrer-percent = \"{wif}\"\n"),
        ] {
            let e = RawConfig::from_toml(&text).unwrap_err();
            let shown = describe_toml_error(&text, &e);
            assert!(!shown.contains(wif), "{shown}");
            assert!(shown.starts_with("registrar."), "names the key: {shown}");
        }
        let text = "[registrar]\nkey = 1\n";
        let shown = describe_toml_error(text, &RawConfig::from_toml(text).unwrap_err());
        assert!(
            shown.starts_with("registrar.key (line 2): unknown field `key`"),
            "{shown}"
        );
        let text = "listen = \"x\"\n[timeouts]\nnode = \"soon\"\n";
        let shown = describe_toml_error(text, &RawConfig::from_toml(text).unwrap_err());
        assert!(shown.starts_with("timeouts.node (line 3): "), "{shown}");
    }

    #[test]
    fn flags_override_env_override_file() {
        let mut raw = RawConfig::from_toml("listen = \"127.0.0.1:1\"\n[chain]\nnodes = [\"http://a\"]\n").unwrap();
        let env = Overrides::from_env(|k| match k {
            "BTS_FAUCET_LISTEN" => Some("127.0.0.1:2".into()),
            "BTS_FAUCET_NODES" => Some("http://b, http://c,".into()),
            "BTS_FAUCET_PREFIX" => Some("  ".into()),
            _ => None,
        });
        raw.apply(env);
        assert_eq!(raw.listen.as_deref(), Some("127.0.0.1:2"));
        assert_eq!(raw.chain.nodes.clone().unwrap(), ["http://b", "http://c"]);
        assert_eq!(raw.chain.prefix, None);
        raw.apply(Overrides {
            listen: Some("127.0.0.1:3".into()),
            ..Overrides::default()
        });
        assert_eq!(raw.listen.as_deref(), Some("127.0.0.1:3"));
    }
}
