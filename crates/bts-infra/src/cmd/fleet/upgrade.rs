//! `fleet upgrade NETWORK [--image IMAGE]`: a rolling upgrade that wallets do not notice. Per
//! region one node at a time (`--max-unavailable`; regions in parallel): cordon it on every gateway that routes to it,
//! wait until its requests and sessions have moved, recreate it on the new image, wait until it
//! is healthy and back in sync (lag ≤ 3 blocks on every gateway), uncordon it, go on. The first
//! node that does not come back stops the upgrade: it stays cordoned, the others keep serving,
//! and the command says what to do.

use super::InventoryArgs;
use super::apply::{Fleet, open_fleet};
use super::cordon::{cordon, drain, gateways_of, rejoin};
use super::hosts::{compose_up, wait_ready, write_file};
use crate::error::InputError;
use bts_fleet::inventory::{Inventory, Node, previous_node_image, set_node_image};
use bts_fleet::plan::Change;
use clap::Args;
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `bts-infra fleet upgrade`.
#[derive(Args)]
pub(crate) struct UpgradeArgs {
    /// The network whose nodes to upgrade
    #[arg(value_name = "NETWORK")]
    network: String,
    /// The new node image; written into the inventory's node-image first, the image it replaces
    /// into previous-node-image (else the inventory's node-image is the target)
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    #[command(flatten)]
    rolling: Rolling,
}

/// `bts-infra fleet rollback`.
#[derive(Args)]
pub(crate) struct RollbackArgs {
    /// The network whose nodes to put back on the inventory's previous-node-image
    #[arg(value_name = "NETWORK")]
    network: String,
    #[command(flatten)]
    rolling: Rolling,
}

/// How a rolling change goes.
#[derive(Args)]
struct Rolling {
    #[command(flatten)]
    inventory: InventoryArgs,
    /// How long a node may take to come back healthy and in sync
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// How long to wait for a cordoned node's requests and sessions to move
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    /// How many nodes of one region may be out at once (regions are upgraded in parallel)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    max_unavailable: u16,
}

impl RollbackArgs {
    /// A rolling upgrade to the image the last `upgrade --image` replaced; the inventory's two
    /// images are swapped, so a second rollback goes forward again.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let path = &self.rolling.inventory.inventory;
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(format!("cannot read {}: {e}", path.display())))?;
        let previous = previous_node_image(&text, &self.network).map_err(InputError::new)?;
        let Some(image) = previous else {
            return Err(InputError::new(format!(
                "network {:?} has no previous-node-image in {}: nothing to roll back to",
                self.network,
                path.display()
            ))
            .hint("roll back with `bts-infra fleet upgrade NETWORK --image IMAGE`, naming the image to return to")
            .into());
        };
        UpgradeArgs {
            network: self.network,
            image: Some(image),
            rolling: self.rolling,
        }
        .run()
    }
}

