//! The inventory (`fleet.toml`): regions, hosts, networks, and what runs where, as one validated
//! type. [`Inventory::parse`] reads the text (the caller reads the file) and either returns the
//! inventory with its warnings or every error found, each naming the file, line and key.
//!
//! Secrets are only referenced here (`[secret.NAME]`: a file on the operator's machine or an
//! environment variable); their values never enter an [`Inventory`], a rendered file or a finding.

pub(crate) mod build;
mod places;
pub(crate) mod raw;
mod workloads;

use crate::finding::Finding;
use crate::spec::Secrets;
use bts_node::spec::{Network as Chain, Roles, Setting};
use bts_protocol::ChainId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A validated inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The file it was read from (for messages).
    pub file: PathBuf,
    /// The compose project name on every host (`bts`).
    pub project: String,
    /// The image of the gateway, faucet (and devnet) services.
    pub services_image: String,
    /// A MaxMind-format country database on the operator's machine; gateways then pick nodes by
    /// the client's region (`[[region]] clients`).
    pub geo_database: Option<PathBuf>,
    /// In the order written.
    pub regions: Vec<Region>,
    /// In the order written.
    pub hosts: Vec<Host>,
    /// In the order written.
    pub networks: Vec<Network>,
    /// In the order written.
    pub nodes: Vec<Node>,
    /// In the order written.
    pub gateways: Vec<Gateway>,
    /// The faucet, if the fleet runs one.
    pub faucet: Option<Faucet>,
    /// Prometheus, if the fleet runs one.
    pub prometheus: Option<Prometheus>,
    /// Where each secret is kept, by name.
    pub secrets: BTreeMap<String, SecretSource>,
}

/// `[[region]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// A short name (`us`, `asia`).
    pub name: String,
    /// Country (`US`) or continent (`NA`) codes whose clients this region serves first.
    pub clients: Vec<String>,
}

/// `[[host]]`: a server with a Docker engine, reached over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// A short name.
    pub name: String,
    /// Its region's name.
    pub region: String,
    /// Where the other hosts reach its published ports (IP address or DNS name).
    pub address: String,
    /// How the operator's machine logs in.
    pub ssh: SshTarget,
    /// The private key for that login, on the operator's machine.
    pub ssh_key: PathBuf,
    /// The host's public key, `TYPE BASE64` as in known_hosts: the only key accepted.
    pub host_key: String,
    /// The directory for the compose project, configs and secrets (relative: to the login's home).
    pub dir: String,
}

/// `user@host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The login.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// The port (22).
    pub port: u16,
}

/// What runs a network's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// witness_node: the only production engine.
    WitnessNode,
    /// bts-infra's devnet (`BTS_NODE_ENGINE=devnet`): tests and demos, never a public chain.
    Devnet,
}

impl Engine {
    /// `witness-node` or `devnet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::WitnessNode => "witness-node",
            Engine::Devnet => "devnet",
        }
    }
}

/// `[[network]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// A short name (`mainnet`, `testnet`).
    pub name: String,
    /// Which witness_node build its image holds.
    pub chain: Chain,
    /// What runs its nodes.
    pub engine: Engine,
    /// The chain id its nodes must report: the public chain's, or the devnet's for its prefix.
    pub chain_id: ChainId,
    /// The node image (`…/bts-infra-node:mainnet-7.0.2-0.1.0`).
    pub node_image: String,
    /// The image before the last `fleet upgrade --image` (what `fleet rollback` goes back to).
    pub previous_node_image: Option<String>,
    /// The gateway paths that reach it.
    pub paths: Vec<String>,
}

/// `[[node]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A short name, unique in the fleet: also the container's service name.
    pub name: String,
    /// Its host's name.
    pub host: String,
    /// Its network's name.
    pub network: String,
    /// What it does.
    pub roles: Roles,
    /// The host port its public RPC is published on (API nodes only).
    pub rpc_port: Option<u16>,
    /// The host port its P2P endpoint is published on (seeds only).
    pub p2p_port: Option<u16>,
    /// The secret holding its block-signing key file (producers only).
    pub key: Option<String>,
    /// The launcher settings the operator gave (`spec`), as text, in `Setting` order.
    pub settings: Vec<(Setting, String)>,
}

/// `[[gateway]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// A short name, also its service name.
    pub name: String,
    /// Its host's name.
    pub host: String,
    /// The host port of its plain HTTP/WebSocket listener.
    pub port: u16,
    /// The networks it serves (default: all).
    pub networks: Vec<String>,
    /// An HTTPS/WSS listener with a certificate from ACME.
    pub tls: Option<Tls>,
}

/// `[gateway.tls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The names on the certificate.
    pub domains: Vec<String>,
    /// `mailto:` contact for the ACME account.
    pub contact: Option<String>,
    /// The ACME directory (Let's Encrypt when absent).
    pub directory: Option<String>,
    /// The HTTPS host port (443).
    pub port: u16,
    /// The HTTP host port that redirects to HTTPS and answers HTTP-01 challenges (80).
    pub redirect_port: u16,
}

