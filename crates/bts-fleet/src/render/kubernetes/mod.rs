//! The inventory as Kubernetes manifests: one kustomize directory per region, because a region
//! is one cluster (`kubectl apply -k DIR/REGION` against that region's cluster). Hosts do not
//! appear: the scheduler places the pods, and anti-affinity spreads a network's API nodes.
//!
//! What differs from the compose fleet, and why:
//! - A gateway's backends are its own region's API nodes, reached in the cluster by name. Node
//!   RPC is never exposed outside the cluster (the NetworkPolicies let only the gateway and the
//!   faucet in), so another region's nodes are not reachable: failover between regions is left
//!   to the DNS in front of the regions' gateways. For the same reason the faucet's route is on
//!   its own region's gateway only, and gateways select by latency (no geo database to mount).
//! - Secrets are referenced by name; the operator creates them (the kustomization lists the
//!   commands), so their values never enter a rendered file.
//! - Every directory is self-contained (kustomize refuses files outside it, and the kustomize in
//!   Debian's kubectl takes no directory as a resource), so the shared files are repeated.

mod workloads;

use super::yaml;
use crate::inventory::{Inventory, Node, SecretSource};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The label naming what a pod is (`node`, `gateway`, `faucet`).
pub(super) const COMPONENT: &str = "app.kubernetes.io/component";
/// The label naming the instance (the node's or gateway's name, `faucet`).
pub(super) const INSTANCE: &str = "app.kubernetes.io/instance";
/// The label naming a node's network.
pub(super) const NETWORK: &str = "bts-infra.io/network";
/// The label marking nodes that serve RPC.
pub(super) const API: &str = "bts-infra.io/api";

/// The manifests of every region: (path relative to the output directory, text).
pub fn render_kubernetes(inv: &Inventory) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for region in &inv.regions {
        let in_region = |host: &str| inv.region_of(host) == Some(region.name.as_str());
        let nodes: Vec<&Node> = inv.nodes.iter().filter(|n| in_region(&n.host)).collect();
        let gateways: Vec<_> = inv.gateways.iter().filter(|g| in_region(&g.host)).collect();
        let faucet = inv.faucet.as_ref().filter(|f| in_region(&f.host));
        if nodes.is_empty() && gateways.is_empty() && faucet.is_none() {
            continue;
        }
        let mut resources = vec!["namespace.yaml".to_owned(), "network-policies.yaml".to_owned()];
        let mut region_files = vec![
            ("namespace.yaml".to_owned(), documents(&[namespace(inv)])),
            ("network-policies.yaml".to_owned(), documents(&policies(inv, &nodes))),
        ];
        for node in &nodes {
            region_files.push((format!("{}.yaml", node.name), documents(&workloads::node(inv, node))));
        }
        let budgets = workloads::api_budgets(inv, &nodes);
        if !budgets.is_empty() {
            region_files.push(("disruption-budgets.yaml".to_owned(), documents(&budgets)));
        }
        for gateway in &gateways {
            let docs = workloads::gateway(inv, gateway, &nodes, faucet.is_some());
            region_files.push((format!("{}.yaml", gateway.name), documents(&docs)));
        }
        if let Some(faucet) = faucet {
            region_files.push((
                "faucet.yaml".to_owned(),
                documents(&workloads::faucet(inv, faucet, &nodes)),
            ));
        }
        resources.extend(region_files.iter().skip(2).map(|(name, _)| name.clone()));
        let mut secrets: BTreeSet<&str> = nodes.iter().filter_map(|n| n.key.as_deref()).collect();
        if let Some(f) = faucet {
            secrets.insert(&f.registrar_key);
            secrets.extend(f.database_url.as_deref());
        }
        files.push((
            format!("{}/kustomization.yaml", region.name),
            kustomization(inv, &region.name, &resources, &secrets),
        ));
        files.extend(
            region_files
                .into_iter()
                .map(|(name, text)| (format!("{}/{name}", region.name), text)),
        );
    }
    files
}

