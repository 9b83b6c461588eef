//! The configuration files of the fleet's services: each gateway's `gateway.toml` (its networks,
//! every API node as a backend with its region, region preferences from the regions, TLS, the
//! faucet's route), the faucet's `faucet.toml` and Prometheus's scrape configuration.

use crate::inventory::{Faucet, Gateway, Inventory, Node, Prometheus};
use toml::{Table, Value};

/// Where a service listens inside its container.
pub const SERVICE_PORT: u16 = 8080;
/// The faucet's path on every gateway.
pub const FAUCET_PATH: &str = "/onboarding";
/// Where a mounted geo database is in a gateway's container.
pub const GEO_DATABASE: &str = "/etc/bts/geo.mmdb";

/// How `from_host` reaches `node`'s RPC: by name on its own host, else the host's address.
pub fn node_rpc_url(inv: &Inventory, from_host: &str, node: &Node) -> Option<String> {
    let network = inv.network(&node.network)?;
    if node.host == from_host {
        return Some(format!("ws://{}:{}", node.name, network.chain.rpc_port()));
    }
    Some(format!("ws://{}:{}", inv.host(&node.host)?.address, node.rpc_port?))
}

/// The backends `gateway` has for `network`, in the order of its configuration (the index its
/// admin API takes): the network's API nodes, in inventory order.
pub fn gateway_backends<'a>(
    inv: &'a Inventory,
    gateway: &'a Gateway,
    network: &'a str,
) -> impl Iterator<Item = (&'a Node, String)> + 'a {
    inv.api_nodes(network)
        .filter_map(move |node| Some((node, node_rpc_url(inv, &gateway.host, node)?)))
}

/// `gateway`'s configuration file on a compose host.
pub fn gateway_toml(inv: &Inventory, gateway: &Gateway) -> String {
    let faucet = inv.faucet.as_ref().map(|f| faucet_url(inv, &gateway.host, f));
    gateway_toml_with(
        inv,
        gateway,
        &|network: &str| {
            let nodes = inv.nodes.iter().filter(|n| n.network == network && n.roles.api);
            nodes
                .filter_map(|n| Some((n, node_rpc_url(inv, &gateway.host, n)?)))
                .collect()
        },
        faucet,
    )
}

/// The API nodes of a network a gateway reaches, with their URLs.
pub(crate) type BackendsOf<'a> = dyn Fn(&str) -> Vec<(&'a Node, String)> + 'a;