/// `[faucet]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faucet {
    /// Its host's name.
    pub host: String,
    /// The network it registers accounts on.
    pub network: String,
    /// The registrar account's name.
    pub registrar: String,
    /// The secret holding the registrar's active key (WIF).
    pub registrar_key: String,
    /// The referrer's share of referral rewards, in hundredths of a percent (7000 = 70 %).
    pub referrer_percent: u16,
    /// The host port it is published on (gateways route `/onboarding` to it).
    pub port: u16,
    /// The secret holding a PostgreSQL URL; `None`: SQLite in a volume on its host.
    pub database_url: Option<String>,
}

/// `[prometheus]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prometheus {
    /// Its host's name.
    pub host: String,
    /// Its image.
    pub image: String,
    /// The host port (9090).
    pub port: u16,
    /// Probers to scrape (they run outside the fleet, one per region wallets come from).
    pub probes: Vec<ProbeTarget>,
}

/// `[[prometheus.probe]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// `HOST:PORT` of its listener.
    pub address: String,
    /// The `region` of its probe.toml.
    pub region: String,
}

/// Where the operator keeps a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file on the operator's machine.
    File(PathBuf),
    /// An environment variable of `bts-infra fleet`.
    Env(String),
}

impl Inventory {
    /// Parses and checks `text`, read from `file`; the secrets it references are read through
    /// `secrets` to check them (a producer's key file, the registrar's key). On success: the
    /// inventory and its warnings. On failure: every error (and warning) found.
    pub fn parse(file: &Path, text: &str, secrets: &dyn Secrets) -> Result<(Inventory, Vec<Finding>), Vec<Finding>> {
        build::build(file, text, secrets)
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The network called `name`.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The region of host `name`.
    pub fn region_of(&self, host: &str) -> Option<&str> {
        self.host(host).map(|h| h.region.as_str())
    }

    /// The API nodes of `network`, in the order written.
    pub fn api_nodes<'a>(&'a self, network: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes.iter().filter(move |n| n.network == network && n.roles.api)
    }

    /// The seed nodes of `network`, producers first (a devnet-engine follower follows the first).
    pub fn seed_nodes(&self, network: &str) -> Vec<&Node> {
        let mut seeds: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.network == network && n.roles.seed)
            .collect();
        seeds.sort_by_key(|n| !n.roles.producer);
        seeds
    }
}

/// `text` (an inventory) with network `network`'s `node-image` set to `image` and its
/// `previous-node-image` to the image it replaces, everything else byte for byte as it was:
/// `fleet upgrade --image` records both where the operator keeps the fleet's truth, and `fleet
/// rollback` swaps them back. Unchanged when `image` is already the node image.
pub fn set_node_image(text: &str, network: &str, image: &str) -> Result<String, String> {
    let raw: raw::RawInventory =
        toml::from_str(text).map_err(|e| format!("the inventory does not parse: {}", e.message()))?;
    let entry = raw
        .networks
        .iter()
        .find(|n| n.get_ref().name.get_ref() == network)
        .ok_or_else(|| format!("no network {network:?} in the inventory"))?
        .get_ref();
    let current = entry.node_image.get_ref().trim();
    if current == image {
        return Ok(text.to_owned());
    }
    let literal = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut edits = vec![(entry.node_image.span(), literal(image))];
    match &entry.previous_node_image {
        Some(previous) => edits.push((previous.span(), literal(current))),
        None => {
            // A new key on the line after node-image's (a [[network]] is a table of lines).
            // With the file's own line ending.
            let end = entry.node_image.span().end;
            let mut line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
            let newline = if text[..line_end].ends_with('\r') {
                line_end -= 1;
                "\r\n"
            } else {
                "\n"
            };
            edits.push((
                line_end..line_end,
                format!("{newline}previous-node-image = {}", literal(current)),
            ));
        }
    }
    // From the end of the file, so that earlier spans stay valid.
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_owned();
    for (span, replacement) in edits {
        out.replace_range(span, &replacement);
    }
    Ok(out)
}

/// Network `network`'s `previous-node-image` in `text` (an inventory), if it has one.
pub fn previous_node_image(text: &str, network: &str) -> Result<Option<String>, String> {
    let raw: raw::RawInventory =
        toml::from_str(text).map_err(|e| format!("the inventory does not parse: {}", e.message()))?;
    let entry = raw
        .networks
        .iter()
        .find(|n| n.get_ref().name.get_ref() == network)
        .ok_or_else(|| format!("no network {network:?} in the inventory"))?;
    Ok(entry
        .get_ref()
        .previous_node_image
        .as_ref()
        .map(|t| t.get_ref().trim().to_owned()))
}
