//! Shared by bts-node's integration tests: an in-memory [`Files`], key files, and specs built from
//! `(setting, text)` pairs the way flags give them.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_node::spec::{Files, NodeSpec, Origin, RawSpec, Setting, SpecError};
use bts_protocol::{Prefix, PrivateKey};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The public development key pair (sha256("nathan")): fine in tests, never on a real network.
pub const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";

/// Where the test key files live.
pub const MAINNET_KEYS: &str = "/run/secrets/witness.keys";
pub const TESTNET_KEYS: &str = "/run/secrets/testnet-witness.keys";

/// A key file line for `prefix`.
pub fn key_pair_line(prefix: Prefix) -> String {
    let key = PrivateKey::from_wif(WIF).unwrap();
    format!("[\"{}\",\"{WIF}\"]\n", key.public_key(prefix))
}

/// Files held in memory.
#[derive(Default)]
pub struct MemFiles(pub BTreeMap<PathBuf, String>);

impl MemFiles {
    /// The two key files, and nothing else.
    pub fn with_keys() -> MemFiles {
        MemFiles::default()
            .with(MAINNET_KEYS, &key_pair_line(Prefix::BTS))
            .with(TESTNET_KEYS, &key_pair_line(Prefix::TEST))
    }

    pub fn with(mut self, path: &str, text: &str) -> MemFiles {
        self.0.insert(PathBuf::from(path), text.to_owned());
        self
    }
}

impl Files for MemFiles {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| "No such file or directory".to_owned())
    }
}

/// A raw spec from `(setting, text)` pairs, all with `origin`.
pub fn raw(settings: &[(Setting, &str)], origin: &Origin) -> Result<RawSpec, SpecError> {
    let mut raw = RawSpec::default();
    for (setting, text) in settings {
        raw.set(*setting, text, origin.clone())?;
    }
    Ok(raw)
}

/// Builds a spec from flags.
pub fn spec(settings: &[(Setting, &str)], files: &MemFiles) -> Result<NodeSpec, SpecError> {
    NodeSpec::build(&raw(settings, &Origin::Flag)?, files)
}

/// An error as the CLI prints it.
pub fn shown(e: &SpecError) -> String {
    format!("error: {}\n  hint: {}", e.problem, e.fix)
}
