//! Taking a node out of the gateways' pools and putting it back, for changes wallets must not
//! notice (`upgrade`, `rollback`, `bootstrap`, `down` of part of a fleet): cordon it on every
//! gateway that routes to it, wait until its requests and sessions have moved, and after the
//! change wait until it is healthy and in sync on every gateway before uncordoning it.
//! The gateways' admin API answers on localhost only, so the calls run inside their containers.

use super::apply::{Fleet, Target};
use super::hosts::exec_in;
use bts_fleet::inventory::{Inventory, Node};
use bts_fleet::render::{SERVICE_PORT, gateway_backends};
use std::time::{Duration, Instant};

/// The lag a node may have to count as back in sync.
const MAX_LAG: u64 = 3;

/// Cordons `node` on `gateways` (from [`gateways_of`]).
pub(super) async fn cordon(fleet: &Fleet, node: &Node, gateways: &[(String, String)]) -> Result<(), String> {
    for (gw, url) in gateways {
        set_cordon(fleet, gw, node, url, true).await?;
    }
    if !gateways.is_empty() {
        eprintln!(
            "{}: cordoned on {}",
            node.name,
            gateways.iter().map(|(g, _)| g.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Waits until no gateway has requests or sessions in flight on `node` (at most `timeout`).
pub(super) async fn drain(fleet: &Fleet, node: &Node, gateways: &[(String, String)], timeout: Duration) {
    if gateways.is_empty() {
        return;
    }
    let started = Instant::now();
    while started.elapsed() < timeout {
        let mut busy = 0;
        for (gw, url) in gateways {
            busy += backend_status(fleet, gw, &node.network, url)
                .await
                .and_then(|(_, b)| b["in_flight"].as_u64())
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
        humantime::format_duration(timeout)
    );
}

/// Waits until `node` is healthy with a lag of at most 3 blocks on each of `gateways`, and
/// uncordons it there; gives up after `timeout`, leaving it cordoned.
pub(super) async fn rejoin(
    fleet: &Fleet,
    node: &Node,
    gateways: &[(String, String)],
    timeout: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    for (gw, url) in gateways {
        loop {
            let backend = backend_status(fleet, gw, &node.network, url).await.map(|(_, b)| b);
            let in_sync = backend
                .as_ref()
                .is_some_and(|b| b["state"] == "healthy" && b["lag_blocks"].as_u64().is_some_and(|l| l <= MAX_LAG));
            if in_sync {
                break;
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "not back in sync on {gw} within {}: {}",
                    humantime::format_duration(timeout),
                    backend.map_or("no status".to_owned(), |b| b["reason"].to_string())
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        set_cordon(fleet, gw, node, url, false).await?;
    }
    eprintln!(
        "{}: in sync{}",
        node.name,
        if gateways.is_empty() { "" } else { ", uncordoned" }
    );
    Ok(())
}

/// The gateways that route to `node`, with the URL each reaches it at. Its position in a
/// gateway's pool is looked up in the running gateway's status by that URL, not computed from
/// the inventory: the running configuration may predate the inventory (a node added to it).
pub(super) fn gateways_of(inv: &Inventory, node: &Node) -> Vec<(String, String)> {
    inv.gateways
        .iter()
        .filter(|g| g.networks.contains(&node.network))
        .filter_map(|g| {
            let (_, url) = gateway_backends(inv, g, &node.network).find(|(n, _)| n.name == node.name)?;
            Some((g.name.clone(), url))
        })
        .collect()
}

fn gateway_target<'a>(fleet: &'a Fleet, gateway: &str) -> Option<&'a Target> {
    let host = fleet.inv.gateways.iter().find(|g| g.name == gateway)?.host.as_str();
    fleet.targets.iter().find(|t| t.project.host == host)
}

/// Cordons (`on`) or uncordons `node` on `gateway`, which reaches it at `url`.
async fn set_cordon(fleet: &Fleet, gateway: &str, node: &Node, url: &str, on: bool) -> Result<(), String> {
    let (index, _) = backend_status(fleet, gateway, &node.network, url)
        .await
        .ok_or_else(|| format!("{gateway} has no backend {url} (is its configuration applied?)"))?;
    let action = if on { "cordon" } else { "uncordon" };
    let path = format!("/admin/backends/{}/{index}/{action}", node.network);
    let t = gateway_target(fleet, gateway).ok_or("no such gateway")?;
    // The admin API answers on localhost only: the call runs inside the gateway's container.
    let admin = format!("http://127.0.0.1:{SERVICE_PORT}{path}");
    exec_in(
        &t.remote,
        &fleet.inv.project,
        gateway,
        &["healthcheck", "--method", "POST", "--print-body", &admin],
    )
    .await
    .map(|_| ())
    .map_err(|e| format!("{gateway} {path}: {e}"))
}

/// The backend of `network` that `gateway` reaches at `url`: its position in the pool (what the
/// admin API takes) and its entry in the gateway's /status.json.
async fn backend_status(fleet: &Fleet, gateway: &str, network: &str, url: &str) -> Option<(usize, serde_json::Value)> {
    let status = gateway_status(fleet, gateway).await?;
    let backends = status["networks"].as_array()?.iter().find(|n| n["name"] == network)?["backends"].as_array()?;
    backends
        .iter()
        .position(|b| {
            b["url"]
                .as_str()
                .is_some_and(|u| u.trim_end_matches('/') == url.trim_end_matches('/'))
        })
        .map(|i| (i, backends[i].clone()))
}

/// `gateway`'s /status.json, read inside its container.
async fn gateway_status(fleet: &Fleet, gateway: &str) -> Option<serde_json::Value> {
    let t = gateway_target(fleet, gateway)?;
    let status_url = format!("http://127.0.0.1:{SERVICE_PORT}/status.json");
    let body = exec_in(
        &t.remote,
        &fleet.inv.project,
        gateway,
        &["healthcheck", "--print-body", &status_url],
    )
    .await
    .ok()?;
    serde_json::from_str(body.trim()).ok()
}

/// Puts every cordoned backend of the gateways on `hosts` back in their pools: the inventory has
/// no cordons, so `apply` ends with every node in the pools (after a `down` of a host, or an
/// upgrade that stopped). Returns what it uncordoned, as `NODE on GATEWAY`.
pub(super) async fn uncordon_all(fleet: &Fleet, hosts: &[&str]) -> Vec<String> {
    let mut done = Vec::new();
    for gateway in fleet.inv.gateways.iter().filter(|g| hosts.contains(&g.host.as_str())) {
        let Some(status) = gateway_status(fleet, &gateway.name).await else {
            continue;
        };
        for network in status["networks"].as_array().into_iter().flatten() {
            let name = network["name"].as_str().unwrap_or_default();
            for b in network["backends"].as_array().into_iter().flatten() {
                if b["cordoned"] != true {
                    continue;
                }
                let url = b["url"].as_str().unwrap_or_default();
                let Some(node) = gateway_backends(&fleet.inv, gateway, name)
                    .find(|(_, u)| u == url)
                    .map(|(n, _)| n)
                else {
                    continue;
                };
                if set_cordon(fleet, &gateway.name, node, url, false).await.is_ok() {
                    done.push(format!("{} on {}", node.name, gateway.name));
                }
            }
        }
    }
    done
}
