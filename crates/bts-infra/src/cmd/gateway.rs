//! `bts-infra gateway`: the health-aware load balancer in front of BitShares API nodes.
//!
//! Configuration precedence, lowest first: the file (`--config`), the environment
//! (`BTS_GATEWAY_LISTEN`), then flags (`--listen`). SIGHUP re-reads the file and applies it
//! without dropping connections, as `POST /admin/reload` does.

use crate::error::InputError;
use crate::serve;
use bts_gateway::config::{GatewayConfig, Overrides};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `bts-infra gateway`.
#[derive(Args)]
pub(crate) struct GatewayArgs {
    /// The configuration file (TOML; see docs/gateway.md)
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Listen address, overriding the file's server.listen and BTS_GATEWAY_LISTEN
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

impl GatewayArgs {
    /// Runs the gateway until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let config = self.load()?;
        serve::block_on(async move {
            let listeners = bts_gateway::Listeners::bind(&config).await.map_err(|e| {
                anyhow::Error::new(InputError::new(e.to_string()).hint(
                    "is something else using that port? change server.listen (or --listen), tls.listen or tls.redirect-listen",
                ))
            })?;
            let addr = |l: &Option<tokio::net::TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
            tracing::info!(target: "bts_infra::gateway", listen = ?addr(&listeners.plain), tls = ?addr(&listeners.tls), redirect = ?addr(&listeners.redirect), networks = config.networks.len(), "gateway serving");
            let this = Arc::new(self);
            let reload_from = this.clone();
            let reloader: bts_gateway::admin::Reloader =
                Arc::new(move || reload_from.load().map_err(|e| format!("{e:#}")));
            let (requests, sighup) = reload_on_sighup();
            let result =
                bts_gateway::run(listeners, &config, Some(reloader), Some(requests), serve::stop_signal()).await;
            sighup.abort();
            result.map_err(|e| anyhow::anyhow!("gateway failed: {e}"))
        })
    }

    /// The file, then the environment, then the flags.
    fn load(&self) -> anyhow::Result<GatewayConfig> {
        let file = GatewayConfig::load(&self.config)
            .map_err(|e| InputError::new(e.to_string()).hint("fix the key named above (see docs/gateway.md)"))?;
        let env = Overrides::from_env(|k| std::env::var(k).ok()).map_err(|e| InputError::new(e.to_string()))?;
        let flags = Overrides { listen: self.listen };
        Ok(file.with_overrides(&env).with_overrides(&flags))
    }
}

/// Sends a reload request for every SIGHUP; the gateway re-reads the file and keeps the running
/// configuration if the new one is bad.
fn reload_on_sighup() -> (tokio::sync::mpsc::Receiver<()>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!(target: "bts_infra::gateway", "SIGHUP: reloading the configuration");
                let _ = tx.try_send(());
            }
        }
        #[cfg(not(unix))]
        drop(tx);
    });
    (rx, task)
}
