//! `fleet status`: every host asked in parallel; one table (or JSON) of hosts, containers with
//! their CPU and memory, each node's head, lag and place in each gateway's pool, and each
//! gateway's health and certificates.

use super::InventoryArgs;
use super::apply::open_fleet;
use super::hosts::collect_status;
use crate::output::{OutputArgs, Report};
use bts_fleet::status::{FleetStatus, assemble};
use clap::Args;
use futures_util::future::join_all;
use std::io::{self, Write};

/// `bts-infra fleet status`.
#[derive(Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    inventory: InventoryArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl Report for FleetStatus {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.table().as_bytes())
    }
}

impl StatusArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let fleet = open_fleet(&self.inventory)?;
        let fleet = &fleet;
        let project = fleet.inv.project.as_str();
        let status = crate::serve::block_on(async {
            let reports = join_all(fleet.targets.iter().map(|t| {
                let kinds = |kind: &str| {
                    t.project
                        .services
                        .iter()
                        .filter(|s| s.kind == kind)
                        .map(|s| s.name.clone())
                        .collect::<Vec<_>>()
                };
                let (nodes, gateways) = (kinds("node"), kinds("gateway"));
                async move { collect_status(&t.remote, project, &nodes, &gateways).await }
            }))
            .await;
            fleet.close().await;
            Ok(assemble(&fleet.inv, &reports))
        })?;
        self.output.print(&status)?;
        let unreachable: Vec<&str> = status
            .hosts
            .iter()
            .filter(|h| !h.reachable)
            .map(|h| h.host.as_str())
            .collect();
        super::hosts_failed(&unreachable, status.hosts.len(), "did not answer")
    }
}
