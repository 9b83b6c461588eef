//! The inventory file as written: serde structs with kebab-case keys, unknown keys refused, and
//! the position of every value a later check may complain about (`Spanned`).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A string with its position in the file.
pub(crate) type Text = Spanned<String>;

/// The whole `fleet.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawInventory {
    pub(crate) project: Option<Text>,
    pub(crate) services_image: Option<Text>,
    pub(crate) geo_database: Option<Text>,
    #[serde(default, rename = "region")]
    pub(crate) regions: Vec<Spanned<RawRegion>>,
    #[serde(default, rename = "host")]
    pub(crate) hosts: Vec<Spanned<RawHost>>,
    #[serde(default, rename = "network")]
    pub(crate) networks: Vec<Spanned<RawNetwork>>,
    #[serde(default, rename = "node")]
    pub(crate) nodes: Vec<Spanned<RawNode>>,
    #[serde(default, rename = "gateway")]
    pub(crate) gateways: Vec<Spanned<RawGateway>>,
    pub(crate) faucet: Option<Spanned<RawFaucet>>,
    pub(crate) prometheus: Option<Spanned<RawPrometheus>>,
    #[serde(default, rename = "secret")]
    pub(crate) secrets: BTreeMap<String, Spanned<RawSecret>>,
}

/// `[[region]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRegion {
    pub(crate) name: Text,
    /// Country or continent codes whose clients this region serves first (geo selection).
    #[serde(default)]
    pub(crate) clients: Vec<Text>,
}

/// `[[host]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawHost {
    pub(crate) name: Text,
    pub(crate) region: Text,
    pub(crate) address: Text,
    pub(crate) ssh: Option<Text>,
    pub(crate) ssh_key: Text,
    pub(crate) host_key: Text,
    pub(crate) dir: Option<Text>,
}

/// `[[network]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawNetwork {
    pub(crate) name: Text,
    pub(crate) chain: Text,
    pub(crate) engine: Option<Text>,
    pub(crate) node_image: Text,
    pub(crate) previous_node_image: Option<Text>,
    pub(crate) paths: Option<Spanned<Vec<Text>>>,
}

/// `[[node]]`; `spec` holds the launcher's node spec keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawNode {
    pub(crate) name: Text,
    pub(crate) host: Text,
    pub(crate) network: Text,
    pub(crate) rpc_port: Option<Spanned<u16>>,
    pub(crate) p2p_port: Option<Spanned<u16>>,
    pub(crate) key: Option<Text>,
    #[serde(default)]
    pub(crate) spec: BTreeMap<String, Spanned<toml::Value>>,
}

/// `[[gateway]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawGateway {
    pub(crate) name: Text,
    pub(crate) host: Text,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) networks: Option<Vec<Text>>,
    pub(crate) tls: Option<Spanned<RawTls>>,
}

/// `[gateway.tls]`: a certificate from ACME for these names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTls {
    pub(crate) domains: Vec<Text>,
    pub(crate) contact: Option<Text>,
    pub(crate) directory: Option<Text>,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) redirect_port: Option<Spanned<u16>>,
}

/// `[faucet]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawFaucet {
    pub(crate) host: Text,
    pub(crate) network: Text,
    pub(crate) registrar: Text,
    pub(crate) registrar_key: Text,
    pub(crate) referrer_percent: Option<Spanned<u16>>,
    pub(crate) port: Option<Spanned<u16>>,
    pub(crate) database_url: Option<Text>,
}

/// `[prometheus]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPrometheus {
    pub(crate) host: Text,
    pub(crate) image: Text,
    pub(crate) port: Option<Spanned<u16>>,
    #[serde(default)]
    pub(crate) probe: Vec<RawProbeTarget>,
}

/// `[[prometheus.probe]]`: a prober (`bts-infra probe`, run outside the fleet) to scrape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawProbeTarget {
    pub(crate) address: Text,
    pub(crate) region: Text,
}

/// `[secret.NAME]`: where the operator keeps a secret (exactly one of the two).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSecret {
    pub(crate) file: Option<Text>,
    pub(crate) env: Option<Text>,
}
