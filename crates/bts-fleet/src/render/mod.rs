//! One compose project per host, rendered from the inventory: the compose file, the services'
//! configuration files, and the list of secrets to copy beside them. Each service carries a label
//! with the hash of everything that defines it, so `fleet plan` can tell what changed.

mod kubernetes;
mod node;
mod services;
pub(crate) mod yaml;

pub use kubernetes::render_kubernetes;
pub use node::{NODE_DATA_DIR, node_env};
pub use services::{
    FAUCET_PATH, GEO_DATABASE, SERVICE_PORT, faucet_toml, faucet_url, gateway_backends, gateway_toml, node_rpc_url,
};

use crate::inventory::{Host, Inventory};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The label holding a service's definition hash.
pub const HASH_LABEL: &str = "io.bts-infra.fleet.hash";
/// The label holding a service's kind (`node`, `gateway`, `faucet`, `prometheus`).
pub const KIND_LABEL: &str = "io.bts-infra.fleet.kind";
/// The node image's user and group: its secrets must be readable by them.
pub const NODE_OWNER: (u32, u32) = (10000, 10001);
/// The services image's user and group.
pub const SERVICES_OWNER: (u32, u32) = (10001, 10001);

/// What `fleet apply` puts on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostProject {
    /// The host's name.
    pub host: String,
    /// `compose.yml`.
    pub compose: String,
    /// Configuration files beside it: (path relative to the project directory, text).
    pub files: Vec<(String, String)>,
    /// Secrets to copy to `secrets/NAME`, each readable only by its service's user.
    pub secrets: Vec<SecretCopy>,
    /// The services in the compose file, in order.
    pub services: Vec<Service>,
}

/// A secret the host needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretCopy {
    /// The secret's name (`[secret.NAME]`).
    pub name: String,
    /// uid and gid of the user that reads it in the container.
    pub owner: (u32, u32),
}

/// One service of a host's compose project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The compose service name (the node's, gateway's name, `faucet`, `prometheus`).
    pub name: String,
    /// `node`, `gateway`, `faucet` or `prometheus`.
    pub kind: &'static str,
    /// The image it runs.
    pub image: String,
    /// sha256 of its definition and the files it mounts: a change means recreate.
    pub hash: String,
    /// The secrets it mounts: a changed secret means restart it.
    pub secrets: Vec<String>,
    /// The configuration file it reads again on `POST /admin/reload` (gateways: their networks
    /// and backends), which is therefore left out of `hash`: a change there is a reload, which
    /// keeps every connection, not a recreate.
    pub reload_file: Option<String>,
}

/// Renders the project of every host, in inventory order.
pub fn render(inv: &Inventory) -> Vec<HostProject> {
    inv.hosts.iter().map(|h| render_host(inv, h)).collect()
}

