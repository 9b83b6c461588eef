//! The checks that need the whole inventory: host ports, producers, how many API nodes each
//! region has, secrets nobody uses, and every node's full spec as its container will see it.

use crate::inventory::build::Checker;
use crate::inventory::raw::RawInventory;
use crate::inventory::{Engine, Inventory};
use crate::render::node_env;
use crate::spec::{Secrets, check_node};
use std::collections::BTreeMap;

pub(crate) fn check(c: &mut Checker<'_>, raw: &RawInventory, inv: &Inventory, secrets: &dyn Secrets) {
    ports(c, raw, inv);
    producers(c, raw, inv);
    api_nodes_per_region(c, inv);
    unused_secrets(c, raw, inv);
    // The launcher's own check of each node's spec comes last and only on an otherwise clean
    // inventory: a missing key or port found above would show again in its words.
    if c.has_errors() {
        return;
    }
    for node in &inv.nodes {
        if let Err((problem, fix)) = check_node(inv, node, &node_env(inv, node), secrets) {
            c.error(
                node_at(raw, &node.name),
                format!("node {:?}.spec", node.name),
                problem,
                fix,
            );
        }
    }
    if let Some(f) = &inv.faucet {
        registrar_key(c, raw, inv, &f.registrar_key, secrets);
    }
}

/// The registrar's key can be read here (the fleet copies it to the faucet's host) and is a WIF.
/// The messages never show the value.
fn registrar_key(c: &mut Checker<'_>, raw: &RawInventory, inv: &Inventory, name: &str, secrets: &dyn Secrets) {
    let Some(source) = inv.secrets.get(name) else { return };
    let at = raw.secrets.get(name).map(|s| s.span().start);
    match secrets.read(name, source) {
        Err(reason) => c.error(
            at,
            format!("secret.{name}"),
            format!("cannot be read: {reason}"),
            "the fleet copies it to the faucet's host: make it readable here",
        ),
        Ok(value) if bts_protocol::PrivateKey::from_wif(value.trim()).is_err() => c.error(
            at,
            format!("secret.{name}"),
            "is not a private key in WIF (5...)",
            "put the registrar's active private key in it, as cli_wallet's dump_private_keys prints it",
        ),
        Ok(_) => {}
    }
}

/// Where node `name`'s table starts.
fn node_at(raw: &RawInventory, name: &str) -> Option<usize> {
    raw.nodes
        .iter()
        .find(|n| n.get_ref().name.get_ref() == name)
        .map(|n| n.span().start)
}

/// Every published port is used once per host.
fn ports(c: &mut Checker<'_>, raw: &RawInventory, inv: &Inventory) {
    let mut used: BTreeMap<(String, u16), String> = BTreeMap::new();
    let mut claim = |c: &mut Checker<'_>, host: &str, port: u16, what: String, at: Option<usize>| match used
        .get(&(host.to_owned(), port))
    {
        Some(first) => c.error(
            at,
            what,
            format!("port {port} on host {host:?} is already {first}'s"),
            "give each service on a host its own port",
        ),
        None => {
            used.insert((host.to_owned(), port), what);
        }
    };
    for node in &inv.nodes {
        let at = node_at(raw, &node.name);
        if let Some(p) = node.rpc_port {
            claim(c, &node.host, p, format!("node {:?}.rpc-port", node.name), at);
        }
        if let Some(p) = node.p2p_port {
            claim(c, &node.host, p, format!("node {:?}.p2p-port", node.name), at);
        }
    }
    for g in &inv.gateways {
        let at = raw
            .gateways
            .iter()
            .find(|r| r.get_ref().name.get_ref() == &g.name)
            .map(|r| r.span().start);
        claim(c, &g.host, g.port, format!("gateway {:?}.port", g.name), at);
        if let Some(tls) = &g.tls {
            claim(c, &g.host, tls.port, format!("gateway {:?}.tls.port", g.name), at);
            claim(
                c,
                &g.host,
                tls.redirect_port,
                format!("gateway {:?}.tls.redirect-port", g.name),
                at,
            );
        }
    }
    if let Some(f) = &inv.faucet {
        claim(
            c,
            &f.host,
            f.port,
            "faucet.port".to_owned(),
            raw.faucet.as_ref().map(|f| f.span().start),
        );
    }
    if let Some(p) = &inv.prometheus {
        claim(
            c,
            &p.host,
            p.port,
            "prometheus.port".to_owned(),
            raw.prometheus.as_ref().map(|p| p.span().start),
        );
    }
}

/// A devnet network has exactly one producer, and it is a seed (its followers follow it).
fn producers(c: &mut Checker<'_>, raw: &RawInventory, inv: &Inventory) {
    for network in inv.networks.iter().filter(|n| n.engine == Engine::Devnet) {
        let producers: Vec<_> = inv
            .nodes
            .iter()
            .filter(|n| n.network == network.name && n.roles.producer)
            .collect();
        let at = raw
            .networks
            .iter()
            .find(|r| r.get_ref().name.get_ref() == &network.name)
            .map(|r| r.span().start);
        match producers.as_slice() {
            [] => c.error(
                at,
                format!("network {:?}", network.name),
                "a devnet network has no producer",
                "add a [[node]] with spec.mode = \"producer,seed\" on it",
            ),
            [one] if !one.roles.seed => c.error(
                node_at(raw, &one.name),
                format!("node {:?}.spec.mode", one.name),
                "a devnet producer must be a seed: its followers follow it",
                "write mode = \"producer,seed\"",
            ),
            [_] => {}
            [_, second, ..] => c.error(
                node_at(raw, &second.name),
                format!("node {:?}.spec.mode", second.name),
                format!("network {:?} already has a producer", network.name),
                "a devnet has one producer: make this node an API or seed node",
            ),
        }
    }
}

/// Fewer than two API nodes of a network in a region: one restart takes the region's share of
/// the network down (a warning: small fleets start that way).
fn api_nodes_per_region(c: &mut Checker<'_>, inv: &Inventory) {
    for network in &inv.networks {
        for region in &inv.regions {
            let count = inv
                .api_nodes(&network.name)
                .filter(|n| inv.region_of(&n.host) == Some(region.name.as_str()))
                .count();
            if count < 2 {
                c.warn(
                    None,
                    format!("network {:?}", network.name),
                    format!(
                        "region {:?} has {count} API node{} of it",
                        region.name,
                        if count == 1 { "" } else { "s" }
                    ),
                    "run at least two per region, so that an upgrade or a crash leaves one serving there",
                );
            }
        }
    }
}

fn unused_secrets(c: &mut Checker<'_>, raw: &RawInventory, inv: &Inventory) {
    for name in inv.secrets.keys() {
        let used = inv.nodes.iter().any(|n| n.key.as_deref() == Some(name))
            || inv
                .faucet
                .as_ref()
                .is_some_and(|f| &f.registrar_key == name || f.database_url.as_deref() == Some(name));
        if !used {
            let at = raw.secrets.get(name).map(|s| s.span().start);
            c.warn(
                at,
                format!("secret.{name}"),
                "is not used",
                "remove it, or reference it from a node's key or the faucet",
            );
        }
    }
}