/// `gateway`'s configuration file with the backends `backends` gives per network and the
/// faucet's URL (`None`: no faucet route).
pub(crate) fn gateway_toml_with<'a>(
    inv: &'a Inventory,
    gateway: &'a Gateway,
    backends: &BackendsOf<'a>,
    faucet: Option<String>,
) -> String {
    let own_region = inv.region_of(&gateway.host).unwrap_or_default();
    let mut root = Table::new();
    root.insert(
        "server".into(),
        Value::Table(table([("listen", Value::from(format!("0.0.0.0:{SERVICE_PORT}")))])),
    );
    root.insert(
        "health".into(),
        Value::Table(table([
            ("interval", Value::from("1s")),
            ("timeout", Value::from("2s")),
            ("max-lag-blocks", Value::from(3)),
        ])),
    );
    if let Some(tls) = &gateway.tls {
        let mut acme = Table::new();
        acme.insert("domains".into(), Value::from(tls.domains.clone()));
        if let Some(contact) = &tls.contact {
            acme.insert("contact".into(), Value::from(vec![contact.clone()]));
        }
        if let Some(directory) = &tls.directory {
            acme.insert("directory".into(), Value::from(directory.clone()));
        }
        acme.insert("state-dir".into(), Value::from("/var/lib/bts/acme"));
        let mut t = table([
            ("listen", Value::from("0.0.0.0:8443")),
            ("redirect-listen", Value::from("0.0.0.0:8000")),
        ]);
        t.insert("acme".into(), Value::Table(acme));
        root.insert("tls".into(), Value::Table(t));
    }
    let mut networks = Vec::new();
    for name in &gateway.networks {
        let Some(network) = inv.network(name) else { continue };
        let mut n = table([
            ("name", Value::from(name.clone())),
            ("chain-id", Value::from(network.chain_id.to_string())),
            ("paths", Value::from(network.paths.clone())),
        ]);
        let regions: Vec<&str> = inv.regions.iter().map(|r| r.name.as_str()).collect();
        let reached = backends(name);
        let present: Vec<&str> = reached.iter().filter_map(|(n, _)| inv.region_of(&n.host)).collect();
        let backends: Vec<Value> = reached
            .iter()
            .map(|(node, url)| {
                Value::Table(table([
                    ("url", Value::from(url.clone())),
                    (
                        "region",
                        Value::from(inv.region_of(&node.host).unwrap_or_default().to_owned()),
                    ),
                ]))
            })
            .collect();
        if inv.geo_database.is_some() {
            n.insert("selection".into(), Value::from("geo"));
            let mut prefer = Table::new();
            for region in &inv.regions {
                for code in &region.clients {
                    prefer.insert(code.clone(), Value::from(preference(&region.name, &regions, &present)));
                }
            }
            prefer.insert("*".into(), Value::from(preference(own_region, &regions, &present)));
            n.insert(
                "geo".into(),
                Value::Table(table([
                    ("database", Value::from(GEO_DATABASE)),
                    ("prefer", Value::Table(prefer)),
                ])),
            );
        } else {
            n.insert("selection".into(), Value::from("latency"));
        }
        n.insert("backend".into(), Value::Array(backends));
        networks.push(Value::Table(n));
    }
    root.insert("network".into(), Value::Array(networks));
    if let Some(upstream) = faucet {
        root.insert(
            "http-route".into(),
            Value::Array(vec![Value::Table(table([
                ("path-prefix", Value::from(FAUCET_PATH)),
                ("upstream", Value::from(upstream)),
            ]))]),
        );
    }
    header(&format!("gateway {:?} (region {own_region})", gateway.name), &root)
}

/// A gateway configuration without what `POST /admin/reload` applies in place (`[[network]]`
/// with its backends, `[health]`).
pub(crate) fn without_reloadable(config: &str) -> String {
    let mut table: Table = toml::from_str(config).unwrap_or_default();
    table.remove("network");
    table.remove("health");
    toml::to_string(&table).unwrap_or_default()
}

/// Regions in order of preference starting with `first`, only those with backends.
fn preference(first: &str, regions: &[&str], present: &[&str]) -> Vec<String> {
    std::iter::once(first)
        .chain(regions.iter().copied().filter(|r| *r != first))
        .filter(|r| present.contains(r))
        .map(str::to_owned)
        .collect()
}

/// How a service on `from_host` reaches the faucet.
pub fn faucet_url(inv: &Inventory, from_host: &str, faucet: &Faucet) -> String {
    if faucet.host == from_host {
        format!("http://faucet:{SERVICE_PORT}")
    } else {
        let address = inv.host(&faucet.host).map_or("", |h| h.address.as_str());
        format!("http://{address}:{}", faucet.port)
    }
}

/// The faucet's configuration file. It broadcasts through the API nodes of its network (by name
/// on its own host, by address elsewhere): a gateway would add a hop and hide which node failed.
pub fn faucet_toml(inv: &Inventory, faucet: &Faucet) -> String {
    let nodes: Vec<String> = inv
        .api_nodes(&faucet.network)
        .filter_map(|n| node_rpc_url(inv, &faucet.host, n))
        .collect();
    // The gateways forward the client's address; they reach the faucet through the compose
    // network (on its host) or from their hosts' addresses.
    let mut trusted: Vec<String> = vec!["127.0.0.1".into(), "172.16.0.0/12".into()];
    for g in &inv.gateways {
        if let Some(h) = inv
            .host(&g.host)
            .filter(|h| g.host != faucet.host && !trusted.contains(&h.address))
        {
            trusted.push(h.address.clone());
        }
    }
    faucet_toml_with(inv, faucet, nodes, trusted)
}

