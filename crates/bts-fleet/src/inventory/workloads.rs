//! The workloads of an inventory: nodes, gateways, the faucet and Prometheus, each checked
//! against the places (hosts, networks) and secrets already built.

use super::build::{Checker, exists, image_ref, label, secret_exists};
use super::raw::{RawFaucet, RawGateway, RawNode, RawPrometheus};
use super::{Faucet, Gateway, Inventory, Node, ProbeTarget, Prometheus, Tls};
use crate::spec::node_settings;
use toml::Spanned;

/// The gateway's plain listener when `port` is not given.
const GATEWAY_PORT: u16 = 8080;
/// The faucet's host port when `port` is not given.
const FAUCET_PORT: u16 = 8081;
/// Prometheus's host port when `port` is not given.
const PROMETHEUS_PORT: u16 = 9090;
/// The referrer's share when not given: 70 % (the worker proposal's).
const REFERRER_PERCENT: u16 = 7000;

pub(super) fn nodes(c: &mut Checker<'_>, raw: &[Spanned<RawNode>], inv: &Inventory) -> Vec<Node> {
    let hosts: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    let networks: Vec<&str> = inv.networks.iter().map(|n| n.name.as_str()).collect();
    let mut out: Vec<Node> = Vec::new();
    for (i, n) in raw.iter().enumerate() {
        let at = n.span().start;
        let n = n.get_ref();
        let Some(name) = label(c, &n.name, &format!("node[{i}].name")) else {
            continue;
        };
        let key = |k: &str| format!("node {name:?}.{k}");
        if out.iter().any(|o| o.name == name) {
            c.error(
                Some(n.name.span().start),
                key("name"),
                format!("node {name:?} is defined twice"),
                "node names are unique in the fleet (they name containers and volumes)",
            );
            continue;
        }
        let host_ok = exists(c, &n.host, &key("host"), "host", &hosts);
        let Some(network) = exists(c, &n.network, &key("network"), "network", &networks)
            .then(|| inv.network(n.network.get_ref()))
            .flatten()
        else {
            continue;
        };
        if let Some(secret) = &n.key {
            secret_exists(c, secret, &key("key"), inv);
        }
        let Some((roles, settings)) = node_settings(c, n, &name, at) else {
            continue;
        };
        let rpc_port = match (&n.rpc_port, roles.api) {
            (Some(p), false) => {
                let problem = if roles.producer {
                    "a producer never serves public RPC"
                } else {
                    "only an API node publishes RPC"
                };
                c.error(
                    Some(p.span().start),
                    key("rpc-port"),
                    problem,
                    "remove rpc-port, or run a separate API node (spec.mode = \"api\") for the public",
                );
                None
            }
            (p, true) => Some(p.as_ref().map_or(network.chain.rpc_port(), |p| *p.get_ref())),
            (None, false) => None,
        };
        let p2p_port = match (&n.p2p_port, roles.seed) {
            (Some(p), false) => {
                c.error(
                    Some(p.span().start),
                    key("p2p-port"),
                    "only a seed node publishes its P2P endpoint",
                    "remove p2p-port, or add seed to spec.mode",
                );
                None
            }
            (p, true) => Some(p.as_ref().map_or(network.chain.p2p_port(), |p| *p.get_ref())),
            (None, false) => None,
        };
        match (&n.key, roles.producer) {
            (None, true) => c.error(
                Some(at),
                key("key"),
                "a producer needs its block-signing key file",
                "name a secret: key = \"mainnet-witness-keys\" with [secret.mainnet-witness-keys] file = \"...\"",
            ),
            (Some(k), false) => c.error(
                Some(k.span().start),
                key("key"),
                "only a producer has a signing key",
                "remove key, or add producer to spec.mode",
            ),
            _ => {}
        }
        if host_ok {
            out.push(Node {
                host: n.host.get_ref().clone(),
                network: network.name.clone(),
                roles,
                rpc_port,
                p2p_port,
                key: n.key.as_ref().map(|k| k.get_ref().clone()),
                settings,
                name,
            });
        }
    }
    out
}