impl UpgradeArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let path = &self.rolling.inventory.inventory;
        // The inventory as it was, while the new image is written but nothing upgraded yet.
        let mut original = None;
        if let Some(image) = &self.image {
            let text = std::fs::read_to_string(path)
                .map_err(|e| InputError::new(format!("cannot read {}: {e}", path.display())))?;
            let edited = set_node_image(&text, &self.network, image).map_err(InputError::new)?;
            if edited != text {
                std::fs::write(path, edited)
                    .map_err(|e| InputError::new(format!("cannot write {}: {e}", path.display())))?;
                eprintln!("{}: network {} node-image = {image}", path.display(), self.network);
                original = Some(text);
            }
        }
        // Refused before any node was touched: the inventory goes back to what it was, so that a
        // later `apply` does not replace every node at once.
        let undo = |why: anyhow::Error| -> anyhow::Error {
            if original.as_ref().is_some_and(|text| std::fs::write(path, text).is_ok()) {
                eprintln!("{}: node-image put back (nothing was upgraded)", path.display());
            }
            why
        };
        let fleet = open_fleet(&self.rolling.inventory).map_err(undo)?;
        let network = fleet
            .inv
            .network(&self.network)
            .ok_or_else(|| InputError::new(format!("no network {:?} in the inventory", self.network)))?
            .clone();
        let fleet = &fleet;
        let this = &self;
        crate::serve::block_on(async move {
            let pending = match pending(fleet, &network.name, &network.node_image).await {
                Ok(pending) => pending,
                Err(e) => {
                    fleet.close().await;
                    return Err(undo(e));
                }
            };
            if pending.is_empty() {
                println!("{}: every node runs {}", network.name, network.node_image);
                fleet.close().await;
                return Ok(());
            }
            let mut regions: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
            for node in &pending {
                regions
                    .entry(fleet.inv.region_of(&node.host).unwrap_or_default())
                    .or_default()
                    .push(node);
            }
            let stop = AtomicBool::new(false);
            let results = join_all(regions.into_values().map(|nodes| {
                let stop = &stop;
                async move {
                    let mut done = Vec::new();
                    let mut failed = Vec::new();
                    for batch in nodes.chunks(usize::from(this.rolling.max_unavailable)) {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        // Each host's compose file once, before the batch: two nodes of one host
                        // must not write it at the same time.
                        let mut written: Vec<&str> = Vec::new();
                        for node in batch {
                            if written.contains(&node.host.as_str()) {
                                continue;
                            }
                            written.push(&node.host);
                            if let Some(t) = fleet.targets.iter().find(|t| t.project.host == node.host)
                                && let Err(e) = write_file(&t.remote, "compose.yml", t.project.compose.as_bytes()).await
                            {
                                failed.push(format!("{}: writing compose.yml: {e}", node.host));
                            }
                        }
                        if !failed.is_empty() {
                            stop.store(true, Ordering::SeqCst);
                            return Err((done, failed));
                        }
                        let results = join_all(batch.iter().map(|node| this.upgrade_node(fleet, node))).await;
                        for (node, result) in batch.iter().zip(results) {
                            match result {
                                Ok(()) => done.push(node.name.clone()),
                                Err(e) => failed.push(format!("{}: {e}", node.name)),
                            }
                        }
                        if !failed.is_empty() {
                            stop.store(true, Ordering::SeqCst);
                            return Err((done, failed));
                        }
                    }
                    Ok(done)
                }
            }))
            .await;
            fleet.close().await;
            let mut upgraded = Vec::new();
            let mut failed = Vec::new();
            for r in results {
                match r {
                    Ok(names) => upgraded.extend(names),
                    Err((names, errors)) => {
                        upgraded.extend(names);
                        failed.extend(errors);
                    }
                }
            }
            println!(
                "{}: upgraded to {}: {}",
                network.name,
                network.node_image,
                if upgraded.is_empty() {
                    "none".to_owned()
                } else {
                    upgraded.join(", ")
                }
            );
            if failed.is_empty() {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "the upgrade stopped: {}. That node stays cordoned and the rest of the fleet serves; see `bts-infra fleet status`, \
                     fix the cause and run the upgrade again, or go back with `bts-infra fleet rollback NETWORK`",
                    failed.join("; ")
                ))
            }
        })
    }

    async fn upgrade_node(&self, fleet: &Fleet, node: &Node) -> Result<(), String> {
        let target = fleet
            .targets
            .iter()
            .find(|t| t.project.host == node.host)
            .ok_or("its host has no project")?;
        let project = fleet.inv.project.as_str();
        let gateways = gateways_of(&fleet.inv, node);
        cordon(fleet, node, &gateways).await?;
        drain(fleet, node, &gateways, self.rolling.drain_timeout).await;
        compose_up(&target.remote, project, std::slice::from_ref(&node.name), &[], false)
            .await
            .map_err(|e| format!("compose up: {e}"))?;
        wait_ready(
            &target.remote,
            project,
            std::slice::from_ref(&node.name),
            self.rolling.timeout,
        )
        .await?;
        eprintln!("{}: recreated and healthy", node.name);
        rejoin(fleet, node, &gateways, self.rolling.timeout).await
    }
}

/// The network's nodes whose container does not run `image` (in inventory order); refuses when
/// anything else would change (that is `apply`'s job).
async fn pending<'a>(fleet: &'a Fleet, network: &str, image: &str) -> anyhow::Result<Vec<&'a Node>> {
    let mut out = Vec::new();
    // Secrets are not compared: the upgrade writes none.
    let plans = fleet.plans_with(&BTreeMap::new()).await;
    for (t, planned) in fleet.targets.iter().zip(plans) {
        let (changes, state) = planned.map_err(|e| anyhow::anyhow!("{}: {e}", t.project.host))?;
        let other: Vec<String> = changes
            .iter()
            .filter(|c| !upgrade_change(c, &fleet.inv, network))
            .map(|c| format!("{c:?}"))
            .collect();
        if !other.is_empty() {
            return Err(InputError::new(format!(
                "{} has changes besides the upgrade: {}",
                t.project.host,
                other.join("; ")
            ))
            .hint("run `bts-infra fleet apply` first, then the upgrade")
            .into());
        }
        for node in fleet
            .inv
            .nodes
            .iter()
            .filter(|n| n.host == t.project.host && n.network == network)
        {
            if state
                .containers
                .iter()
                .any(|c| c.service == node.name && c.image != image)
            {
                out.push(node);
            }
        }
    }
    Ok(out)
}

/// Whether `c` is part of upgrading `network`: the compose file, or one of its nodes' image.
fn upgrade_change(c: &Change, inv: &Inventory, network: &str) -> bool {
    match c {
        Change::WriteFile { path, .. } => path == "compose.yml" || path.starts_with("secrets/"),
        Change::Recreate { service, reason } => {
            reason.starts_with("image ") && inv.node(service).is_some_and(|n| n.network == network)
        }
        _ => false,
    }
}
