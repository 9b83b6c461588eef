//! `bts-infra devnet`: a BitShares-compatible development chain, served like witness_node.

use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_devnet::chain::ChainConfig;
use bts_devnet::{Devnet, ServerConfig};
use bts_protocol::{ChainId, Prefix};
use bts_rpc::{ApiRef, Call, message::to_raw};
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `bts-infra devnet`.
#[derive(Args)]
pub(crate) struct DevnetArgs {
    /// Address to serve JSON-RPC on, WebSocket and HTTP on one port; repeat for more nodes of the same chain
    #[arg(long = "listen", value_name = "ADDR", default_value = "127.0.0.1:8090")]
    listen: Vec<SocketAddr>,
    /// Time between blocks, whole seconds [default: the genesis file's, else 3s]
    #[arg(long, value_name = "DURATION", value_parser = serve::parse_interval)]
    block_interval: Option<u32>,
    /// Address prefix of public keys, also the core asset's symbol (BTS, TEST, ...)
    #[arg(long, value_name = "PREFIX", default_value = "BTS")]
    prefix: Prefix,
    /// Chain id to use [default: derived from the prefix; never mainnet's or the testnet's]
    #[arg(long, value_name = "HEX")]
    chain_id: Option<ChainId>,
    /// Genesis file: extra accounts with keys and balances (JSON, see docs/devnet.md)
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Serve /devnet/admin on every node, to inject faults (latency, frozen head, dropped connections, ...)
    #[arg(long)]
    admin: bool,
    /// Keep HTTP connections open between requests (for benchmarks); by default each is closed after its answer, as witness_node does
    #[arg(long)]
    http_keep_alive: bool,
    #[command(flatten)]
    output: OutputArgs,
}

impl DevnetArgs {
    /// Runs the devnet until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let config = self.chain_config()?;
        serve::block_on(async move {
            let mut listeners = Vec::new();
            for addr in &self.listen {
                listeners.push(serve::bind(*addr, "--listen").await?);
            }
            let server = ServerConfig {
                admin: self.admin,
                http_keep_alive: self.http_keep_alive,
            };
            let devnet = Devnet::start("devnet", config, listeners, server).await?;
            let stop = serve::stop_signal();
            self.output.print(&NetworkReport::new(&devnet, self.admin))?;
            stop.await;
            devnet.shutdown().await;
            Ok(())
        })
    }

    fn chain_config(&self) -> anyhow::Result<ChainConfig> {
        let mut pinned_time = false;
        let mut config = match &self.genesis {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| InputError::new(format!("cannot read the genesis file {}: {e}", path.display())))?;
                pinned_time =
                    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("genesis-time").is_some());
                ChainConfig::from_genesis_json(&text, self.prefix)
                    .map_err(|e| InputError::new(format!("genesis file {}: {e}", path.display())))?
            }
            None => ChainConfig::devnet(self.prefix),
        };
        if let Some(interval) = self.block_interval {
            config.block_interval = interval;
        }
        // Clients compute expirations from their own clock, so the chain's head must be now,
        // unless the genesis file pins the time (for reproducible chains).
        if !pinned_time {
            config.genesis_time = bts_devnet::genesis_now(config.block_interval);
        }
        if let Some(id) = self.chain_id {
            if id == ChainId::MAINNET || id == ChainId::TESTNET {
                return Err(InputError::new("--chain-id is a public network's chain id")
                    .hint(
                        "a devnet must never share a chain id with a real network: signatures would be valid there too",
                    )
                    .into());
            }
            config.chain_id = id;
        }
        config.validate().map_err(|e| InputError::new(e.to_string()))?;
        Ok(config)
    }
}

/// What a started network looks like from outside.
#[derive(Serialize)]
pub(crate) struct NetworkReport {
    name: String,
    chain_id: ChainId,
    prefix: Prefix,
    block_interval_secs: u32,
    registrar: RegistrarReport,
    nodes: Vec<NodeReport>,
}

#[derive(Serialize)]
struct RegistrarReport {
    name: String,
    id: String,
    public_key: String,
    /// The development key: public knowledge, only for this devnet.
    development_wif: String,
}

#[derive(Serialize)]
struct NodeReport {
    ws: String,
    http: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin: Option<String>,
}

impl NetworkReport {
    /// Describes a running devnet.
    pub(crate) fn new(devnet: &Devnet, admin: bool) -> NetworkReport {
        let config = devnet.network().config();
        let first = &devnet.nodes()[0];
        let call = Call {
            api: ApiRef::DATABASE,
            method: "get_account_by_name".to_owned(),
            args: to_raw(&(&config.registrar_name,)),
        };
        let account = first.node.with_chain(|c| c.database_call(&call)).unwrap_or_default();
        NetworkReport {
            name: devnet.network().name().to_owned(),
            chain_id: config.chain_id,
            prefix: config.prefix,
            block_interval_secs: config.block_interval,
            registrar: RegistrarReport {
                name: config.registrar_name.clone(),
                id: account["id"].as_str().unwrap_or("?").to_owned(),
                public_key: config.registrar_key.public_key(config.prefix).to_string(),
                development_wif: config.registrar_key.to_wif(),
            },
            nodes: devnet
                .nodes()
                .iter()
                .map(|n| NodeReport {
                    ws: n.ws_url(),
                    http: n.http_url(),
                    admin: admin.then(|| format!("{}devnet/admin", n.http_url())),
                })
                .collect(),
        }
    }
}

impl Report for NetworkReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}: a development chain (not BitShares mainnet)", self.name)?;
        writeln!(out, "  chain id   {}", self.chain_id)?;
        writeln!(
            out,
            "  prefix     {} (core asset {}, precision 5), a block every {}s",
            self.prefix, self.prefix, self.block_interval_secs
        )?;
        writeln!(
            out,
            "  registrar  {} ({}), lifetime member, key {}",
            self.registrar.name, self.registrar.id, self.registrar.public_key
        )?;
        writeln!(
            out,
            "  dev key    {}  <- DEVELOPMENT KEY: public, only for this devnet",
            self.registrar.development_wif
        )?;
        for (i, n) in self.nodes.iter().enumerate() {
            writeln!(out, "  node {i}     {}  {}", n.ws, n.http)?;
            if let Some(admin) = &n.admin {
                writeln!(out, "             admin: {admin}")?;
            }
        }
        Ok(())
    }
}