pub(super) fn gateways(c: &mut Checker<'_>, raw: &[Spanned<RawGateway>], inv: &Inventory) -> Vec<Gateway> {
    let hosts: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    let networks: Vec<&str> = inv.networks.iter().map(|n| n.name.as_str()).collect();
    let mut out: Vec<Gateway> = Vec::new();
    for (i, g) in raw.iter().enumerate() {
        let at = g.span().start;
        let g = g.get_ref();
        let Some(name) = label(c, &g.name, &format!("gateway[{i}].name")) else {
            continue;
        };
        let key = |k: &str| format!("gateway {name:?}.{k}");
        if out.iter().any(|o| o.name == name) || inv.node(&name).is_some() {
            c.error(
                Some(g.name.span().start),
                key("name"),
                format!("{name:?} is already the name of a gateway or node"),
                "gateway and node names are unique in the fleet (they name containers)",
            );
            continue;
        }
        if !exists(c, &g.host, &key("host"), "host", &hosts) {
            continue;
        }
        let served: Vec<String> = match &g.networks {
            Some(list) => list
                .iter()
                .filter(|n| exists(c, n, &key("networks"), "network", &networks))
                .map(|n| n.get_ref().clone())
                .collect(),
            None => inv.networks.iter().map(|n| n.name.clone()).collect(),
        };
        for network in &served {
            if inv.api_nodes(network).next().is_none() {
                c.error(Some(at), key("networks"), format!("network {network:?} has no API node to route to"), format!("add a [[node]] with network = {network:?} and spec.mode = \"api\", or leave the network out of this gateway's networks"));
            }
        }
        let tls = g.tls.as_ref().map(|t| {
            let t = t.get_ref();
            if t.domains.is_empty() {
                c.error(
                    Some(at),
                    key("tls.domains"),
                    "is empty",
                    "list the names the certificate is for, e.g. [\"api.example.org\", \"us.api.example.org\"]",
                );
            }
            Tls {
                domains: t.domains.iter().map(|d| d.get_ref().clone()).collect(),
                contact: t.contact.as_ref().map(|s| s.get_ref().clone()),
                directory: t.directory.as_ref().map(|s| s.get_ref().clone()),
                port: t.port.as_ref().map_or(443, |p| *p.get_ref()),
                redirect_port: t.redirect_port.as_ref().map_or(80, |p| *p.get_ref()),
            }
        });
        out.push(Gateway {
            host: g.host.get_ref().clone(),
            port: g.port.as_ref().map_or(GATEWAY_PORT, |p| *p.get_ref()),
            networks: served,
            tls,
            name,
        });
    }
    out
}

pub(super) fn faucet(c: &mut Checker<'_>, f: &Spanned<RawFaucet>, inv: &Inventory) -> Option<Faucet> {
    let f = f.get_ref();
    let hosts: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    let networks: Vec<&str> = inv.networks.iter().map(|n| n.name.as_str()).collect();
    let host_ok = exists(c, &f.host, "faucet.host", "host", &hosts);
    let network_ok = exists(c, &f.network, "faucet.network", "network", &networks);
    if let Err(e) = bts_protocol::name::is_valid_name(f.registrar.get_ref()) {
        c.error(
            Some(f.registrar.span().start),
            "faucet.registrar",
            format!("{:?} is not an account name: {e}", f.registrar.get_ref()),
            "write the registrar account's name as on chain",
        );
    }
    secret_exists(c, &f.registrar_key, "faucet.registrar-key", inv);
    if let Some(url) = &f.database_url {
        secret_exists(c, url, "faucet.database-url", inv);
    }
    let referrer_percent = f.referrer_percent.as_ref().map_or(REFERRER_PERCENT, |p| *p.get_ref());
    if referrer_percent > 10_000 {
        let at = f.referrer_percent.as_ref().map(|p| p.span().start);
        c.error(
            at,
            "faucet.referrer-percent",
            format!("{referrer_percent} is over 10000 (100 %)"),
            "write hundredths of a percent: 7000 is 70 %",
        );
    }
    if network_ok && inv.api_nodes(f.network.get_ref()).next().is_none() {
        c.error(
            Some(f.network.span().start),
            "faucet.network",
            format!("network {:?} has no API node", f.network.get_ref()),
            "the faucet broadcasts through the network's API nodes: add one",
        );
    }
    (host_ok && network_ok).then(|| Faucet {
        host: f.host.get_ref().clone(),
        network: f.network.get_ref().clone(),
        registrar: f.registrar.get_ref().clone(),
        registrar_key: f.registrar_key.get_ref().clone(),
        referrer_percent,
        port: f.port.as_ref().map_or(FAUCET_PORT, |p| *p.get_ref()),
        database_url: f.database_url.as_ref().map(|u| u.get_ref().clone()),
    })
}

pub(super) fn prometheus(c: &mut Checker<'_>, p: &Spanned<RawPrometheus>, inv: &Inventory) -> Option<Prometheus> {
    let p = p.get_ref();
    let hosts: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut probes = Vec::new();
    for (i, probe) in p.probe.iter().enumerate() {
        let address = probe.address.get_ref();
        let valid = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
        if !valid {
            c.error(
                Some(probe.address.span().start),
                format!("prometheus.probe[{i}].address"),
                format!("{address:?} is not HOST:PORT"),
                "give the prober's listen address as Prometheus reaches it, e.g. \"probe-us.example.net:9300\"",
            );
            continue;
        }
        if let Some(region) = label(c, &probe.region, &format!("prometheus.probe[{i}].region")) {
            probes.push(ProbeTarget {
                address: address.clone(),
                region,
            });
        }
    }
    exists(c, &p.host, "prometheus.host", "host", &hosts).then(|| Prometheus {
        host: p.host.get_ref().clone(),
        image: image_ref(c, &p.image, "prometheus.image"),
        port: p.port.as_ref().map_or(PROMETHEUS_PORT, |p| *p.get_ref()),
        probes,
    })
}
