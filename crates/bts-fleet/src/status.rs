//! `fleet status`: one view of the fleet from what each host reports over SSH (its containers,
//! their CPU and memory, each node's own readiness probe, each gateway's `/status.json`): per
//! node its head, its lag behind the best node of its network, and whether each gateway that
//! serves its network has it in its pool; per gateway its eligible backends and certificates.
//! Pure: the caller fetches the pieces.

use crate::inventory::Inventory;
use crate::plan::Observed;
use crate::render::node_rpc_url;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What one host reported (or why it could not).
#[derive(Debug, Clone, Default)]
pub struct HostReport {
    /// `Err`: the host could not be reached or its engine did not answer.
    pub error: Option<String>,
    /// The project's containers.
    pub containers: Vec<Observed>,
    /// `docker stats` lines (JSON), one per running container.
    pub stats: Vec<String>,
    /// Per node service: the output of `bts-infra node ready --json` in its container.
    pub ready: BTreeMap<String, String>,
    /// Per gateway service: its `/status.json`.
    pub gateways: BTreeMap<String, String>,
}

/// The fleet's status.
#[derive(Debug, Clone, Serialize)]
pub struct FleetStatus {
    /// Per host, in inventory order.
    pub hosts: Vec<HostStatus>,
}

/// One host.
#[derive(Debug, Clone, Serialize)]
pub struct HostStatus {
    /// Its name.
    pub host: String,
    /// Its region.
    pub region: String,
    /// Whether it answered over SSH with its engine.
    pub reachable: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its services: those of the inventory, then any other container of the project.
    pub services: Vec<ServiceStatus>,
}

/// One service on a host.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// The service name.
    pub name: String,
    /// `node`, `gateway`, `faucet`, or `unknown` (a container the inventory does not have).
    pub kind: String,
    /// The container's state (`running`, `exited`, ...), `missing` without a container.
    pub state: String,
    /// Its health check's state.
    pub health: Option<String>,
    /// CPU use, as docker stats shows it (`0.52%`).
    pub cpu: Option<String>,
    /// Memory use (`12.3MiB`).
    pub memory: Option<String>,
    /// A node's head and lag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeStatus>,
    /// A node: for each gateway serving its network, whether it is in that gateway's pool.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolMembership>,
    /// A gateway's own view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayStatus>,
}

/// A node's head, from its own readiness probe.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Whether `node ready` passed.
    pub ready: bool,
    /// Its head block, if it answered.
    pub head: Option<u32>,
    /// Blocks behind the best node of its network.
    pub lag: Option<u32>,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether one gateway has a node in its pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolMembership {
    /// The gateway.
    pub gateway: String,
    /// `in` (eligible), `cordoned`, `out: REASON`, or `unknown` (the gateway did not answer).
    pub state: String,
}

/// A gateway's view of itself.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStatus {
    /// Per network: eligible backends of all.
    pub networks: Vec<(String, usize, usize)>,
    /// Certificates: name and expiry.
    pub certificates: Vec<(String, Option<String>)>,
}

#[derive(Deserialize)]
struct Ready {
    ready: bool,
    head_block_number: Option<u32>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct GatewayJson {
    networks: Vec<GatewayNetwork>,
    #[serde(default)]
    certificates: Vec<GatewayCert>,
}

#[derive(Deserialize)]
struct GatewayNetwork {
    name: String,
    eligible_backends: usize,
    backends: Vec<GatewayBackend>,
}

#[derive(Deserialize)]
struct GatewayBackend {
    url: String,
    eligible: bool,
    cordoned: bool,
    reason: String,
}

#[derive(Deserialize)]
struct GatewayCert {
    name: String,
    not_after: Option<String>,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "CPUPerc")]
    cpu: String,
    #[serde(rename = "MemUsage")]
    memory: String,
}

