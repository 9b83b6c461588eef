//! The settings of a node spec, the three names each one has (flag, environment variable, key in
//! the spec file), and where a given value came from, so that every message names what to change.

use std::fmt;
use std::path::PathBuf;

/// One setting of a node spec. Its name is the same in all three sources: `--NAME` on the command
/// line, `NAME` in the TOML spec file, `BTS_NODE_NAME` (upper case, `_` for `-`) in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Setting {
    /// `network`: mainnet or testnet.
    Network,
    /// `mode`: producer, seed, api, full (combinable).
    Mode,
    /// `history`: none, low, full, es.
    History,
    /// `track-account`: restrict history to these accounts.
    TrackAccount,
    /// `witness-id`: the witnesses this producer signs for.
    WitnessId,
    /// `key-file`: the producer's signing keys, as witness_node's `private-key-file` reads them.
    KeyFile,
    /// `p2p-endpoint`: where a seed listens for peers.
    P2pEndpoint,
    /// `public-address`: the address a seed advertises to peers.
    PublicAddress,
    /// `seed-node`: peers to connect to.
    SeedNode,
    /// `builtin-seeds`: use the seed list compiled into witness_node.
    BuiltinSeeds,
    /// `rpc-endpoint`: where JSON-RPC is served, or `off`.
    RpcEndpoint,
    /// `es-url`: the Elasticsearch URL for history es.
    EsUrl,
    /// `es-index-prefix`: the Elasticsearch index prefix.
    EsIndexPrefix,
    /// `api-limit`: `NAME=N` overrides of the node's `api-limit-*` options.
    ApiLimit,
    /// `plugins`: an explicit plugin list instead of the one the modes imply.
    Plugins,
    /// `data-dir`: witness_node's data directory.
    DataDir,
    /// `extra-config`: a config.ini fragment with further witness_node options.
    ExtraConfig,
    /// `replay`: start with `--replay-blockchain`.
    Replay,
}

impl Setting {
    /// Every setting, in the order they are documented.
    pub const ALL: [Setting; 18] = [
        Setting::Network,
        Setting::Mode,
        Setting::History,
        Setting::TrackAccount,
        Setting::WitnessId,
        Setting::KeyFile,
        Setting::P2pEndpoint,
        Setting::PublicAddress,
        Setting::SeedNode,
        Setting::BuiltinSeeds,
        Setting::RpcEndpoint,
        Setting::EsUrl,
        Setting::EsIndexPrefix,
        Setting::ApiLimit,
        Setting::Plugins,
        Setting::DataDir,
        Setting::ExtraConfig,
        Setting::Replay,
    ];

    /// The setting's name: the spec file key and, with `--`, the flag.
    pub const fn name(self) -> &'static str {
        match self {
            Setting::Network => "network",
            Setting::Mode => "mode",
            Setting::History => "history",
            Setting::TrackAccount => "track-account",
            Setting::WitnessId => "witness-id",
            Setting::KeyFile => "key-file",
            Setting::P2pEndpoint => "p2p-endpoint",
            Setting::PublicAddress => "public-address",
            Setting::SeedNode => "seed-node",
            Setting::BuiltinSeeds => "builtin-seeds",
            Setting::RpcEndpoint => "rpc-endpoint",
            Setting::EsUrl => "es-url",
            Setting::EsIndexPrefix => "es-index-prefix",
            Setting::ApiLimit => "api-limit",
            Setting::Plugins => "plugins",
            Setting::DataDir => "data-dir",
            Setting::ExtraConfig => "extra-config",
            Setting::Replay => "replay",
        }
    }

    /// The command-line flag, e.g. `--witness-id`.
    pub fn flag(self) -> String {
        format!("--{}", self.name())
    }

    /// The environment variable, e.g. `BTS_NODE_WITNESS_ID`.
    pub fn env_var(self) -> String {
        format!("{ENV_PREFIX}{}", self.name().to_uppercase().replace('-', "_"))
    }

    /// The setting whose environment variable is `var`, if any.
    pub fn from_env_var(var: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.env_var() == var)
    }

    /// All three ways to set it, for messages about a missing value.
    pub fn all_ways(self) -> String {
        format!(
            "{} (or {}, or {} in the spec file)",
            self.flag(),
            self.env_var(),
            self.name()
        )
    }
}

/// The prefix of the environment variables the launcher reads.
pub const ENV_PREFIX: &str = "BTS_NODE_";

/// Where a value came from. The sources are layered: spec file < environment < flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The TOML spec file at this path.
    File(PathBuf),
    /// A `BTS_NODE_*` environment variable.
    Env,
    /// A command-line flag.
    Flag,
}

impl Origin {
    /// How to refer to `setting` as it was given here: `--mode`, `BTS_NODE_MODE` or `mode in node.toml`.
    pub fn describe(&self, setting: Setting) -> String {
        match self {
            Origin::Flag => setting.flag(),
            Origin::Env => setting.env_var(),
            Origin::File(path) => format!("{} in {}", setting.name(), path.display()),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The closest of `candidates` to `word` if it is close enough to be a likely misspelling.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_the_three_sources() {
        assert_eq!(Setting::WitnessId.flag(), "--witness-id");
        assert_eq!(Setting::WitnessId.env_var(), "BTS_NODE_WITNESS_ID");
        assert_eq!(
            Setting::from_env_var("BTS_NODE_ES_INDEX_PREFIX"),
            Some(Setting::EsIndexPrefix)
        );
        assert_eq!(Setting::from_env_var("BTS_NODE_NOPE"), None);
    }

    #[test]
    fn suggestions_catch_misspellings_only() {
        let names = ["partial-operations", "max-ops-per-account", "history"];
        assert_eq!(suggest("partial-operation", names), Some("partial-operations"));
        assert_eq!(suggest("histroy", names), Some("history"));
        assert_eq!(suggest("rpc", names), None);
    }
}
