//! The node spec: what a node is for (network, modes, history, ...) as one validated type.
//!
//! # Sources and precedence
//!
//! A spec comes from up to three sources, each a [`RawSpec`]: a TOML spec file (`--spec FILE` or
//! `BTS_NODE_SPEC`), the `BTS_NODE_*` environment variables (for containers), and command-line
//! flags. They are layered **spec file < environment < flags**: a setting given by a higher layer
//! replaces the lower layer's value whole (a list is replaced, not extended). Every setting has one
//! name in all three: `--track-account`, `track-account`, `BTS_NODE_TRACK_ACCOUNT`.
//!
//! [`NodeSpec::build`] validates the merged layers. It refuses what witness_node would refuse at
//! start-up, abort on, or silently get wrong, with a [`SpecError`] that names the setting the way
//! it was given and says what to change. It reads nothing itself: the key file and the extra
//! config come through [`Files`], so this module stays pure.

mod error;
mod raw;
mod setting;
mod validate;
mod values;

pub use error::SpecError;
pub use raw::{LAUNCHER_ENV_VARS, RawSpec};
pub use setting::{ENV_PREFIX, Origin, Setting, suggest};
pub use values::{EsUrl, HistoryLevel, Mode, Network, RpcEndpoint, SeedNode, Sizing};

use crate::extra::ExtraConfig;
use crate::plugins::Plugin;
use bts_protocol::{AccountId, PublicKey, WitnessId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Reads the files a spec names (the key file, the extra config, an api-access file). The IO edge
/// implements it with the file system; tests with a map. The error is a short reason ("No such
/// file or directory").
pub trait Files {
    /// The text of the file at `path`.
    fn read(&self, path: &Path) -> Result<String, String>;
}

/// A validated node spec: everything needed to render witness_node's config.ini and command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeSpec {
    /// The network (decides chain id, key prefix and default ports).
    pub network: Network,
    /// The node's roles.
    pub roles: Roles,
    /// The account history it keeps.
    pub history: History,
    /// History restricted to these accounts (empty: all accounts).
    pub track_accounts: Vec<AccountId>,
    /// Block production, if the node is a producer.
    pub producer: Option<Producer>,
    /// Peer-to-peer networking.
    pub p2p: P2p,
    /// Where JSON-RPC is served; `None`: no RPC.
    pub rpc: Option<SocketAddr>,
    /// `api-limit-*` overrides, by full option name.
    pub api_limits: BTreeMap<String, u32>,
    /// The plugins witness_node loads.
    pub plugins: BTreeSet<Plugin>,
    /// witness_node's data directory (it reads `config.ini` from there).
    pub data_dir: PathBuf,
    /// Further options from the extra config.
    pub extra: ExtraConfig,
    /// Start with `--replay-blockchain` (rebuild the object database from the stored blocks).
    pub replay: bool,
}

/// What a node does; any combination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// Signs blocks for its witnesses.
    pub producer: bool,
    /// Accepts incoming peers at a stable address.
    pub seed: bool,
    /// Serves JSON-RPC to clients.
    pub api: bool,
}

/// The account history a node keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "level")]
pub enum History {
    /// None.
    None,
    /// Per account the last 100 operations, and every operation of the latest 30000 blocks up to
    /// 1000 in all (witness_node 7.0's `min-blocks-to-keep` rule; see `render`).
    Low,
    /// Every operation, in the node's memory.
    Full,
    /// Every operation, in Elasticsearch.
    Es {
        /// The Elasticsearch URL, ending in `/`.
        url: EsUrl,
        /// The index prefix.
        index_prefix: String,
    },
}

impl History {
    /// The level without its parameters.
    pub fn level(&self) -> HistoryLevel {
        match self {
            History::None => HistoryLevel::None,
            History::Low => HistoryLevel::Low,
            History::Full => HistoryLevel::Full,
            History::Es { .. } => HistoryLevel::Es,
        }
    }
}

/// Block production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Producer {
    /// The witnesses this node signs for.
    pub witness_ids: Vec<WitnessId>,
    /// The key file the node reads (`private-key-file`); the keys never enter config.ini.
    pub key_file: PathBuf,
    /// The public keys in the key file (checked against their private keys).
    pub public_keys: Vec<PublicKey>,
}

/// Peer-to-peer networking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct P2p {
    /// Where a seed listens; `None`: the node accepts no incoming peers and opens no P2P socket.
    pub listen: Option<SocketAddr>,
    /// The address a seed advertises to peers (`p2p-inbound-endpoint`).
    pub public_address: Option<SocketAddr>,
    /// Peers to connect to, in addition to the built-in list (if used).
    pub seed_nodes: Vec<SeedNode>,
    /// Whether witness_node's compiled-in seed list is used.
    pub builtin_seeds: bool,
}

impl NodeSpec {
    /// Validates merged layers; reads the key file, extra config and api-access file through `files`.
    pub fn build(raw: &RawSpec, files: &dyn Files) -> Result<NodeSpec, SpecError> {
        validate::build(raw, files)
    }

    /// A one-line description: `mainnet producer+seed, history full`.
    pub fn summary(&self) -> String {
        let roles: Vec<&str> = [
            (self.roles.producer, "producer"),
            (self.roles.seed, "seed"),
            (self.roles.api, "api"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        format!("{} {}, history {}", self.network, roles.join("+"), self.history.level())
    }
}
