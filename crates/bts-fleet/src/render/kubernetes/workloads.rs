//! The workloads of one region: a StatefulSet per node (its data in a volume claim, ready when
//! `bts-infra node ready` says so), the gateway as a Deployment behind a LoadBalancer Service,
//! the faucet with its key from a Secret, and the disruption budgets that keep a network served.

use super::{API, COMPONENT, INSTANCE, NETWORK};
use crate::inventory::{Engine, Faucet, Gateway, Inventory, Node};
use crate::render::node::node_env_with;
use crate::render::services::{SERVICE_PORT, faucet_toml_with, gateway_toml_with};
use crate::render::{NODE_DATA_DIR, NODE_OWNER, SERVICES_OWNER};
use crate::spec::secret_path;
use bts_node::spec::{HistoryLevel, Setting};
use serde_json::{Value, json};

/// The gateway's ports in its container: plain HTTP/WebSocket, HTTPS/WSS, the HTTP redirect.
pub(super) const GATEWAY_PORTS: [u16; 3] = [SERVICE_PORT, 8443, 8000];

/// A node: a headless Service (the gateways reach `NAME-0.NAME`, also while not ready, so that
/// they judge its lag themselves), a LoadBalancer Service for a seed's P2P port, the StatefulSet.
pub(super) fn node(inv: &Inventory, node: &Node) -> Vec<Value> {
    let Some(network) = inv.network(&node.network) else {
        return Vec::new();
    };
    let labels = node_labels(node);
    let selector = json!({ INSTANCE: node.name });
    let mut ports = Vec::new();
    if node.roles.api {
        ports.push(json!({ "name": "rpc", "port": network.chain.rpc_port(), "targetPort": "rpc" }));
    }
    if node.roles.seed {
        ports.push(json!({ "name": "p2p", "port": network.chain.p2p_port(), "targetPort": "p2p" }));
    }
    let mut docs = vec![json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": node.name, "labels": labels },
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": selector,
            "ports": ports,
        },
    })];
    if let (true, Some(public)) = (node.roles.seed, node.p2p_port) {
        docs.push(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": format!("{}-p2p", node.name), "labels": labels },
            "spec": {
                "type": "LoadBalancer",
                "selector": selector,
                "ports": [{ "name": "p2p", "port": public, "targetPort": "p2p" }],
            },
        }));
    }
    let (memory, disk, cpu) = match network.engine {
        Engine::WitnessNode => {
            let sizing = history_level(node).sizing();
            (
                format!("{}Gi", sizing.memory_gib),
                format!("{}Gi", sizing.disk_gib),
                "1",
            )
        }
        Engine::Devnet => ("128Mi".to_owned(), "1Gi".to_owned(), "100m"),
    };
    // Same region, same cluster: a seed is its pod's stable name. Other regions' seeds are at
    // their inventory address and public P2P port, as in the compose fleet.
    let seed_address = |seed: &Node| -> Option<String> {
        if inv.region_of(&seed.host) == inv.region_of(&node.host) {
            return Some(format!("{0}-0.{0}:{1}", seed.name, network.chain.p2p_port()));
        }
        Some(format!("{}:{}", inv.host(&seed.host)?.address, seed.p2p_port?))
    };
    let env: Vec<Value> = node_env_with(inv, node, &seed_address, false)
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut container_ports = Vec::new();
    if node.roles.api {
        container_ports.push(json!({ "name": "rpc", "containerPort": network.chain.rpc_port() }));
    }
    if node.roles.seed {
        container_ports.push(json!({ "name": "p2p", "containerPort": network.chain.p2p_port() }));
    }
    let mut mounts = vec![
        json!({ "name": "data", "mountPath": NODE_DATA_DIR }),
        json!({ "name": "tmp", "mountPath": "/tmp" }),
    ];
    let mut volumes = vec![json!({ "name": "tmp", "emptyDir": {} })];
    if let Some(key) = &node.key {
        mounts.push(json!({ "name": "secrets", "mountPath": "/run/secrets", "readOnly": true }));
        volumes.push(secrets_volume(&[key]));
    }
    let container = json!({
        "name": "node",
        "image": network.node_image,
        "env": env,
        "ports": container_ports,
        // Ready = answers, on the right chain, head fresh. No liveness probe: a node replaying
        // for hours is not ready, and must not be restarted for it.
        "readinessProbe": {
            "exec": { "command": ["bts-infra", "node", "ready", "--timeout", "5s"] },
            "periodSeconds": 5,
            "timeoutSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": { "requests": { "cpu": cpu, "memory": memory } },
        "securityContext": container_security(),
        "volumeMounts": mounts,
    });
    docs.push(json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": node.name, "labels": labels },
        "spec": {
            "serviceName": node.name,
            "replicas": 1,
            "selector": { "matchLabels": selector },
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    // More than the launcher's grace period (10 min) for witness_node to write
                    // its database: a kill before that means a replay at the next start.
                    "terminationGracePeriodSeconds": 660,
                    "securityContext": pod_security(NODE_OWNER),
                    "affinity": spread(json!({ NETWORK: node.network, API: node.roles.api.to_string() })),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data" },
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": disk } },
                },
            }],
        },
    }));
    docs
}

