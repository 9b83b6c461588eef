//! The gateway's configuration: the validated [`GatewayConfig`] the gateway runs from, read from a
//! TOML file (`bts-infra gateway --config gateway.toml`).
//!
//! Two layers: `raw` mirrors the file (kebab-case keys, unknown keys refused, durations as text
//! such as `"1.5s"`), and `build` turns it into the types below, checking every value. An error
//! names the key path (`network[0].backend[1].url`) and says what to write instead.
//!
//! Precedence, lowest first: the file, then the environment, then command-line flags. Both later
//! layers are [`Overrides`]: [`Overrides::from_env`] reads `BTS_GATEWAY_LISTEN`, the CLI fills
//! the same struct from its flags, and [`GatewayConfig::with_overrides`] applies each in turn.
//! The admin token is never in the file: `[admin] token-env` names the variable that holds it.
//!
//! Every section is optional except the networks: a file with one `[[network]]` and one
//! `[[network.backend]]` is a working gateway on `0.0.0.0:8080`.

mod build;
mod formats;
mod raw;
mod route;
mod tls;

use bts_protocol::ChainId;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

pub use formats::backend_urls;
pub use route::route;

/// A configuration that cannot be used, with where and why.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not TOML of the expected shape (a syntax error, a wrong type, an unknown key).
    #[error("{origin}:{line}:{column}: {key}{message}", key = key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default())]
    Syntax {
        /// The file name (or `<text>`).
        origin: String,
        /// The key path, when it can be told.
        key: Option<String>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A value that is well-formed TOML but not acceptable.
    #[error("{origin}: {key}: {message}")]
    Invalid {
        /// The file name, `<text>`, `environment` or `flags`.
        origin: String,
        /// The key path, e.g. `network[0].backend[1].url`.
        key: String,
        /// What is wrong and what to write instead.
        message: String,
    },
}

impl ConfigError {
    /// The key path the error is about, if known.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { key, .. } => key.as_deref(),
            ConfigError::Invalid { key, .. } => Some(key),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// `[server]`: where to listen and whom to trust for client addresses.
    pub server: ServerSettings,
    /// `[limits]`: protection of the gateway and its nodes.
    pub limits: Limits,
    /// `[cache]`: answers that cannot change.
    pub cache: CacheSettings,
    /// `[admin]`: who may use the admin endpoints.
    pub admin: AdminSettings,
    /// `[health]`: how backends are checked.
    pub health: HealthSettings,
    /// `[[network]]`: at least one.
    pub networks: Vec<NetworkConfig>,
    /// `[tls]`: HTTPS and WSS listeners and their certificates.
    pub tls: Option<TlsConfig>,
    /// `[[http-route]]`: path prefixes forwarded to plain HTTP services (the faucet).
    pub http_routes: Vec<HttpRoute>,
}

/// `[tls]`: the TLS listener, the HTTP listener that redirects to it, and the certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The HTTPS + WSS listener, on the same routes as `server.listen`. Default `0.0.0.0:443`.
    pub listen: SocketAddr,
    /// A plain HTTP listener that redirects to HTTPS and answers ACME HTTP-01 challenges
    /// (`0.0.0.0:80`); `None`: none.
    pub redirect_listen: Option<SocketAddr>,
    /// The HTTPS port clients use, for redirects (when a container's 8443 is published as 443);
    /// `None`: the port of `listen`.
    pub public_port: Option<u16>,
    /// `Strict-Transport-Security` on TLS answers: the max-age; `None`: not sent.
    pub hsts: Option<Duration>,
    /// Whether HSTS covers subdomains.
    pub hsts_include_subdomains: bool,
    /// The certificates.
    pub certificates: bts_tls::TlsSettings,
}