fn kustomization(inv: &Inventory, region: &str, resources: &[String], secrets: &BTreeSet<&str>) -> String {
    let mut head = format!(
        "# Rendered by `bts-infra fleet render --kubernetes` from {}: region {region:?}, one cluster.\n\
         # Edit the inventory and render again instead of editing these files.\n",
        inv.file.display()
    );
    if !secrets.is_empty() {
        head.push_str("# Create the secrets first (their values are never rendered):\n");
        head.push_str(&format!("#   kubectl create namespace {}\n", inv.project));
        for name in secrets {
            let from = match inv.secrets.get(*name) {
                Some(SecretSource::File(path)) => format!("--from-file=value={}", path.display()),
                Some(SecretSource::Env(var)) => format!("--from-literal=value=\"${var}\""),
                None => "--from-file=value=FILE".to_owned(),
            };
            head.push_str(&format!(
                "#   kubectl -n {} create secret generic {name} {from}\n",
                inv.project
            ));
        }
    }
    head.push_str(&format!("# Then: kubectl apply -k {region}\n"));
    let doc = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": inv.project,
        "resources": resources,
    });
    head + &yaml::to_yaml(&doc)
}

fn namespace(inv: &Inventory) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": inv.project,
            // Every pod here runs as a user, read-only, with no privileges: enforce it.
            "labels": { "pod-security.kubernetes.io/enforce": "restricted" },
        },
    })
}

/// Nothing comes in unless a policy lets it: node RPC only from the gateways and the faucet,
/// P2P only to seeds, the faucet only from the gateways, the gateways from anywhere.
fn policies(inv: &Inventory, nodes: &[&Node]) -> Vec<Value> {
    let port_list = |ports: BTreeSet<u16>| -> Vec<Value> {
        ports
            .into_iter()
            .map(|p| json!({ "protocol": "TCP", "port": p }))
            .collect()
    };
    let chain_of = |n: &Node| inv.network(&n.network).map(|net| net.chain);
    let rpc: BTreeSet<u16> = nodes
        .iter()
        .filter(|n| n.roles.api)
        .filter_map(|n| chain_of(n))
        .map(|c| c.rpc_port())
        .collect();
    let p2p: BTreeSet<u16> = nodes
        .iter()
        .filter(|n| n.roles.seed)
        .filter_map(|n| chain_of(n))
        .map(|c| c.p2p_port())
        .collect();
    let from = |components: &[&str]| -> Value {
        json!([{ "podSelector": { "matchExpressions": [
            { "key": COMPONENT, "operator": "In", "values": components }
        ] } }])
    };
    let policy = |name: &str, selector: Value, ingress: Vec<Value>| {
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": { "name": name },
            "spec": { "podSelector": selector, "policyTypes": ["Ingress"], "ingress": ingress },
        })
    };
    let component = |c: &str| json!({ "matchLabels": { COMPONENT: c } });
    let mut out = vec![policy("default-deny-ingress", json!({}), vec![])];
    if !rpc.is_empty() {
        out.push(policy(
            "node-rpc-from-gateway-and-faucet",
            json!({ "matchLabels": { COMPONENT: "node", API: "true" } }),
            vec![json!({ "from": from(&["gateway", "faucet"]), "ports": port_list(rpc) })],
        ));
    }
    if !p2p.is_empty() {
        out.push(policy(
            "seed-p2p-from-anywhere",
            json!({ "matchLabels": { COMPONENT: "node", "bts-infra.io/seed": "true" } }),
            vec![json!({ "ports": port_list(p2p) })],
        ));
    }
    out.push(policy(
        "gateway-from-anywhere",
        component("gateway"),
        vec![json!({ "ports": port_list(workloads::GATEWAY_PORTS.into_iter().collect()) })],
    ));
    out.push(policy(
        "faucet-from-gateway",
        component("faucet"),
        vec![json!({ "from": from(&["gateway"]), "ports": port_list([super::SERVICE_PORT].into()) })],
    ));
    out
}

/// YAML documents separated by `---`.
fn documents(docs: &[Value]) -> String {
    docs.iter().map(yaml::to_yaml).collect::<Vec<_>>().join("---\n")
}