/// One budget per network with API nodes in the region: a drain takes at most one of them.
pub(super) fn api_budgets(inv: &Inventory, nodes: &[&Node]) -> Vec<Value> {
    inv.networks
        .iter()
        .filter(|net| nodes.iter().any(|n| n.roles.api && n.network == net.name))
        .map(|net| {
            json!({
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": { "name": format!("{}-api-nodes", net.name) },
                "spec": {
                    "maxUnavailable": 1,
                    "selector": { "matchLabels": { COMPONENT: "node", NETWORK: net.name, API: "true" } },
                },
            })
        })
        .collect()
}

/// A gateway: its configuration, the Deployment, a LoadBalancer Service, a budget. Without TLS
/// it runs two replicas; with TLS one, because the ACME account and certificate live in its
/// volume and two replicas would each order certificates.
pub(super) fn gateway(inv: &Inventory, gateway: &Gateway, nodes: &[&Node], faucet_here: bool) -> Vec<Value> {
    let reach = |network: &str| -> Vec<(&Node, String)> {
        nodes
            .iter()
            .filter(|n| n.roles.api && n.network == network)
            .filter_map(|n| {
                let port = inv.network(&n.network)?.chain.rpc_port();
                Some((*n, format!("ws://{0}-0.{0}:{port}", n.name)))
            })
            .collect()
    };
    let faucet = faucet_here.then(|| format!("http://faucet:{SERVICE_PORT}"));
    let mut local = inv.clone();
    // Backends of one region only: geo preferences between regions would name absent ones.
    local.geo_database = None;
    let config = gateway_toml_with(&local, gateway, &reach, faucet);
    let labels = json!({ COMPONENT: "gateway", INSTANCE: gateway.name, "app.kubernetes.io/part-of": "bts-infra" });
    let selector = json!({ INSTANCE: gateway.name });
    let mut ports = vec![json!({ "name": "http", "port": gateway.port, "targetPort": "http" })];
    let mut container_ports = vec![json!({ "name": "http", "containerPort": SERVICE_PORT })];
    let mut mounts = vec![
        json!({ "name": "config", "mountPath": "/etc/bts", "readOnly": true }),
        json!({ "name": "tmp", "mountPath": "/tmp" }),
    ];
    let mut volumes = vec![
        json!({ "name": "config", "configMap": { "name": format!("{}-config", gateway.name) } }),
        json!({ "name": "tmp", "emptyDir": {} }),
    ];
    let mut docs = vec![config_map(
        &format!("{}-config", gateway.name),
        "gateway.toml",
        config.clone(),
    )];
    if let Some(tls) = &gateway.tls {
        ports.push(json!({ "name": "https", "port": tls.port, "targetPort": "https" }));
        ports.push(json!({ "name": "acme", "port": tls.redirect_port, "targetPort": "acme" }));
        container_ports.push(json!({ "name": "https", "containerPort": GATEWAY_PORTS[1] }));
        container_ports.push(json!({ "name": "acme", "containerPort": GATEWAY_PORTS[2] }));
        let claim = format!("{}-acme", gateway.name);
        mounts.push(json!({ "name": "state", "mountPath": "/var/lib/bts" }));
        volumes.push(json!({ "name": "state", "persistentVolumeClaim": { "claimName": claim } }));
        docs.push(claim_doc(&claim, "1Gi"));
    }
    let replicas = if gateway.tls.is_some() { 1 } else { 2 };
    let container = service_container(
        "gateway",
        &inv.services_image,
        &["gateway", "--config", "/etc/bts/gateway.toml"],
        container_ports,
        mounts,
        ("250m", "128Mi"),
    );
    docs.push(deployment(
        &gateway.name,
        &labels,
        replicas,
        container,
        volumes,
        &config,
    ));
    docs.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": gateway.name, "labels": labels },
        "spec": { "type": "LoadBalancer", "selector": selector, "ports": ports },
    }));
    if replicas > 1 {
        docs.push(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": { "name": gateway.name },
            "spec": { "minAvailable": 1, "selector": { "matchLabels": selector } },
        }));
    }
    docs
}

