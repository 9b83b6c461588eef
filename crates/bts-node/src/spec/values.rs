//! The value types of a node spec, each parsed from one string the same way for a flag, an
//! environment variable and the spec file, with a message that says what a valid value looks like.

use bts_protocol::{ChainId, Prefix};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// The public network a node joins. Mainnet and testnet need different witness_node builds
/// (prefix, genesis and hardfork times are compiled in), so a spec always names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// BitShares mainnet (prefix BTS).
    Mainnet,
    /// The public BitShares testnet (prefix TEST).
    Testnet,
}

impl Network {
    /// The chain id a node of this network reports.
    pub const fn chain_id(self) -> ChainId {
        match self {
            Network::Mainnet => ChainId::MAINNET,
            Network::Testnet => ChainId::TESTNET,
        }
    }

    /// The public key prefix.
    pub const fn prefix(self) -> Prefix {
        match self {
            Network::Mainnet => Prefix::BTS,
            Network::Testnet => Prefix::TEST,
        }
    }

    /// The conventional RPC port (the upstream images' config: 8090 mainnet, 8091 testnet).
    pub const fn rpc_port(self) -> u16 {
        match self {
            Network::Mainnet => 8090,
            Network::Testnet => 8091,
        }
    }

    /// The conventional P2P port (1776 mainnet, 9091 testnet).
    pub const fn p2p_port(self) -> u16 {
        match self {
            Network::Mainnet => 1776,
            Network::Testnet => 9091,
        }
    }

    /// The default Elasticsearch index prefix. The testnet's differs from the node's default
    /// (`bitshares-`) so that a mainnet and a testnet node can share one cluster.
    pub const fn es_index_prefix(self) -> &'static str {
        match self {
            Network::Mainnet => "bitshares-",
            Network::Testnet => "bitshares-testnet-",
        }
    }

    /// `mainnet` or `testnet`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mainnet" => Ok(Network::Mainnet),
            "testnet" => Ok(Network::Testnet),
            _ => Err(format!("{s:?} is not a network: write mainnet or testnet")),
        }
    }
}

/// One role of a node; a node has any combination of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Block producer: signs blocks for its witnesses.
    Producer,
    /// Seed: accepts incoming P2P connections at a stable address.
    Seed,
    /// API node: serves JSON-RPC to wallets and the gateway.
    Api,
    /// Shorthand for producer + seed with history full.
    Full,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "producer" => Ok(Mode::Producer),
            "seed" => Ok(Mode::Seed),
            "api" => Ok(Mode::Api),
            "full" => Ok(Mode::Full),
            _ => Err(format!(
                "{s:?} is not a mode: write producer, seed, api or full (combine them: producer,seed)"
            )),
        }
    }
}

/// How much account history a node keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryLevel {
    /// No account history plugin.
    None,
    /// account_history with `partial-operations = true`, `max-ops-per-account = 100`.
    Low,
    /// account_history keeping every operation.
    Full,
    /// The elasticsearch plugin: history is stored in and served from Elasticsearch.
    Es,
}

/// What a mainnet node needs at one history level: the official figures in docs/node.md's
/// table (memory as published; the ES level's memory covers the node and Elasticsearch). They
/// are old and on the low side for memory; a fleet uses them as requests, not limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    /// Memory, GiB.
    pub memory_gib: u32,
    /// Disk for the data directory, GiB.
    pub disk_gib: u32,
}

impl HistoryLevel {
    /// The official sizing of a mainnet node at this level.
    pub const fn sizing(self) -> Sizing {
        let (memory_gib, disk_gib) = match self {
            HistoryLevel::None => (4, 120),
            HistoryLevel::Low => (16, 150),
            HistoryLevel::Full => (64, 640),
            HistoryLevel::Es => (32, 1000),
        };
        Sizing { memory_gib, disk_gib }
    }
}

impl FromStr for HistoryLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(HistoryLevel::None),
            "low" => Ok(HistoryLevel::Low),
            "full" => Ok(HistoryLevel::Full),
            "es" | "elasticsearch" => Ok(HistoryLevel::Es),
            _ => Err(format!("{s:?} is not a history level: write none, low, full or es")),
        }
    }
}

impl fmt::Display for HistoryLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HistoryLevel::None => "none",
            HistoryLevel::Low => "low",
            HistoryLevel::Full => "full",
            HistoryLevel::Es => "es",
        })
    }
}

/// The RPC endpoint: an IP address and port, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub enum RpcEndpoint {
    /// No RPC server.
    Off,
    /// Serve WebSocket and HTTP JSON-RPC here.
    On(SocketAddr),
}

impl FromStr for RpcEndpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "off" | "none" => Ok(RpcEndpoint::Off),
            "" => Err("the RPC endpoint is empty: write IP:PORT, or off to serve no RPC".to_owned()),
            other => parse_ip_port(other, "127.0.0.1:8090").map(RpcEndpoint::On),
        }
    }
}

