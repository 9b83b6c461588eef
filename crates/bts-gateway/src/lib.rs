//! bts-gateway: the health-aware load balancer in front of BitShares API nodes.
//!
//! The control plane decides where work may go: [`config`] (the validated configuration),
//! [`health`] (backend health from chain state: a pure state machine and the probe tasks that
//! feed it), [`select`] (round-robin, peak-EWMA with power of two choices, region order),
//! [`geo`] (client address to country and continent), [`pool`] (the [`Gateway`], its
//! [`Network`]s and [`Backend`]s, read by the request path without locks), [`metrics`] (every
//! Prometheus metric, declared once) and [`status`] (the `/status` page as JSON and HTML).
//!
//! The data plane moves requests: [`server`] (the listener, routes, graceful shutdown; whole
//! connections served on one single-threaded runtime per core),
//! [`proxy`] (HTTP requests with retries; WebSocket sessions that move to another node with
//! their recipe), [`cache`] (immutable answers, collapsed identical reads), [`limits`] (rate and
//! connection limits), [`client_ip`] (trusted proxies), [`error`] (the one mapping of gateway
//! errors to JSON-RPC and HTTP) and [`admin`] (reload, cordon).

pub mod admin;
pub mod cache;
pub mod client_ip;
pub mod config;
pub mod edge;
pub mod error;
pub mod geo;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod pool;
pub mod proxy;
pub mod select;
pub mod server;
pub mod status;
mod workers;

pub use config::{GatewayConfig, NetworkConfig, Selection};
pub use edge::Listeners;
pub use pool::{Backend, BackendId, Gateway, GatewayError, InFlight, Network};

/// Runs a gateway: starts the control plane for `config` (and its certificates, with `[tls]`),
/// serves `listeners` (a plain `TcpListener` will do; [`Listeners::bind`] binds what the
/// configuration names) until `shutdown` completes, then drains connections and stops the health
/// probes. `reloader` re-reads the
/// configuration for `POST /admin/reload`; each message on `reload_requests` (the binary sends
/// one per SIGHUP) reloads through the same path.
pub async fn run(
    listeners: impl Into<Listeners>,
    config: &GatewayConfig,
    reloader: Option<admin::Reloader>,
    reload_requests: Option<tokio::sync::mpsc::Receiver<()>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    // A second installation (tests start several gateways in one process) keeps the first.
    let _ = metrics::install();
    let listeners = listeners.into();
    if config.tls.is_some() && listeners.tls.is_none() {
        return Err(RunError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the configuration has [tls] but no TLS listener was given (Listeners::bind binds tls.listen)",
        )));
    }
    let tls = match &config.tls {
        Some(t) => Some(std::sync::Arc::new(bts_tls::Tls::start(&t.certificates)?)),
        None => None,
    };
    let gateway = Gateway::start(config)?;
    let dp = proxy::DataPlane::new(gateway.clone(), proxy::Settings::from_config(config));
    let reloading = match (reloader.clone(), reload_requests) {
        (Some(reload), Some(mut requests)) => {
            let gateway = gateway.clone();
            Some(tokio::spawn(async move {
                while requests.recv().await.is_some() {
                    match admin::apply(&gateway, &reload) {
                        Ok(()) => tracing::info!(target: "bts_gateway::admin", "configuration reloaded"),
                        Err(e) => {
                            tracing::error!(target: "bts_gateway::admin", error = %e, "reload failed; keeping the running configuration")
                        }
                    }
                }
            }))
        }
        _ => None,
    };
    let result = server::run(listeners, dp, tls, reloader, shutdown).await;
    if let Some(task) = reloading {
        task.abort();
    }
    gateway.shutdown().await;
    result.map_err(RunError::Io)
}

/// Why a gateway could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The control plane would not start (bad geo database, no runtime).
    #[error(transparent)]
    Start(#[from] GatewayError),
    /// The certificates could not be loaded, or ACME cannot work as configured.
    #[error("TLS: {0}")]
    Tls(#[from] bts_tls::TlsError),
    /// The listener failed.
    #[error("listener failed: {0}")]
    Io(std::io::Error),
}