/// Puts the hosts' reports together; `reports` is in inventory host order.
pub fn assemble(inv: &Inventory, reports: &[HostReport]) -> FleetStatus {
    let gateways: BTreeMap<&str, GatewayJson> = reports
        .iter()
        .flat_map(|r| r.gateways.iter())
        .filter_map(|(name, json)| Some((name.as_str(), serde_json::from_str(json).ok()?)))
        .collect();
    let ready: BTreeMap<&str, Ready> = reports
        .iter()
        .flat_map(|r| r.ready.iter())
        .filter_map(|(name, json)| Some((name.as_str(), serde_json::from_str(json.trim()).ok()?)))
        .collect();
    let mut best: BTreeMap<&str, u32> = BTreeMap::new();
    for node in &inv.nodes {
        if let Some(head) = ready.get(node.name.as_str()).and_then(|r| r.head_block_number) {
            let b = best.entry(node.network.as_str()).or_default();
            *b = (*b).max(head);
        }
    }
    let hosts = inv
        .hosts
        .iter()
        .zip(reports)
        .map(|(host, report)| {
            let stats: BTreeMap<String, Stats> = report
                .stats
                .iter()
                .filter_map(|l| serde_json::from_str::<Stats>(l).ok())
                .map(|s| (s.id.clone(), s))
                .collect();
            let stat = |c: &Observed| {
                stats
                    .iter()
                    .find(|(id, _)| c.id.starts_with(id.as_str()))
                    .map(|(_, s)| s)
            };
            let mut services = Vec::new();
            let mut named: Vec<(&str, &str)> = inv
                .nodes
                .iter()
                .filter(|n| n.host == host.name)
                .map(|n| (n.name.as_str(), "node"))
                .collect();
            named.extend(
                inv.gateways
                    .iter()
                    .filter(|g| g.host == host.name)
                    .map(|g| (g.name.as_str(), "gateway")),
            );
            if inv.faucet.as_ref().is_some_and(|f| f.host == host.name) {
                named.push(("faucet", "faucet"));
            }
            for (name, kind) in named {
                let container = report.containers.iter().find(|c| c.service == name);
                let mut s = ServiceStatus::of(name, kind, container, container.and_then(stat));
                if let Some(node) = inv.node(name).filter(|_| kind == "node") {
                    s.node = Some(match ready.get(name) {
                        Some(r) => NodeStatus {
                            ready: r.ready,
                            head: r.head_block_number,
                            lag: r
                                .head_block_number
                                .zip(best.get(node.network.as_str()))
                                .map(|(h, b)| b.saturating_sub(h)),
                            reason: r.reason.clone(),
                        },
                        None => NodeStatus {
                            ready: false,
                            head: None,
                            lag: None,
                            reason: Some("no answer from its readiness probe".to_owned()),
                        },
                    });
                    if node.roles.api {
                        for g in inv.gateways.iter().filter(|g| g.networks.contains(&node.network)) {
                            let state = match (gateways.get(g.name.as_str()), node_rpc_url(inv, &g.host, node)) {
                                (Some(view), Some(url)) => membership(view, &node.network, &url),
                                _ => "unknown".to_owned(),
                            };
                            s.pools.push(PoolMembership {
                                gateway: g.name.clone(),
                                state,
                            });
                        }
                    }
                }
                if let Some(view) = gateways.get(name).filter(|_| kind == "gateway") {
                    s.gateway = Some(GatewayStatus {
                        networks: view
                            .networks
                            .iter()
                            .map(|n| (n.name.clone(), n.eligible_backends, n.backends.len()))
                            .collect(),
                        certificates: view
                            .certificates
                            .iter()
                            .map(|c| (c.name.clone(), c.not_after.clone()))
                            .collect(),
                    });
                }
                services.push(s);
            }
            let strays: Vec<&Observed> = report
                .containers
                .iter()
                .filter(|c| !services.iter().any(|s| s.name == c.service))
                .collect();
            for c in strays {
                services.push(ServiceStatus::of(&c.service, "unknown", Some(c), stat(c)));
            }
            HostStatus {
                host: host.name.clone(),
                region: host.region.clone(),
                reachable: report.error.is_none(),
                error: report.error.clone(),
                services,
            }
        })
        .collect();
    FleetStatus { hosts }
}

impl ServiceStatus {
    /// `name` as its container (if any) and `docker stats` show it; the rest is filled in later.
    fn of(name: &str, kind: &str, container: Option<&Observed>, stats: Option<&Stats>) -> ServiceStatus {
        ServiceStatus {
            name: name.to_owned(),
            kind: kind.to_owned(),
            state: container.map_or("missing".to_owned(), |c| c.state.clone()),
            health: container.and_then(|c| c.health.clone()),
            cpu: stats.map(|s| s.cpu.clone()),
            // "12.3MiB / 3.8GiB": the use, without the limit.
            memory: stats.map(|s| s.memory.split(" / ").next().unwrap_or_default().to_owned()),
            node: None,
            pools: Vec::new(),
            gateway: None,
        }
    }
}

fn membership(view: &GatewayJson, network: &str, url: &str) -> String {
    let same = |a: &str| a.trim_end_matches('/') == url.trim_end_matches('/');
    let backend = view
        .networks
        .iter()
        .filter(|n| n.name == network)
        .flat_map(|n| &n.backends)
        .find(|b| same(&b.url));
    match backend {
        None => "not configured".to_owned(),
        Some(b) if b.cordoned => "cordoned".to_owned(),
        Some(b) if b.eligible => "in".to_owned(),
        Some(b) => format!("out: {}", b.reason),
    }
}

impl FleetStatus {
    /// The table `fleet status` prints.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 8]> = vec![
            [
                "HOST",
                "SERVICE",
                "STATE",
                "CPU",
                "MEMORY",
                "HEAD",
                "LAG",
                "POOLS / GATEWAY",
            ]
            .map(str::to_owned),
        ];
        for h in &self.hosts {
            let host = format!("{} ({})", h.host, h.region);
            if let Some(e) = &h.error {
                rows.push([
                    host,
                    "-".into(),
                    "UNREACHABLE".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    e.clone(),
                ]);
                continue;
            }
            for (i, s) in h.services.iter().enumerate() {
                let state = match &s.health {
                    Some(health) => format!("{} ({health})", s.state),
                    None => s.state.clone(),
                };
                let (head, lag) = s.node.as_ref().map_or((String::new(), String::new()), |n| {
                    (
                        n.head.map_or("-".into(), |h| h.to_string()),
                        n.lag.map_or("-".into(), |l| l.to_string()),
                    )
                });
                let last = if let Some(g) = &s.gateway {
                    let mut text: Vec<String> = g
                        .networks
                        .iter()
                        .map(|(n, e, all)| format!("{n} {e}/{all} eligible"))
                        .collect();
                    text.extend(
                        g.certificates
                            .iter()
                            .map(|(n, exp)| format!("cert {n} until {}", exp.as_deref().unwrap_or("-"))),
                    );
                    text.join(", ")
                } else {
                    s.pools
                        .iter()
                        .map(|p| format!("{}: {}", p.gateway, p.state))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                rows.push([
                    if i == 0 { host.clone() } else { String::new() },
                    s.name.clone(),
                    state,
                    s.cpu.clone().unwrap_or_default(),
                    s.memory.clone().unwrap_or_default(),
                    head,
                    lag,
                    last,
                ]);
            }
        }
        let widths: Vec<usize> = (0..8)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in rows {
            let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
        out
    }
}