/// The faucet: its configuration, its SQLite volume (unless PostgreSQL), the Deployment (one
/// replica: one registrar key, one sequence of transactions) and a Service for the gateway.
pub(super) fn faucet(inv: &Inventory, faucet: &Faucet, nodes: &[&Node]) -> Vec<Value> {
    let urls: Vec<String> = nodes
        .iter()
        .filter(|n| n.roles.api && n.network == faucet.network)
        .filter_map(|n| {
            Some(format!(
                "ws://{0}-0.{0}:{1}",
                n.name,
                inv.network(&n.network)?.chain.rpc_port()
            ))
        })
        .collect();
    // Only the gateways reach the faucet (NetworkPolicy), from pod addresses in private ranges.
    let trusted = ["127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map(str::to_owned);
    let config = faucet_toml_with(inv, faucet, urls, trusted.to_vec());
    let labels = json!({ COMPONENT: "faucet", INSTANCE: "faucet", "app.kubernetes.io/part-of": "bts-infra" });
    let mut secrets = vec![faucet.registrar_key.as_str()];
    secrets.extend(faucet.database_url.as_deref());
    let mut mounts = vec![
        json!({ "name": "config", "mountPath": "/etc/bts", "readOnly": true }),
        json!({ "name": "secrets", "mountPath": "/run/secrets", "readOnly": true }),
        json!({ "name": "tmp", "mountPath": "/tmp" }),
    ];
    let mut volumes = vec![
        json!({ "name": "config", "configMap": { "name": "faucet-config" } }),
        secrets_volume(&secrets),
        json!({ "name": "tmp", "emptyDir": {} }),
    ];
    let mut docs = vec![config_map("faucet-config", "faucet.toml", config.clone())];
    if faucet.database_url.is_none() {
        mounts.push(json!({ "name": "data", "mountPath": "/var/lib/bts" }));
        volumes.push(json!({ "name": "data", "persistentVolumeClaim": { "claimName": "faucet-data" } }));
        docs.push(claim_doc("faucet-data", "1Gi"));
    }
    let mut container = service_container(
        "faucet",
        &inv.services_image,
        &["faucet", "--config", "/etc/bts/faucet.toml"],
        vec![json!({ "name": "http", "containerPort": SERVICE_PORT })],
        mounts,
        ("100m", "128Mi"),
    );
    if let Some(url) = &faucet.database_url {
        container["env"] = json!([{
            "name": "BTS_FAUCET_DATABASE_URL_FILE",
            "value": secret_path(url).display().to_string(),
        }]);
    }
    docs.push(deployment("faucet", &labels, 1, container, volumes, &config));
    docs.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": "faucet", "labels": labels },
        "spec": {
            "selector": { INSTANCE: "faucet" },
            "ports": [{ "name": "http", "port": SERVICE_PORT, "targetPort": "http" }],
        },
    }));
    docs
}

