//! The unvalidated spec as each source gives it, and how the sources are layered.
//!
//! Each source becomes one [`RawSpec`]: the TOML spec file ([`RawSpec::from_toml`]), the
//! `BTS_NODE_*` environment variables ([`RawSpec::from_env`]) and the command-line flags
//! ([`RawSpec::set`] with [`Origin::Flag`]). [`RawSpec::merge`] lays one over another: a value set
//! in the upper layer replaces the lower one's whole (lists are replaced, not appended). Every
//! value remembers its [`Origin`], so a refusal names the flag, variable or key to change.

use super::error::SpecError;
use super::setting::{ENV_PREFIX, Origin, Setting, suggest};
use super::values::{EsUrl, HistoryLevel, Mode, Network, RpcEndpoint, SeedNode, split_list};
use bts_protocol::{AccountId, WitnessId};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Environment variables with the `BTS_NODE_` prefix that belong to the launcher itself (read by
/// `bts-infra node run`/`ready`), not to the spec.
pub const LAUNCHER_ENV_VARS: [&str; 7] = [
    "BTS_NODE_SPEC",
    "BTS_NODE_WITNESS_NODE",
    "BTS_NODE_GRACE_PERIOD",
    "BTS_NODE_ES_WAIT",
    "BTS_NODE_ALLOW_ROOT",
    "BTS_NODE_ENGINE",
    "BTS_NODE_DEVNET_BLOCK_INTERVAL",
];

/// A node spec before validation: every setting optional, each with where it came from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSpec {
    /// `network`.
    pub network: Option<Network>,
    /// `mode`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub mode: Option<Vec<Mode>>,
    /// `history`.
    pub history: Option<HistoryLevel>,
    /// `track-account`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub track_account: Option<Vec<AccountId>>,
    /// `witness-id`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub witness_id: Option<Vec<WitnessId>>,
    /// `key-file`.
    pub key_file: Option<PathBuf>,
    /// `p2p-endpoint`.
    pub p2p_endpoint: Option<SocketAddr>,
    /// `public-address`.
    pub public_address: Option<SocketAddr>,
    /// `seed-node`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub seed_node: Option<Vec<SeedNode>>,
    /// `builtin-seeds`.
    pub builtin_seeds: Option<bool>,
    /// `rpc-endpoint`.
    pub rpc_endpoint: Option<RpcEndpoint>,
    /// `es-url`.
    pub es_url: Option<EsUrl>,
    /// `es-index-prefix`.
    pub es_index_prefix: Option<String>,
    /// `api-limit`: limit name (with or without `api-limit-`) to value.
    pub api_limit: Option<BTreeMap<String, u32>>,
    /// `plugins`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub plugins: Option<Vec<String>>,
    /// `data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `extra-config`.
    pub extra_config: Option<PathBuf>,
    /// `replay`.
    pub replay: Option<bool>,
    #[serde(skip)]
    origins: BTreeMap<Setting, Origin>,
}

