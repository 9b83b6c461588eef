//! Shared by bts-fleet's tests: secrets held in memory and the example inventory.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_fleet::{Finding, Inventory, SecretSource, Secrets};
use bts_protocol::{Prefix, PrivateKey};
use std::collections::BTreeMap;
use std::path::Path;

/// The public development key (sha256("nathan")): fine in tests, never on a real network.
pub const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";

/// The example inventory: two regions, mainnet and testnet, gateways and the faucet.
pub const TWO_REGIONS: &str = include_str!("../../../../deploy/examples/fleet.toml");

/// Secret values by where they are kept: `file:PATH` or `env:VARIABLE`.
pub struct MemSecrets(pub BTreeMap<String, String>);

impl MemSecrets {
    /// The secrets the example inventory names.
    pub fn example() -> MemSecrets {
        let key = PrivateKey::from_wif(WIF).unwrap();
        let (public, testnet) = (key.public_key(Prefix::BTS), key.public_key(Prefix::TEST));
        MemSecrets(BTreeMap::from([
            (
                "file:secrets/mainnet-witness.keys".to_owned(),
                format!("[\"{public}\",\"{WIF}\"]\n"),
            ),
            (
                "file:secrets/testnet-witness.keys".to_owned(),
                format!("[\"{testnet}\",\"{WIF}\"]\n"),
            ),
            ("env:FLEET_REGISTRAR_WIF".to_owned(), format!("{WIF}\n")),
        ]))
    }
}

impl Secrets for MemSecrets {
    fn read(&self, _name: &str, source: &SecretSource) -> Result<String, String> {
        let (key, missing) = match source {
            SecretSource::File(path) => (format!("file:{}", path.display()), "No such file or directory"),
            SecretSource::Env(var) => (format!("env:{var}"), "the variable is not set"),
        };
        self.0.get(&key).cloned().ok_or_else(|| missing.to_owned())
    }
}

/// Parses `text` as `fleet.toml` with the example's secrets.
pub fn parse(text: &str) -> Result<(Inventory, Vec<Finding>), Vec<Finding>> {
    Inventory::parse(Path::new("fleet.toml"), text, &MemSecrets::example())
}

/// Findings as `fleet check` prints them, one block each.
pub fn shown(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{f}\n")).collect()
}