fn render_host(inv: &Inventory, host: &Host) -> HostProject {
    let mut services = Map::new();
    let mut volumes = Map::new();
    let mut secrets: Vec<SecretCopy> = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut list: Vec<Service> = Vec::new();
    let mut add = |name: &str,
                   kind: &'static str,
                   mut def: Value,
                   mounted: &[&str],
                   reload_file: Option<String>,
                   services: &mut Map<String, Value>| {
        // The images' own checks, run more often than their 30 s default: `apply` and `upgrade`
        // wait for them, and the gateways learn from them no faster than they run.
        let test = def["healthcheck"]["test"].take();
        def["healthcheck"] = json!({ "interval": "5s", "timeout": "5s", "retries": 3, "start_period": "10m" });
        if !test.is_null() {
            def["healthcheck"]["test"] = test;
        }
        let mut hasher = Sha256::new();
        hasher.update(def.to_string().as_bytes());
        for text in mounted {
            hasher.update(text.as_bytes());
        }
        let hash = hex::encode(&hasher.finalize()[..16]);
        def["labels"] = json!({ HASH_LABEL: hash, KIND_LABEL: kind });
        let image = def["image"].as_str().unwrap_or_default().to_owned();
        let secrets = def["secrets"].as_array().map_or_else(Vec::new, |l| {
            l.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()
        });
        services.insert(name.to_owned(), def);
        list.push(Service {
            name: name.to_owned(),
            kind,
            image,
            hash,
            secrets,
            reload_file,
        });
    };
    for node in inv.nodes.iter().filter(|n| n.host == host.name) {
        let Some(network) = inv.network(&node.network) else {
            continue;
        };
        let env: Map<String, Value> = node_env(inv, node)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let mut ports = Vec::new();
        if let Some(p) = node.rpc_port {
            ports.push(json!(format!("{p}:{}", network.chain.rpc_port())));
        }
        if let Some(p) = node.p2p_port {
            ports.push(json!(format!("{p}:{}", network.chain.p2p_port())));
        }
        let volume = format!("{}-data", node.name);
        volumes.insert(volume.clone(), json!({}));
        let mut def = json!({
            "image": network.node_image,
            "init": true,
            "restart": "unless-stopped",
            // More than the launcher's grace period (10 min) for witness_node to write its database.
            "stop_grace_period": "11m",
            "environment": env,
            "ports": ports,
            "volumes": [format!("{volume}:{NODE_DATA_DIR}")],
        });
        if let Some(key) = &node.key {
            def["secrets"] = json!([key]);
            secrets.push(SecretCopy {
                name: key.clone(),
                owner: NODE_OWNER,
            });
        }
        add(&node.name, "node", def, &[], None, &mut services);
    }
    for gateway in inv.gateways.iter().filter(|g| g.host == host.name) {
        let config = gateway_toml(inv, gateway);
        let file = format!("{}.toml", gateway.name);
        let mut mounts = vec![json!(format!("./{file}:/etc/bts/gateway.toml:ro"))];
        if inv.geo_database.is_some() {
            mounts.push(json!(format!("./geo.mmdb:{}:ro", services::GEO_DATABASE)));
        }
        let mut ports = vec![json!(format!("{}:{SERVICE_PORT}", gateway.port))];
        if let Some(tls) = &gateway.tls {
            ports.push(json!(format!("{}:8443", tls.port)));
            ports.push(json!(format!("{}:8000", tls.redirect_port)));
            let volume = format!("{}-acme", gateway.name);
            mounts.push(json!(format!("{volume}:/var/lib/bts")));
            volumes.insert(volume, json!({}));
        }
        let def = json!({
            "image": inv.services_image,
            "init": true,
            "restart": "unless-stopped",
            "command": ["gateway", "--config", "/etc/bts/gateway.toml"],
            "ports": ports,
            "volumes": mounts,
        });
        // What a reload cannot change (listeners, TLS, routes, limits) defines the container.
        let fixed = services::without_reloadable(&config);
        add(
            &gateway.name,
            "gateway",
            def,
            &[&fixed],
            Some(file.clone()),
            &mut services,
        );
        files.push((file, config));
    }
    if let Some(faucet) = inv.faucet.as_ref().filter(|f| f.host == host.name) {
        let config = faucet_toml(inv, faucet);
        volumes.insert("faucet-data".into(), json!({}));
        let mut def = json!({
            "image": inv.services_image,
            "init": true,
            "restart": "unless-stopped",
            "command": ["faucet", "--config", "/etc/bts/faucet.toml"],
            "ports": [format!("{}:{SERVICE_PORT}", faucet.port)],
            "volumes": ["./faucet.toml:/etc/bts/faucet.toml:ro", "faucet-data:/var/lib/bts"],
            "secrets": [faucet.registrar_key],
        });
        secrets.push(SecretCopy {
            name: faucet.registrar_key.clone(),
            owner: SERVICES_OWNER,
        });
        if let Some(url) = &faucet.database_url {
            if let Some(list) = def["secrets"].as_array_mut() {
                list.push(json!(url));
            }
            def["environment"] =
                json!({ "BTS_FAUCET_DATABASE_URL_FILE": crate::spec::secret_path(url).display().to_string() });
            secrets.push(SecretCopy {
                name: url.clone(),
                owner: SERVICES_OWNER,
            });
        }
        add("faucet", "faucet", def, &[&config], None, &mut services);
        files.push(("faucet.toml".into(), config));
    }
    if let Some(prometheus) = inv.prometheus.as_ref().filter(|p| p.host == host.name) {
        let config = services::prometheus_yml(inv, prometheus);
        volumes.insert("prometheus-data".into(), json!({}));
        let def = json!({
            "image": prometheus.image,
            "restart": "unless-stopped",
            "command": [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--storage.tsdb.retention.time=90d",
            ],
            "ports": [format!("{}:9090", prometheus.port)],
            "volumes": [
                "./prometheus.yml:/etc/prometheus/prometheus.yml:ro",
                format!("./{}:/etc/prometheus/{}:ro", services::RULE_FILES[0].0, services::RULE_FILES[0].0),
                format!("./{}:/etc/prometheus/{}:ro", services::RULE_FILES[1].0, services::RULE_FILES[1].0),
                "prometheus-data:/prometheus",
            ],
            // Prometheus's image has no health check of its own; its busybox has wget.
            "healthcheck": { "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"] },
        });
        let [(recording, recording_text), (alerts, alerts_text)] = services::RULE_FILES;
        add(
            "prometheus",
            "prometheus",
            def,
            &[&config, recording_text, alerts_text],
            None,
            &mut services,
        );
        files.push(("prometheus.yml".into(), config));
        files.push((recording.into(), recording_text.to_owned()));
        files.push((alerts.into(), alerts_text.to_owned()));
    }
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    secrets.dedup_by(|a, b| a.name == b.name);
    let mut doc = json!({ "services": services });
    if !volumes.is_empty() {
        doc["volumes"] = Value::Object(volumes);
    }
    if !secrets.is_empty() {
        let defs: Map<String, Value> = secrets
            .iter()
            .map(|s| (s.name.clone(), json!({ "file": format!("./secrets/{}", s.name) })))
            .collect();
        doc["secrets"] = Value::Object(defs);
    }
    let compose = format!(
        "# Rendered by `bts-infra fleet` from {} for host {:?} (region {}): compose project {:?}.\n\
         # `fleet apply` replaces it: edit the inventory instead.\n{}",
        inv.file.display(),
        host.name,
        host.region,
        inv.project,
        yaml::to_yaml(&doc)
    );
    HostProject {
        host: host.name.clone(),
        compose,
        files,
        secrets,
        services: list,
    }
}