/// `[[http-route]]`: requests under a path prefix go to a plain HTTP service, with the client's
/// address in `X-Forwarded-For` (and `X-Forwarded-Proto`, `X-Forwarded-Host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    /// The prefix (`/onboarding`), matched on whole path segments; longer prefixes win.
    pub path_prefix: String,
    /// Host header values (lowercase, no port) it applies to; empty: any host.
    pub hosts: Vec<String>,
    /// The service's base URL (`http://127.0.0.1:8081`).
    pub upstream: String,
    /// Whether the prefix is removed before forwarding. Default false (the faucet knows its
    /// prefix: `path-prefix` in its configuration).
    pub strip_prefix: bool,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The plain HTTP + WebSocket listener. Default `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// Peers whose `X-Forwarded-For` / `X-Real-IP` are believed. Default `127.0.0.1/32`, `::1/128`.
    pub trusted_proxies: Vec<IpNet>,
    /// The header that carries the client's address to the nodes (witness_node's
    /// `proxy-forwarded-for-header`); `None` when set to `""`. Default `X-Forwarded-For`.
    pub forward_client_ip_header: Option<String>,
    /// Connections the kernel queues for each listener before the gateway accepts them (the
    /// `listen(2)` backlog, capped by `net.core.somaxconn`). Default 4096: a burst of wallets
    /// reconnecting after a restart must not have its SYNs dropped (128 dropped some of 700).
    pub listen_backlog: u32,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Sustained HTTP requests (and WebSocket calls) per second per client address. Default 50.
    pub requests_per_second_per_ip: u32,
    /// Requests a client may make at once above the rate. Default 100.
    pub burst: u32,
    /// Open WebSockets per client address. Default 32.
    pub ws_connections_per_ip: u32,
    /// Open WebSockets in all. Default 20000.
    pub ws_connections_total: u32,
    /// Largest request body or WebSocket message, in bytes. Default 1 MiB.
    pub max_message_bytes: usize,
    /// Longest time for one request, retries included. Default 10 s.
    pub request_timeout: Duration,
    /// Longest time to receive a request's headers (against slowloris). Default 5 s.
    pub header_read_timeout: Duration,
    /// Longest time to receive a request's body once its headers are in. Default 10 s.
    pub body_read_timeout: Duration,
    /// Most requests in one HTTP batch (a JSON array). Default 100.
    pub max_batch_length: usize,
}

/// `[cache]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// Whether answers that cannot change are cached. Default true.
    pub enabled: bool,
    /// Most cached answers. Default 10000.
    pub max_entries: usize,
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// The environment variable holding the bearer token for the admin endpoints; they are
    /// otherwise open to localhost only. Default `BTS_GATEWAY_ADMIN_TOKEN`.
    pub token_env: String,
}

impl AdminSettings {
    /// The token, read from the environment now; `None` when unset or empty.
    pub fn token(&self) -> Option<String> {
        std::env::var(&self.token_env).ok().filter(|t| !t.is_empty())
    }
}

/// `[health]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSettings {
    /// Time between checks of a backend. Default 1.5 s.
    pub interval: Duration,
    /// Longest wait for one check's answer. Default 2 s.
    pub timeout: Duration,
    /// A backend whose head is more than this many blocks behind the pool's corroborated head is
    /// out. Default 3.
    pub max_lag_blocks: u32,
    /// Consecutive errors or timeouts before a backend is out. Default 2.
    pub fail_threshold: u32,
    /// Consecutive good checks before a backend that was out is back. Default 2.
    pub success_threshold: u32,
    /// The chain counts as stalled when every head is older than this (by the wall clock).
    /// Default (`None`): the larger of 30 s and 10 block intervals.
    pub stall_after: Option<Duration>,
}

/// How a network picks a backend for new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// In turn, healthy backends only, each as often as its weight.
    RoundRobin,
    /// Power of two choices on peak-EWMA latency times requests in flight.
    Latency,
    /// The client's region preference (from its address), then latency within a region.
    Geo,
}

impl Selection {
    /// The name used in the file: `round-robin`, `latency`, `geo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Selection::RoundRobin => "round-robin",
            Selection::Latency => "latency",
            Selection::Geo => "geo",
        }
    }
}