fn node_labels(node: &Node) -> Value {
    json!({
        COMPONENT: "node",
        INSTANCE: node.name,
        "app.kubernetes.io/part-of": "bts-infra",
        NETWORK: node.network,
        API: node.roles.api.to_string(),
        "bts-infra.io/seed": node.roles.seed.to_string(),
        "bts-infra.io/producer": node.roles.producer.to_string(),
    })
}

/// The history level the launcher will run the node at (mode `full` implies full).
fn history_level(node: &Node) -> HistoryLevel {
    let given = |s: Setting| node.settings.iter().find(|(k, _)| *k == s).map(|(_, v)| v.as_str());
    match given(Setting::History).and_then(|v| v.parse().ok()) {
        Some(level) => level,
        None if given(Setting::Mode).is_some_and(|m| m.split(',').any(|m| m.trim() == "full")) => HistoryLevel::Full,
        None => HistoryLevel::None,
    }
}

/// Prefer different machines for pods matching `labels` (preferred: a small cluster still runs).
fn spread(labels: Value) -> Value {
    json!({ "podAntiAffinity": { "preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {
            "labelSelector": { "matchLabels": labels },
            "topologyKey": "kubernetes.io/hostname",
        },
    }] } })
}

/// Secrets `names` (each a Secret with key `value`) as files `/run/secrets/NAME`, readable by the
/// pod's group only (the images' users are in it through `fsGroup`).
fn secrets_volume(names: &[&str]) -> Value {
    let sources: Vec<Value> = names
        .iter()
        .map(|name| json!({ "secret": { "name": name, "items": [{ "key": "value", "path": name }] } }))
        .collect();
    json!({ "name": "secrets", "projected": { "defaultMode": 0o440, "sources": sources } })
}

fn pod_security((user, group): (u32, u32)) -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": user,
        "runAsGroup": group,
        "fsGroup": group,
        // Only when the volume's root is not the group's already: a node's claim holds hundreds
        // of GiB that would otherwise be walked at every start.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    })
}

fn service_container(
    name: &str,
    image: &str,
    args: &[&str],
    ports: Vec<Value>,
    mounts: Vec<Value>,
    (cpu, memory): (&str, &str),
) -> Value {
    json!({
        "name": name,
        "image": image,
        "args": args,
        "ports": ports,
        "readinessProbe": {
            "exec": { "command": ["bts-infra", "healthcheck"] },
            "periodSeconds": 5,
            "timeoutSeconds": 5,
        },
        "resources": { "requests": { "cpu": cpu, "memory": memory } },
        "securityContext": container_security(),
        "volumeMounts": mounts,
    })
}

/// A Deployment whose pods carry the sha256 of their configuration file `config`: a change of
/// the ConfigMap alone would never reach running pods (they read it at start), so it rolls them.
fn deployment(name: &str, labels: &Value, replicas: u32, container: Value, volumes: Vec<Value>, config: &str) -> Value {
    // One replica holding a volume or a key is replaced, not doubled; two are rolled one by one.
    let strategy = if replicas == 1 {
        json!({ "type": "Recreate" })
    } else {
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 0, "maxSurge": 1 } })
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "labels": labels },
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": { "matchLabels": { INSTANCE: name } },
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": { "bts-infra.io/config-sha256": crate::plan::file_hash(config.as_bytes()) },
                },
                "spec": {
                    "securityContext": pod_security(SERVICES_OWNER),
                    "affinity": spread(json!({ INSTANCE: name })),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    })
}

fn config_map(name: &str, file: &str, text: String) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name }, "data": { file: text } })
}

fn claim_doc(name: &str, size: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": { "name": name },
        "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": size } } },
    })
}