impl RawSpec {
    /// Parses a TOML spec file (kebab-case keys, unknown keys refused). `path` is only for messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<RawSpec, SpecError> {
        let mut raw: RawSpec = toml::from_str(text).map_err(|e| toml_error(text, path, &e))?;
        raw.mark(Origin::File(path.to_owned()));
        Ok(raw)
    }

    /// Reads the `BTS_NODE_*` variables out of `vars` (the process environment, passed in). Others are ignored,
    /// and so are empty values (an unset variable in a compose file arrives empty). An unknown
    /// `BTS_NODE_*` name is refused: it is most likely a misspelling that would otherwise be lost.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<RawSpec, SpecError> {
        let mut raw = RawSpec::default();
        for (var, value) in vars {
            if !var.starts_with(ENV_PREFIX) || LAUNCHER_ENV_VARS.contains(&var.as_str()) || value.trim().is_empty() {
                continue;
            }
            let Some(setting) = Setting::from_env_var(&var) else {
                return Err(unknown_env_var(&var));
            };
            raw.set(setting, &value, Origin::Env)?;
        }
        Ok(raw)
    }

    /// Sets one setting from its text form, as a flag or variable gives it. Lists are separated by
    /// commas or spaces; `api-limit` is `NAME=N[,NAME=N...]`; booleans are true/false.
    pub fn set(&mut self, setting: Setting, text: &str, origin: Origin) -> Result<(), SpecError> {
        self.set_text(setting, text).map_err(|e| {
            SpecError::new(
                format!("{}: {e}", origin.describe(setting)),
                format!("fix the value of {}", origin.describe(setting)),
            )
        })?;
        self.origins.insert(setting, origin);
        Ok(())
    }

    fn set_text(&mut self, setting: Setting, text: &str) -> Result<(), String> {
        let text = text.trim();
        match setting {
            Setting::Network => self.network = Some(text.parse()?),
            Setting::Mode => self.mode = Some(parse_list(text)?),
            Setting::History => self.history = Some(text.parse()?),
            Setting::TrackAccount => self.track_account = Some(parse_list(text)?),
            Setting::WitnessId => self.witness_id = Some(parse_list(text)?),
            Setting::KeyFile => self.key_file = Some(PathBuf::from(text)),
            Setting::P2pEndpoint => self.p2p_endpoint = Some(parse_addr(text, "0.0.0.0:1776")?),
            Setting::PublicAddress => self.public_address = Some(parse_addr(text, "203.0.113.7:1776")?),
            Setting::SeedNode => self.seed_node = Some(parse_list(text)?),
            Setting::BuiltinSeeds => self.builtin_seeds = Some(parse_bool(text)?),
            Setting::RpcEndpoint => self.rpc_endpoint = Some(text.parse()?),
            Setting::EsUrl => self.es_url = Some(text.parse()?),
            Setting::EsIndexPrefix => self.es_index_prefix = Some(text.to_owned()),
            Setting::ApiLimit => self.api_limit = Some(parse_limits(text)?),
            Setting::Plugins => self.plugins = Some(split_list(text).map(str::to_owned).collect()),
            Setting::DataDir => self.data_dir = Some(PathBuf::from(text)),
            Setting::ExtraConfig => self.extra_config = Some(PathBuf::from(text)),
            Setting::Replay => self.replay = Some(parse_bool(text)?),
        }
        Ok(())
    }

    /// Lays `over` on top of `self`: each setting `over` has replaces this one's.
    pub fn merge(mut self, over: RawSpec) -> RawSpec {
        let RawSpec {
            network,
            mode,
            history,
            track_account,
            witness_id,
            key_file,
            p2p_endpoint,
            public_address,
            seed_node,
            builtin_seeds,
            rpc_endpoint,
            es_url,
            es_index_prefix,
            api_limit,
            plugins,
            data_dir,
            extra_config,
            replay,
            origins,
        } = over;
        pick(&mut self.network, network);
        pick(&mut self.mode, mode);
        pick(&mut self.history, history);
        pick(&mut self.track_account, track_account);
        pick(&mut self.witness_id, witness_id);
        pick(&mut self.key_file, key_file);
        pick(&mut self.p2p_endpoint, p2p_endpoint);
        pick(&mut self.public_address, public_address);
        pick(&mut self.seed_node, seed_node);
        pick(&mut self.builtin_seeds, builtin_seeds);
        pick(&mut self.rpc_endpoint, rpc_endpoint);
        pick(&mut self.es_url, es_url);
        pick(&mut self.es_index_prefix, es_index_prefix);
        pick(&mut self.api_limit, api_limit);
        pick(&mut self.plugins, plugins);
        pick(&mut self.data_dir, data_dir);
        pick(&mut self.extra_config, extra_config);
        pick(&mut self.replay, replay);
        // `over` has an origin exactly for the settings it sets.
        self.origins.extend(origins);
        self
    }

    /// Whether `setting` has a value.
    pub fn is_set(&self, setting: Setting) -> bool {
        match setting {
            Setting::Network => self.network.is_some(),
            Setting::Mode => self.mode.is_some(),
            Setting::History => self.history.is_some(),
            Setting::TrackAccount => self.track_account.is_some(),
            Setting::WitnessId => self.witness_id.is_some(),
            Setting::KeyFile => self.key_file.is_some(),
            Setting::P2pEndpoint => self.p2p_endpoint.is_some(),
            Setting::PublicAddress => self.public_address.is_some(),
            Setting::SeedNode => self.seed_node.is_some(),
            Setting::BuiltinSeeds => self.builtin_seeds.is_some(),
            Setting::RpcEndpoint => self.rpc_endpoint.is_some(),
            Setting::EsUrl => self.es_url.is_some(),
            Setting::EsIndexPrefix => self.es_index_prefix.is_some(),
            Setting::ApiLimit => self.api_limit.is_some(),
            Setting::Plugins => self.plugins.is_some(),
            Setting::DataDir => self.data_dir.is_some(),
            Setting::ExtraConfig => self.extra_config.is_some(),
            Setting::Replay => self.replay.is_some(),
        }
    }

    /// Records `origin` for every setting that has a value.
    pub fn mark(&mut self, origin: Origin) {
        for setting in Setting::ALL {
            if self.is_set(setting) {
                self.origins.insert(setting, origin.clone());
            }
        }
    }

    /// How to refer to `setting` as it was given (`--mode`, `BTS_NODE_MODE`, `mode in FILE`), or
    /// all the ways to give it when it was not.
    pub fn describe(&self, setting: Setting) -> String {
        match self.origins.get(&setting) {
            Some(origin) => origin.describe(setting),
            None => setting.all_ways(),
        }
    }
}