/// One `[[network]]`: a chain, the requests that reach it, and its backends.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// A short name for logs, metrics and the status page (`mainnet`).
    pub name: String,
    /// The chain every backend must serve.
    pub chain_id: ChainId,
    /// Host header values (lowercase, no port) that reach this network; empty: any host.
    pub hosts: Vec<String>,
    /// Path prefixes that reach this network; the longest matching prefix wins. Default `["/"]`.
    pub paths: Vec<String>,
    /// How backends are picked. Default latency.
    pub selection: Selection,
    /// JSON-RPC methods refused on this network.
    pub deny_methods: Vec<String>,
    /// The client-location data for `selection = "geo"`.
    pub geo: Option<GeoConfig>,
    /// At least one.
    pub backends: Vec<BackendConfig>,
}

/// `[network.geo]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoConfig {
    /// A MaxMind-format country database (GeoLite2-Country or compatible).
    pub database: PathBuf,
    /// Country (`US`) or continent (`AS`) code, or `*`, to regions in order of preference. A
    /// country code is tried before a continent code (`AS` and `NA` are both).
    pub prefer: BTreeMap<String, Vec<String>>,
}

/// One `[[network.backend]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendConfig {
    /// The URL as configured (`ws://10.0.0.1:8090`).
    pub url: String,
    /// The WebSocket URL (`ws://` or `wss://`).
    pub ws_url: String,
    /// The HTTP URL of the same endpoint (`http://` or `https://`).
    pub http_url: String,
    /// The region name used by geo selection. Default `default`.
    pub region: String,
    /// Relative share of round-robin traffic, 1..=100. Default 1.
    pub weight: u32,
    /// Whether the node keeps HTTP connections open between requests, so the gateway may reuse
    /// them (`http-keep-alive`). Default false: witness_node closes each after one answer.
    pub http_keep_alive: bool,
}

/// Later layers of configuration: the environment, then flags. `None` keeps the earlier value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `BTS_GATEWAY_LISTEN` / `--listen`.
    pub listen: Option<SocketAddr>,
}

impl Overrides {
    /// Reads the environment through `var` (pass `|k| std::env::var(k).ok()`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Overrides, ConfigError> {
        let listen = match var("BTS_GATEWAY_LISTEN").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(formats::socket_addr(&v).map_err(|message| ConfigError::Invalid {
                origin: "environment".into(),
                key: "BTS_GATEWAY_LISTEN".into(),
                message,
            })?),
        };
        Ok(Overrides { listen })
    }
}

impl GatewayConfig {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        GatewayConfig::from_toml(&text, &path.display().to_string())
    }

    /// Validates TOML text; `origin` names it in errors (a file name, or `<text>`).
    pub fn from_toml(text: &str, origin: &str) -> Result<GatewayConfig, ConfigError> {
        let raw = raw::parse(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_owned(),
            key: e.key,
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        build::config(raw, origin)
    }

    /// Every section at its default and these networks: for tests and `bts-infra up`, which
    /// build networks in code ([`NetworkConfig::new`]). Checks that routes do not collide.
    pub fn with_networks(networks: Vec<NetworkConfig>) -> Result<GatewayConfig, ConfigError> {
        let config = GatewayConfig {
            server: ServerSettings::default(),
            limits: Limits::default(),
            cache: CacheSettings::default(),
            admin: AdminSettings::default(),
            health: HealthSettings::default(),
            networks,
            tls: None,
            http_routes: Vec::new(),
        };
        build::check_networks(&config.networks, "<code>")?;
        Ok(config)
    }

    /// Applies a later layer (environment or flags).
    pub fn with_overrides(mut self, overrides: &Overrides) -> GatewayConfig {
        if let Some(listen) = overrides.listen {
            self.server.listen = listen;
        }
        self
    }

    /// The network a request for `host` (the Host header, port allowed) and `path` reaches: among
    /// the networks whose hosts match (or that take any host), the longest matching path prefix;
    /// on a tie, the network that names the host.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&NetworkConfig> {
        route(&self.networks, |n| n, host, path)
    }
}

