//! The data plane: what happens to a client's request between the listener and a node.
//!
//! * [`http`]: one POST, one request or a batch; each request routed on its own, retried on
//!   another healthy node when the first fails before answering.
//! * [`ws`]: a WebSocket session pinned to one node, moved to another with its recipe
//!   ([`recipe`]) when that node dies or falls out of health, without the client noticing.
//! * [`upstream`]: the connections to nodes.
//! * [`forward`]: `[[http-route]]` prefixes forwarded to plain HTTP services (the faucet).
//!
//! [`DataPlane`] holds what every request needs: the control plane (networks and their healthy
//! backends), the settings, the cache, the limits and the HTTP client to nodes.

mod blocks;
pub mod forward;
pub mod http;
pub mod recipe;
pub mod upstream;
mod watched;
pub mod ws;

use crate::cache::{Cache, SingleFlight};
use crate::limits::{Connections, RateLimit};
use crate::pool::Gateway;
use axum::http::HeaderName;
use ipnet::IpNet;
use std::sync::Arc;
use std::time::Duration;

/// The data plane's settings, taken from the gateway configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Token bucket rate per client IP (0: off).
    pub rate_per_second: u32,
    /// Token bucket size.
    pub burst: u32,
    /// WebSocket connections per client IP (0: no limit).
    pub ws_per_ip: usize,
    /// WebSocket connections in total (0: no limit).
    pub ws_total: usize,
    /// Largest request or WebSocket message accepted.
    pub max_message_bytes: usize,
    /// How long a request may wait for a node's answer.
    pub request_timeout: Duration,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request body once its headers are in.
    pub body_read_timeout: Duration,
    /// Most requests in one HTTP batch.
    pub max_batch_length: usize,
    /// Immutable answers kept (0: no cache).
    pub cache_entries: usize,
    /// Peers whose `X-Forwarded-For` / `X-Real-IP` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The header that tells nodes the client's address.
    pub forward_header: HeaderName,
    /// Bearer token for the admin endpoints (besides localhost).
    pub admin_token: Option<String>,
    /// Path prefixes forwarded to HTTP services.
    pub http_routes: Vec<crate::config::HttpRoute>,
    /// The `Strict-Transport-Security` value for answers over TLS, if any.
    pub hsts: Option<axum::http::HeaderValue>,
    /// The HTTPS port redirects name (`tls.public-port`); `None`: the TLS listener's.
    pub tls_public_port: Option<u16>,
}

/// Everything the request path shares.
pub struct DataPlane {
    /// Networks, backends and their health.
    pub gateway: Arc<Gateway>,
    /// Settings.
    pub settings: Settings,
    /// Immutable answers.
    pub cache: Cache,
    /// Identical reads in flight.
    pub flight: SingleFlight,
    /// Per-IP request rate.
    pub rate: RateLimit,
    /// WebSocket connection counts.
    pub connections: Arc<Connections>,
    /// HTTP client to nodes (connection pool).
    pub http: upstream::HttpUpstream,
    /// HTTP client to the services of `[[http-route]]`.
    pub forward: forward::Forwarder,
}

impl Settings {
    /// The data plane's settings from a validated configuration; the admin token is read from
    /// the environment variable the configuration names.
    pub fn from_config(config: &crate::config::GatewayConfig) -> Settings {
        let limits = &config.limits;
        let header = config
            .server
            .forward_client_ip_header
            .as_deref()
            .unwrap_or("X-Forwarded-For");
        Settings {
            rate_per_second: limits.requests_per_second_per_ip,
            burst: limits.burst,
            ws_per_ip: limits.ws_connections_per_ip as usize,
            ws_total: limits.ws_connections_total as usize,
            max_message_bytes: limits.max_message_bytes,
            request_timeout: limits.request_timeout,
            header_read_timeout: limits.header_read_timeout,
            body_read_timeout: limits.body_read_timeout,
            max_batch_length: limits.max_batch_length,
            cache_entries: if config.cache.enabled {
                config.cache.max_entries
            } else {
                0
            },
            trusted_proxies: config.server.trusted_proxies.clone(),
            forward_header: HeaderName::try_from(header).unwrap_or(HeaderName::from_static("x-forwarded-for")),
            admin_token: std::env::var(&config.admin.token_env).ok().filter(|t| !t.is_empty()),
            http_routes: config.http_routes.clone(),
            hsts: config.tls.as_ref().and_then(hsts_value),
            tls_public_port: config.tls.as_ref().and_then(|t| t.public_port),
        }
    }
}

impl DataPlane {
    /// A data plane over `gateway` with `settings`.
    pub fn new(gateway: Arc<Gateway>, settings: Settings) -> Arc<DataPlane> {
        Arc::new(DataPlane {
            gateway,
            cache: Cache::new(settings.cache_entries),
            flight: SingleFlight::default(),
            rate: RateLimit::new(settings.rate_per_second, settings.burst),
            connections: Connections::new(settings.ws_per_ip, settings.ws_total),
            http: upstream::HttpUpstream::new(),
            forward: forward::Forwarder::default(),
            settings,
        })
    }
}

/// `max-age=<seconds>[; includeSubDomains]`, when HSTS is on.
fn hsts_value(tls: &crate::config::TlsConfig) -> Option<axum::http::HeaderValue> {
    let max_age = tls.hsts?.as_secs();
    let sub = if tls.hsts_include_subdomains {
        "; includeSubDomains"
    } else {
        ""
    };
    axum::http::HeaderValue::from_str(&format!("max-age={max_age}{sub}")).ok()
}

/// How many nodes one request is tried on at most.
pub(crate) const MAX_ATTEMPTS: usize = 3;
