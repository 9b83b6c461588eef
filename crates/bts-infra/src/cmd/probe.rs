//! `bts-infra probe`: the outside-in prober and its public status page.
//!
//! Configuration precedence, lowest first: the file (`--config`), then flags (`--listen`,
//! `--database-url`).

use crate::error::InputError;
use crate::serve;
use bts_probe::{ProbeConfig, Prober, RawConfig};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `bts-infra probe`.
#[derive(Args)]
pub(crate) struct ProbeArgs {
    /// The configuration file (TOML; see docs/kpis.md)
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Listen address of the status page and /metrics, overriding the file's `listen`
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// History database (sqlite://FILE or postgres://...), overriding the file's `database-url`
    #[arg(long, value_name = "URL", env = "BTS_PROBE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl ProbeArgs {
    /// Runs the prober until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let config = self.load()?;
        serve::block_on(async move {
            let listener = serve::bind(config.listen, "--listen").await?;
            let (region, endpoints) = (config.region.clone(), config.endpoints.len());
            let prober = Prober::start(listener, config).await.map_err(|e| {
                InputError::new(format!("the prober did not start: {e}"))
                    .hint("check database-url (a writable sqlite:// file or a reachable postgres://) and ca-file")
            })?;
            tracing::info!(target: "bts_infra::probe", listen = %prober.local_addr(), %region, endpoints, "prober serving its status page");
            prober
                .serve(serve::stop_signal())
                .await
                .map_err(|e| anyhow::anyhow!("prober failed: {e}"))
        })
    }

    fn load(&self) -> anyhow::Result<ProbeConfig> {
        let text = std::fs::read_to_string(&self.config).map_err(|e| {
            InputError::new(format!("cannot read {}: {e}", self.config.display()))
                .hint("give the prober's configuration file (see docs/kpis.md)")
        })?;
        let hint = |e: bts_probe::config::ConfigError| {
            InputError::new(format!("{}: {e}", self.config.display()))
                .hint("fix the key named above (see docs/kpis.md)")
        };
        let mut raw = RawConfig::parse(&text).map_err(hint)?;
        if let Some(listen) = self.listen {
            raw.listen = Some(listen.to_string());
        }
        if let Some(url) = &self.database_url {
            raw.database_url = Some(url.clone());
        }
        Ok(ProbeConfig::build(raw).map_err(hint)?)
    }
}
