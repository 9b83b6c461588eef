//! `bts-infra faucet`: the onboarding faucet (bts-faucet) as a long-running command.
//!
//! Configuration precedence, lowest first: `--config FILE` (TOML), the `BTS_FAUCET_*`
//! environment variables, these flags (see `docs/faucet.md`). The registrar's key comes from
//! `$BTS_FAUCET_REGISTRAR_WIF` (or the variable `registrar.key-env` names) or from
//! `--registrar-key-file`, never from a flag value.

use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_faucet::config::raw::Overrides;
use bts_faucet::{Faucet, FaucetConfig};
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `bts-infra faucet`.
#[derive(Args)]
pub(crate) struct FaucetArgs {
    /// Configuration file (TOML); see docs/faucet.md for every key
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: the file's `listen`, else 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Path prefix the API is also served under, e.g. /onboarding
    #[arg(long, value_name = "PATH")]
    path_prefix: Option<String>,
    /// Database: sqlite://FILE or postgres://... (prefer BTS_FAUCET_DATABASE_URL: flags show in `ps`)
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Node or gateway URL (http:// or ws://); repeat to fail over between several
    #[arg(long = "node", value_name = "URL")]
    nodes: Vec<String>,
    /// Expected chain id (the faucet refuses to start on another chain)
    #[arg(long, value_name = "HEX")]
    chain_id: Option<String>,
    /// Expected address prefix (BTS, TEST, ...)
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,
    /// Registrar account name (a lifetime member)
    #[arg(long, value_name = "NAME")]
    registrar: Option<String>,
    /// File holding the registrar's active private key (WIF), readable only by the faucet's user
    #[arg(long, value_name = "PATH")]
    registrar_key_file: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

impl FaucetArgs {
    /// Runs the faucet until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let flags = Overrides {
            listen: self.listen.map(|a| a.to_string()),
            path_prefix: self.path_prefix.clone(),
            database_url: self.database_url.clone(),
            // A file is for a mounted secret: given by the config file or the environment.
            database_url_file: None,
            nodes: (!self.nodes.is_empty()).then(|| self.nodes.clone()),
            chain_id: self.chain_id.clone(),
            prefix: self.prefix.clone(),
            registrar: self.registrar.clone(),
            registrar_key_file: self.registrar_key_file.clone(),
        };
        let config = FaucetConfig::load(self.config.as_deref(), flags).map_err(|e| {
            InputError::new(format!("faucet configuration: {e}"))
                .hint("see docs/faucet.md for the configuration keys, BTS_FAUCET_* variables and flags")
        })?;
        serve::block_on(async move {
            let listener = serve::bind(config.listen, "--listen").await?;
            let faucet = Faucet::start(listener, config.clone()).await.map_err(|e| {
                if e.is_configuration() {
                    anyhow::Error::new(InputError::new(format!("the faucet refuses to start: {e}")))
                } else {
                    anyhow::anyhow!("the faucet cannot start: {e}")
                }
            })?;
            let stop = serve::stop_signal();
            self.output.print(&FaucetReport::new(&faucet, &config))?;
            faucet.serve(stop).await?;
            Ok(())
        })
    }
}

/// What a started faucet looks like from outside.
#[derive(Serialize)]
struct FaucetReport {
    url: String,
    accounts_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefixed_accounts_url: Option<String>,
    registrar: String,
    registrar_id: String,
    chain_id: String,
    prefix: String,
    database: String,
}

impl FaucetReport {
    fn new(faucet: &Faucet, config: &FaucetConfig) -> FaucetReport {
        let url = format!("http://{}", faucet.local_addr());
        let (id, name) = faucet.registrar();
        FaucetReport {
            accounts_url: format!("{url}/api/v1/accounts"),
            prefixed_accounts_url: config.path_prefix.as_ref().map(|p| format!("{url}{p}/api/v1/accounts")),
            registrar: name.to_owned(),
            registrar_id: id.to_string(),
            chain_id: config.chain_id.to_string(),
            prefix: config.prefix.to_string(),
            database: bts_faucet::store::redact_url(&config.database_url),
            url,
        }
    }
}

impl Report for FaucetReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "faucet serving on {}", self.url)?;
        writeln!(out, "  registrar  {} ({})", self.registrar, self.registrar_id)?;
        writeln!(out, "  chain      {} (prefix {})", self.chain_id, self.prefix)?;
        writeln!(out, "  database   {}", self.database)?;
        writeln!(out, "  register   POST {}", self.accounts_url)?;
        if let Some(p) = &self.prefixed_accounts_url {
            writeln!(out, "             POST {p}")?;
        }
        writeln!(out, "  stats      {}/stats  metrics {}/metrics", self.url, self.url)
    }
}
