//! `fleet upgrade NETWORK [--image IMAGE]`: a rolling upgrade that wallets do not notice. Per
//! region one node at a time (regions in parallel): cordon it on every gateway that routes to it,
//! wait until its requests and sessions have moved, recreate it on the new image, wait until it
//! is healthy and back in sync (lag ≤ 3 blocks on every gateway), uncordon it, go on. The first
//! node that does not come back stops the upgrade: it stays cordoned, the others keep serving,
//! and the command says what to do.

use super::InventoryArgs;
use super::apply::{Fleet, Target, open_fleet};
use super::hosts::{compose_up, exec_in, wait_ready, write_file};
use crate::error::InputError;
use bts_fleet::inventory::{Inventory, Node, set_node_image};
use bts_fleet::plan::Change;
use bts_fleet::render::{SERVICE_PORT, gateway_backends};
use clap::Args;
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The lag a node may have to count as back in sync.
const MAX_LAG: u64 = 3;

/// `bts-infra fleet upgrade`.
#[derive(Args)]
pub(crate) struct UpgradeArgs {
    /// The network whose nodes to upgrade
    #[arg(value_name = "NETWORK")]
    network: String,
    /// The new node image; written into the inventory's node-image first (else the inventory's
    /// node-image is the target)
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    #[command(flatten)]
    inventory: InventoryArgs,
    /// How long a node may take to come back healthy and in sync
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// How long to wait for a cordoned node's requests and sessions to move
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
}

impl UpgradeArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let path = &self.inventory.inventory;
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
        let fleet = open_fleet(&self.inventory).map_err(undo)?;
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
                    for node in nodes {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        match this.upgrade_node(fleet, node).await {
                            Ok(()) => done.push(node.name.clone()),
                            Err(e) => {
                                stop.store(true, Ordering::SeqCst);
                                return Err(format!("{}: {e}", node.name));
                            }
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
                    Err(e) => failed.push(e),
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
                     fix the cause and run the upgrade again, or set the previous node-image and run it to roll back",
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
        for (gw, index) in &gateways {
            admin(fleet, gw, &format!("/admin/backends/{}/{index}/cordon", node.network)).await?;
        }
        if !gateways.is_empty() {
            eprintln!(
                "{}: cordoned on {}",
                node.name,
                gateways.iter().map(|(g, _)| g.as_str()).collect::<Vec<_>>().join(", ")
            );
            self.drain(fleet, node, &gateways).await;
        }
        for (path, text) in bts_fleet::plan::project_files(&target.project) {
            write_file(&target.remote, &path, text.as_bytes()).await?;
        }
        compose_up(&target.remote, project, std::slice::from_ref(&node.name), &[], false)
            .await
            .map_err(|e| format!("compose up: {e}"))?;
        wait_ready(&target.remote, project, std::slice::from_ref(&node.name), self.timeout).await?;
        eprintln!("{}: recreated and healthy", node.name);
        let started = Instant::now();
        for (gw, index) in &gateways {
            loop {
                let backend = backend_status(fleet, gw, &node.network, *index).await;
                let in_sync = backend
                    .as_ref()
                    .is_some_and(|b| b["state"] == "healthy" && b["lag_blocks"].as_u64().is_some_and(|l| l <= MAX_LAG));
                if in_sync {
                    break;
                }
                if started.elapsed() > self.timeout {
                    return Err(format!(
                        "not back in sync on {gw} within {}: {}",
                        humantime::format_duration(self.timeout),
                        backend.map_or("no status".to_owned(), |b| b["reason"].to_string())
                    ));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            admin(fleet, gw, &format!("/admin/backends/{}/{index}/uncordon", node.network)).await?;
        }
        eprintln!(
            "{}: in sync{}",
            node.name,
            if gateways.is_empty() {
                String::new()
            } else {
                ", uncordoned".to_owned()
            }
        );
        Ok(())
    }

    /// Waits until no gateway has requests or sessions in flight on `node` (at most the drain timeout).
    async fn drain(&self, fleet: &Fleet, node: &Node, gateways: &[(String, usize)]) {
        let started = Instant::now();
        while started.elapsed() < self.drain_timeout {
            let mut busy = 0;
            for (gw, index) in gateways {
                busy += backend_status(fleet, gw, &node.network, *index)
                    .await
                    .and_then(|b| b["in_flight"].as_u64())
                    .unwrap_or(0);
            }
            if busy == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "{}: still busy after {}; going on (its sessions fail over)",
            node.name,
            humantime::format_duration(self.drain_timeout)
        );
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

/// The gateways that route to `node`, with its backend index in each (their configuration's order).
fn gateways_of(inv: &Inventory, node: &Node) -> Vec<(String, usize)> {
    inv.gateways
        .iter()
        .filter(|g| g.networks.contains(&node.network))
        .filter_map(|g| {
            Some((
                g.name.clone(),
                gateway_backends(inv, g, &node.network).position(|(n, _)| n.name == node.name)?,
            ))
        })
        .collect()
}

fn gateway_target<'a>(fleet: &'a Fleet, gateway: &str) -> Option<&'a Target> {
    let host = fleet.inv.gateways.iter().find(|g| g.name == gateway)?.host.as_str();
    fleet.targets.iter().find(|t| t.project.host == host)
}

/// An admin call to `gateway` from inside its container (the admin API answers on localhost).
async fn admin(fleet: &Fleet, gateway: &str, path: &str) -> Result<(), String> {
    let t = gateway_target(fleet, gateway).ok_or("no such gateway")?;
    let url = format!("http://127.0.0.1:{SERVICE_PORT}{path}");
    exec_in(
        &t.remote,
        &fleet.inv.project,
        gateway,
        &["healthcheck", "--method", "POST", "--print-body", &url],
    )
    .await
    .map(|_| ())
    .map_err(|e| format!("{gateway} {path}: {e}"))
}

/// Backend `index` of `network` in `gateway`'s /status.json.
async fn backend_status(fleet: &Fleet, gateway: &str, network: &str, index: usize) -> Option<serde_json::Value> {
    let t = gateway_target(fleet, gateway)?;
    let url = format!("http://127.0.0.1:{SERVICE_PORT}/status.json");
    let body = exec_in(
        &t.remote,
        &fleet.inv.project,
        gateway,
        &["healthcheck", "--print-body", &url],
    )
    .await
    .ok()?;
    let status: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    status["networks"].as_array()?.iter().find(|n| n["name"] == network)?["backends"]
        .get(index)
        .cloned()
}