impl NetworkConfig {
    /// A network reached on every host at `/`, with latency selection, serving `chain_id` from
    /// these backend URLs (`ws://`, `wss://`, `http://` or `https://`), all in region `default`.
    pub fn new(name: &str, chain_id: ChainId, backend_urls: &[impl AsRef<str>]) -> Result<NetworkConfig, ConfigError> {
        let key = |i: usize| format!("network.{name}.backend[{i}].url");
        let mut backends = Vec::new();
        for (i, url) in backend_urls.iter().enumerate() {
            let backend = BackendConfig::new(url.as_ref()).map_err(|e| ConfigError::Invalid {
                origin: "<code>".into(),
                key: key(i),
                message: e.to_string(),
            })?;
            backends.push(backend);
        }
        let network = NetworkConfig {
            name: name.to_owned(),
            chain_id,
            hosts: Vec::new(),
            paths: vec!["/".into()],
            selection: Selection::Latency,
            deny_methods: Vec::new(),
            geo: None,
            backends,
        };
        build::check_network(&network, "<code>", &format!("network.{name}"))?;
        Ok(network)
    }

    /// The same network on these path prefixes instead of `/`.
    pub fn with_paths(mut self, paths: &[&str]) -> NetworkConfig {
        self.paths = paths.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// The same network with another selection.
    pub fn with_selection(mut self, selection: Selection) -> NetworkConfig {
        self.selection = selection;
        self
    }

    /// The regions present among the backends, in the order they first appear.
    pub fn regions(&self) -> Vec<&str> {
        let mut regions: Vec<&str> = Vec::new();
        for b in &self.backends {
            if !regions.contains(&b.region.as_str()) {
                regions.push(&b.region);
            }
        }
        regions
    }
}

impl BackendConfig {
    /// A backend in region `default` with weight 1; the URL's other scheme is derived
    /// (`ws://h:p/x` ↔ `http://h:p/x`, `wss://` ↔ `https://`), since a witness_node serves
    /// WebSocket and HTTP on one port.
    pub fn new(url: &str) -> Result<BackendConfig, UrlError> {
        let (ws_url, http_url) = backend_urls(url)?;
        Ok(BackendConfig {
            url: url.to_owned(),
            ws_url,
            http_url,
            region: "default".into(),
            weight: 1,
            http_keep_alive: false,
        })
    }

    /// The same backend in `region`.
    pub fn with_region(mut self, region: &str) -> BackendConfig {
        self.region = region.to_owned();
        self
    }
}

/// A backend URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct UrlError(pub String);

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            trusted_proxies: vec![
                IpNet::from(std::net::IpAddr::from([127, 0, 0, 1])),
                IpNet::from(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            forward_client_ip_header: Some("X-Forwarded-For".into()),
            listen_backlog: 4096,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests_per_second_per_ip: 50,
            burst: 100,
            ws_connections_per_ip: 32,
            ws_connections_total: 20_000,
            max_message_bytes: 1 << 20,
            request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(10),
            max_batch_length: 100,
        }
    }
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            max_entries: 10_000,
        }
    }
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            token_env: "BTS_GATEWAY_ADMIN_TOKEN".into(),
        }
    }
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            interval: Duration::from_millis(1500),
            timeout: Duration::from_secs(2),
            max_lag_blocks: 3,
            fail_threshold: 2,
            success_threshold: 2,
            stall_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_come_from_the_environment() {
        let o = Overrides::from_env(|k| (k == "BTS_GATEWAY_LISTEN").then(|| "127.0.0.1:9000".into())).unwrap();
        assert_eq!(o.listen, Some("127.0.0.1:9000".parse().unwrap()));
        let e = Overrides::from_env(|_| Some("nowhere".into())).unwrap_err();
        assert_eq!(e.key(), Some("BTS_GATEWAY_LISTEN"));
        let network = NetworkConfig::new("m", ChainId::MAINNET, &["ws://127.0.0.1:1"]).unwrap();
        let config = GatewayConfig::with_networks(vec![network]).unwrap();
        assert_eq!(config.with_overrides(&o).server.listen.port(), 9000);
    }
}
