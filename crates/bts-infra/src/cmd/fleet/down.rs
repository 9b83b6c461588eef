//! `fleet down [--host H]...`: takes the fleet, or some of its hosts, out of service. The
//! gateways and the faucet go first (on every host at once), then the nodes, each given its
//! grace period to write its database. A node that a gateway staying up routes to is cordoned
//! and drained first, so taking a host away (to replace it) fails no request. The containers
//! and the secrets copied to the hosts are removed; the volumes (chain data, the faucet's
//! database, certificates) stay unless `--volumes`.

use super::InventoryArgs;
use super::apply::{Fleet, open_fleet};
use super::cordon::{cordon, drain, gateways_of};
use super::hosts::compose;
use super::ssh::quote;
use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use clap::Args;
use futures_util::future::join_all;
use serde::Serialize;
use std::io::{self, Write};
use std::time::Duration;

/// `bts-infra fleet down`.
#[derive(Args)]
pub(crate) struct DownArgs {
    #[command(flatten)]
    inventory: InventoryArgs,
    /// Only this host (repeat for several) [default: every host]
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Also delete the volumes: chain data, the faucet's SQLite database, certificates (cannot be undone)
    #[arg(long)]
    volumes: bool,
    /// How long to wait for a cordoned node's requests and sessions to move
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Serialize)]
struct DownReport {
    hosts: Vec<HostDown>,
}

#[derive(Serialize)]
struct HostDown {
    host: String,
    /// `down` or `failed`.
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Report for DownReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for h in &self.hosts {
            match &h.error {
                Some(e) => writeln!(out, "{}: FAILED: {e}", h.host)?,
                None => writeln!(out, "{}: down", h.host)?,
            }
        }
        Ok(())
    }
}

impl DownArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let fleet = open_fleet(&self.inventory)?;
        if let Some(unknown) = self.hosts.iter().find(|h| fleet.inv.host(h).is_none()) {
            return Err(InputError::new(format!("no host {unknown:?} in the inventory")).into());
        }
        let chosen = |host: &str| self.hosts.is_empty() || self.hosts.iter().any(|h| h == host);
        let fleet = &fleet;
        let this = &self;
        let report = crate::serve::block_on(async move {
            this.cordon_away(fleet, &chosen).await;
            let targets: Vec<_> = fleet.targets.iter().filter(|t| chosen(&t.project.host)).collect();
            let project = fleet.inv.project.as_str();
            // Front first: no client is sent to a node that is stopping.
            let front = join_all(targets.iter().map(|t| async move {
                let services: Vec<String> = t
                    .project
                    .services
                    .iter()
                    .filter(|s| s.kind != "node")
                    .map(|s| quote(&s.name))
                    .collect();
                if services.is_empty() {
                    return Ok(());
                }
                compose(&t.remote, project, &[format!("rm -s -f {}", services.join(" "))]).await
            }))
            .await;
            let volumes = if this.volumes { " --volumes" } else { "" };
            let results = join_all(targets.iter().zip(front).map(|(t, front)| async move {
                front?;
                compose(&t.remote, project, &[format!("down --remove-orphans{volumes}")]).await?;
                // The secrets go with the services; `apply` copies them again.
                let dir = quote(&t.remote.host.dir);
                t.remote.run(&format!("rm -rf {dir}/secrets"), None).await.map(|_| ())
            }))
            .await;
            fleet.close().await;
            Ok(DownReport {
                hosts: targets
                    .iter()
                    .zip(results)
                    .map(|(t, r)| HostDown {
                        host: t.project.host.clone(),
                        result: if r.is_ok() { "down" } else { "failed" },
                        error: r.err(),
                    })
                    .collect(),
            })
        })?;
        self.output.print(&report)?;
        let failed: Vec<&str> = report
            .hosts
            .iter()
            .filter(|h| h.error.is_some())
            .map(|h| h.host.as_str())
            .collect();
        super::hosts_failed(&failed, report.hosts.len(), "failed")
    }

    /// Cordons and drains the nodes going down on the gateways that stay up.
    async fn cordon_away(&self, fleet: &Fleet, chosen: &dyn Fn(&str) -> bool) {
        for node in fleet.inv.nodes.iter().filter(|n| chosen(&n.host)) {
            let staying: Vec<(String, String)> = gateways_of(&fleet.inv, node)
                .into_iter()
                .filter(|(g, _)| fleet.inv.gateways.iter().any(|gw| &gw.name == g && !chosen(&gw.host)))
                .collect();
            if staying.is_empty() {
                continue;
            }
            // A gateway that cannot be told is no reason to keep a host up: it routes around.
            if let Err(e) = cordon(fleet, node, &staying).await {
                eprintln!("{}: not cordoned ({e}); its gateways will route around it", node.name);
                continue;
            }
            drain(fleet, node, &staying, self.drain_timeout).await;
        }
    }
}