impl TryFrom<String> for RpcEndpoint {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// Parses `IP:PORT`: witness_node's endpoints (fc's `ip::endpoint`) take an IPv4 address, not a
/// host name or an IPv6 address, and the launcher needs a fixed port.
pub(super) fn parse_ip_port(s: &str, example: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s.trim().parse().map_err(|_| {
        format!("{s:?} is not IP:PORT (e.g. {example}): witness_node takes an IPv4 address here, not a host name")
    })?;
    check_endpoint(addr)?;
    Ok(addr)
}

/// Checks an endpoint witness_node will parse: IPv4 (fc has no IPv6 endpoints) and a fixed port.
pub(super) fn check_endpoint(addr: SocketAddr) -> Result<(), String> {
    if addr.is_ipv6() {
        return Err(format!("{addr} is IPv6, but witness_node takes IPv4 endpoints only"));
    }
    if addr.port() == 0 {
        return Err(format!("{addr} has port 0: witness_node needs a fixed port"));
    }
    Ok(())
}

/// A peer to connect to: `host:port`, host a name or an IP address (IPv6 in brackets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeedNode(String);

impl SeedNode {
    /// The peer as written: `host:port`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SeedNode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a peer address: write HOST:PORT, e.g. seed.example.org:1776");
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
        // A host name or an IPv4 address: witness_node resolves peers to IPv4 endpoints only.
        let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
        if !port_ok || !host_ok {
            return Err(bad());
        }
        Ok(SeedNode(s.to_owned()))
    }
}

impl TryFrom<String> for SeedNode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<SeedNode> for String {
    fn from(s: SeedNode) -> String {
        s.0
    }
}

/// An Elasticsearch URL, `http(s)://host[:port][/path]/`, always ending in `/` (the node appends
/// paths such as `_nodes` to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EsUrl(String);

impl EsUrl {
    /// The URL, ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EsUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        // Checked first, so that no message repeats a password.
        if s.contains('@') {
            return Err(format!(
                "the Elasticsearch URL must not hold credentials: give them as elasticsearch-basic-auth = USER:PASSWORD in --{}",
                super::Setting::ExtraConfig.name()
            ));
        }
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .ok_or_else(|| format!("{s:?} is not an Elasticsearch URL: write http://HOST:9200/"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains(char::is_whitespace) {
            return Err(format!("{s:?} has no host: write http://HOST:9200/"));
        }
        let url = if s.ends_with('/') {
            s.to_owned()
        } else {
            format!("{s}/")
        };
        Ok(EsUrl(url))
    }
}

impl TryFrom<String> for EsUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<EsUrl> for String {
    fn from(u: EsUrl) -> String {
        u.0
    }
}

/// Checks an Elasticsearch index prefix: ES index names are lower case, without `\ / * ? " < > | , #`
/// or spaces, and may not start with `-`, `_` or `+`.
pub(super) fn check_index_prefix(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && !s.starts_with(['-', '_', '+'])
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid Elasticsearch index prefix: use lower-case letters, digits, - _ . (e.g. bitshares-)"
        ))
    }
}

/// Splits a list given in one string (an environment variable, a flag): commas and/or spaces.
pub(super) fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_and_explains_bad_ones() {
        assert_eq!("Testnet".parse::<Network>(), Ok(Network::Testnet));
        assert_eq!("off".parse::<RpcEndpoint>(), Ok(RpcEndpoint::Off));
        assert!(
            "localhost:8090"
                .parse::<RpcEndpoint>()
                .unwrap_err()
                .contains("not a host name")
        );
        assert!("127.0.0.1:0".parse::<RpcEndpoint>().unwrap_err().contains("port 0"));
        assert_eq!(
            "seed.example.org:1776".parse::<SeedNode>().map(|s| s.0),
            Ok("seed.example.org:1776".to_owned())
        );
        assert!("[::1]:1776".parse::<SeedNode>().is_err());
        assert!("[::1]:8090".parse::<RpcEndpoint>().unwrap_err().contains("IPv4"));
        assert!("seed.example.org".parse::<SeedNode>().is_err());
        assert!("http://seed:1776".parse::<SeedNode>().is_err());
        assert_eq!(
            "http://es:9200".parse::<EsUrl>().map(|u| u.0),
            Ok("http://es:9200/".to_owned())
        );
        assert!("es:9200".parse::<EsUrl>().is_err());
        assert!(
            "http://u:p@es:9200/"
                .parse::<EsUrl>()
                .unwrap_err()
                .contains("credentials")
        );
        assert!(check_index_prefix("BitShares-").is_err());
        assert_eq!(
            split_list("producer, seed api").collect::<Vec<_>>(),
            ["producer", "seed", "api"]
        );
    }
}