fn pick<T>(base: &mut Option<T>, over: Option<T>) {
    if over.is_some() {
        *base = over;
    }
}

fn unknown_env_var(var: &str) -> SpecError {
    let known: Vec<String> = Setting::ALL.iter().map(|s| s.env_var()).collect();
    let candidates = known.iter().map(String::as_str).chain(LAUNCHER_ENV_VARS);
    let fix = match suggest(var, candidates) {
        Some(near) => format!("did you mean {near}? Rename or unset {var}"),
        None => format!("unset {var}; the node settings are {}", known.join(", ")),
    };
    SpecError::new(format!("{var} is not a node setting"), fix)
}

fn parse_list<T: FromStr<Err: Display>>(text: &str) -> Result<Vec<T>, String> {
    split_list(text)
        .map(|p| p.parse::<T>().map_err(|e| e.to_string()))
        .collect()
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean: write true or false")),
    }
}

fn parse_addr(text: &str, example: &str) -> Result<SocketAddr, String> {
    super::values::parse_ip_port(text, example)
}

fn parse_limits(text: &str) -> Result<BTreeMap<String, u32>, String> {
    split_list(text)
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not NAME=N, e.g. get-account-history=250"))?;
            let value = value
                .parse::<u32>()
                .map_err(|_| format!("{pair:?}: the limit must be a whole number from 0 to 4294967295"))?;
            Ok((name.to_owned(), value))
        })
        .collect()
}

/// A TOML value that may be one string (split like an environment variable) or an array.
fn one_or_many<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err: Display>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => split_list(&s).map(str::to_owned).collect(),
        OneOrMany::Many(v) => v,
    };
    items
        .iter()
        .map(|s| s.parse::<T>().map_err(serde::de::Error::custom))
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
}

/// A TOML error with the line it is on and, for an unknown key, the nearest known one.
fn toml_error(text: &str, path: &Path, e: &toml::de::Error) -> SpecError {
    let at = match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let number = text[..start].matches('\n').count() + 1;
            let line = text.lines().nth(number - 1).unwrap_or_default().trim();
            format!(" line {number} ({line})")
        }
        None => String::new(),
    };
    let message = e.message();
    let names = Setting::ALL.iter().map(|s| s.name());
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let fix = match unknown {
        Some(key) => match suggest(key, names) {
            Some(near) => format!("did you mean {near}?"),
            None => format!("the keys are {}", names_list()),
        },
        None => "fix the value on that line".to_owned(),
    };
    let problem = match unknown {
        Some(key) => format!("{key:?} is not a node setting"),
        None => message.to_owned(),
    };
    SpecError::new(format!("spec file {}{at}: {problem}", path.display()), fix)
}

fn names_list() -> String {
    Setting::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}
