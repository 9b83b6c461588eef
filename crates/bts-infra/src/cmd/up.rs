//! `bts-infra up`: the whole local stack on devnets, the main job on a fresh machine.
//!
//! Today: a mainnet-like network (prefix BTS) and a testnet-like one (prefix TEST), each with
//! several nodes, as the gateway will see them. The gateway and the faucet join as they land.

use crate::cmd::devnet::NetworkReport;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_devnet::chain::ChainConfig;
use bts_devnet::{Devnet, ServerConfig};
use bts_protocol::Prefix;
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

/// Arguments of `bts-infra up`.
#[derive(Args)]
pub(crate) struct UpArgs {
    /// Interface to listen on
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    host: IpAddr,
    /// First port: mainnet-like nodes use PORT, PORT+1, ..., testnet-like ones PORT+10, ...; 0 picks free ports
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Nodes per network
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// Time between blocks, whole seconds
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = serve::parse_interval)]
    block_interval: u32,
    /// Serve /devnet/admin on every node, to inject faults
    #[arg(long)]
    admin: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// The networks `up` starts: name, prefix, port offset.
const NETWORKS: [(&str, Prefix, u16); 2] = [("mainnet-like", Prefix::BTS, 0), ("testnet-like", Prefix::TEST, 10)];

impl UpArgs {
    /// Runs the stack until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        serve::block_on(async move {
            let server = ServerConfig { admin: self.admin };
            let mut devnets = Vec::new();
            for (name, prefix, offset) in NETWORKS {
                let mut listeners = Vec::new();
                for i in 0..self.nodes {
                    let port = if self.port == 0 {
                        0
                    } else {
                        self.port.saturating_add(offset + i)
                    };
                    listeners.push(serve::bind(SocketAddr::new(self.host, port), "--port").await?);
                }
                let mut config = ChainConfig::devnet(prefix);
                config.block_interval = self.block_interval;
                config.genesis_time = bts_devnet::genesis_now(config.block_interval);
                devnets.push(Devnet::start(name, config, listeners, server).await?);
            }
            let report = UpReport {
                networks: devnets.iter().map(|d| NetworkReport::new(d, self.admin)).collect(),
            };
            self.output.print(&report)?;
            serve::stop_signal().await;
            tracing::info!(target: "bts_infra::up", "stopping");
            for devnet in devnets {
                devnet.shutdown().await;
            }
            tracing::info!(target: "bts_infra::up", "stopped cleanly");
            Ok(())
        })
    }
}

/// What `up` started.
#[derive(Serialize)]
struct UpReport {
    networks: Vec<NetworkReport>,
}

impl Report for UpReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "bts-infra up: local stack running; Ctrl-C stops it")?;
        for network in &self.networks {
            writeln!(out)?;
            network.write_text(out)?;
        }
        Ok(())
    }
}