/// The faucet's configuration file, broadcasting through `nodes` and trusting the client
/// address that the proxies at `trusted` forward.
pub(crate) fn faucet_toml_with(inv: &Inventory, faucet: &Faucet, nodes: Vec<String>, trusted: Vec<String>) -> String {
    let Some(network) = inv.network(&faucet.network) else {
        return String::new();
    };
    let mut root = table([
        ("listen", Value::from(format!("0.0.0.0:{SERVICE_PORT}"))),
        ("path-prefix", Value::from(FAUCET_PATH)),
    ]);
    if faucet.database_url.is_none() {
        root.insert("database-url".into(), Value::from("sqlite:///var/lib/bts/faucet.db"));
    }
    root.insert(
        "chain".into(),
        Value::Table(table([
            ("id", Value::from(network.chain_id.to_string())),
            ("prefix", Value::from(network.chain.prefix().to_string())),
            ("nodes", Value::from(nodes)),
        ])),
    );
    root.insert(
        "registrar".into(),
        Value::Table(table([
            ("name", Value::from(faucet.registrar.clone())),
            (
                "key-file",
                Value::from(crate::spec::secret_path(&faucet.registrar_key).display().to_string()),
            ),
            ("referrer-percent", Value::from(i64::from(faucet.referrer_percent))),
        ])),
    );
    root.insert(
        "proxy".into(),
        Value::Table(table([
            ("trusted", Value::from(trusted)),
            ("client-ip-header", Value::from("x-forwarded-for")),
        ])),
    );
    header("the faucet", &root)
}

/// deploy/prometheus's rules, written beside `prometheus.yml` under these names (the same in the
/// project and in the container, so `promtool check config` finds them in either).
pub(crate) const RULE_FILES: [(&str, &str); 2] = [
    (
        "prometheus-recording.yml",
        include_str!("../../../../deploy/prometheus/rules/recording.yml"),
    ),
    (
        "prometheus-alerts.yml",
        include_str!("../../../../deploy/prometheus/rules/alerts.yml"),
    ),
];

/// Prometheus's configuration: every gateway and the faucet scraped every 15 s (by name on
/// Prometheus's own host, by address elsewhere), each target labelled with its region.
pub(crate) fn prometheus_yml(inv: &Inventory, prometheus: &Prometheus) -> String {
    let target = |host: &str, name: &str, port: u16| -> String {
        if host == prometheus.host {
            format!("{name}:{SERVICE_PORT}")
        } else {
            format!("{}:{port}", inv.host(host).map_or("", |h| h.address.as_str()))
        }
    };
    let mut jobs = Vec::new();
    let gateways: Vec<serde_json::Value> = inv
        .gateways
        .iter()
        .map(|g| {
            serde_json::json!({
                "targets": [target(&g.host, &g.name, g.port)],
                "labels": { "gateway": g.name, "region": inv.region_of(&g.host).unwrap_or_default() },
            })
        })
        .collect();
    if !gateways.is_empty() {
        jobs.push(serde_json::json!({ "job_name": "bts-gateway", "static_configs": gateways }));
    }
    if let Some(f) = &inv.faucet {
        jobs.push(serde_json::json!({
            "job_name": "bts-faucet",
            "static_configs": [{
                "targets": [target(&f.host, "faucet", f.port)],
                "labels": { "network": f.network, "region": inv.region_of(&f.host).unwrap_or_default() },
            }],
        }));
    }
    if !prometheus.probes.is_empty() {
        // The prober labels its samples with its own region: keep them.
        let targets: Vec<serde_json::Value> = (prometheus.probes.iter())
            .map(|p| serde_json::json!({ "targets": [p.address], "labels": { "region": p.region } }))
            .collect();
        jobs.push(serde_json::json!({ "job_name": "bts-probe", "honor_labels": true, "static_configs": targets }));
    }
    let doc = serde_json::json!({
        "global": { "scrape_interval": "15s", "evaluation_interval": "15s" },
        "rule_files": RULE_FILES.map(|(name, _)| name),
        "scrape_configs": jobs,
    });
    format!(
        "# Rendered by `bts-infra fleet` for Prometheus on host {:?} from the inventory: edit that instead of this file.\n{}",
        prometheus.host,
        super::yaml::to_yaml(&doc)
    )
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Table {
    entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn header(what: &str, root: &Table) -> String {
    format!(
        "# Rendered by `bts-infra fleet` for {what} from the inventory: edit that instead of this file.\n{}",
        toml::to_string(root).unwrap_or_default()
    )
}
