//! Shared by the control-plane integration tests: devnets on port 0 with one-second blocks and
//! fault injection, gateway configurations over them, waiting for a condition of a network's
//! health (never sleeping), and the generated geo database.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

pub mod mmdb;

use bts_devnet::faults::FaultChange;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_gateway::config::{BackendConfig, HealthSettings};
use bts_gateway::{Gateway, GatewayConfig, Network, NetworkConfig};
use bts_protocol::{ChainId, Prefix};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for a health condition before the test fails with the status page. A hang guard,
/// not a timing assertion: every condition awaited here is reached within a few health intervals.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A devnet of `nodes` nodes with one-second blocks, its clock at now, the admin API on.
pub async fn devnet(nodes: usize) -> Devnet {
    let config = config_now(Prefix::TEST);
    Devnet::start_local("gw", config, nodes, ServerConfig::admin())
        .await
        .unwrap()
}

/// The devnet's chain id.
pub fn chain_id(devnet: &Devnet) -> ChainId {
    devnet.network().config().chain_id
}

/// One network `devnet` on `/` over every node of `devnet`, health checks every 1.5 s with a
/// 1 s timeout (so a hung node fails fast) and the default thresholds.
pub fn config(devnet: &Devnet) -> GatewayConfig {
    let urls: Vec<String> = devnet.nodes().iter().map(|n| n.ws_url()).collect();
    let network = NetworkConfig::new("devnet", chain_id(devnet), &urls).unwrap();
    let mut config = GatewayConfig::with_networks(vec![network]).unwrap();
    config.health = HealthSettings {
        interval: Duration::from_millis(1500),
        timeout: Duration::from_secs(1),
        ..HealthSettings::default()
    };
    config
}

/// [`config`] with each node in a region: node i in `regions[i]`.
pub fn with_regions(mut config: GatewayConfig, regions: &[&str]) -> GatewayConfig {
    let network = &mut config.networks[0];
    network.backends = network
        .backends
        .iter()
        .zip(regions)
        .map(|(b, r)| BackendConfig::new(&b.url).unwrap().with_region(r))
        .collect();
    config
}

/// Applies a fault to node `i`, as the node's admin endpoint would.
pub fn fault(devnet: &Devnet, i: usize, change: FaultChange) {
    devnet.nodes()[i].node.faults().apply(&change);
    if change.drop_connections {
        devnet.nodes()[i].node.drop_connections();
    }
}

/// Freezes or thaws node `i`'s head.
pub fn freeze(devnet: &Devnet, i: usize, frozen: bool) {
    fault(
        devnet,
        i,
        FaultChange {
            frozen: Some(frozen),
            ..FaultChange::default()
        },
    );
}

/// Waits until `condition` holds for `network`, re-checking after every health check; fails with
/// the status JSON after [`PATIENCE`].
pub async fn until(gw: &Gateway, network: &Network, what: &str, condition: impl Fn(&Network) -> bool) {
    let mut changes = network.changes();
    let wait = changes.wait_for(|_| condition(network));
    if tokio::time::timeout(PATIENCE, wait).await.is_err() {
        panic!(
            "timed out waiting for {what}; status:\n{:#}",
            bts_gateway::status::status_json(gw, Vec::new())
        );
    }
}

/// Runs `future` with the hang guard.
pub async fn guard<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The status JSON of backend `i` of the first network.
pub fn backend_status(gw: &Gateway, i: usize) -> serde_json::Value {
    bts_gateway::status::status_json(gw, Vec::new())["networks"][0]["backends"][i].clone()
}

/// Writes the generated geo database to a fresh file and returns its path.
pub fn geo_database_file(tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("bts-gateway-test-{}-{tag}.mmdb", std::process::id()));
    std::fs::write(&path, mmdb::test_database()).unwrap();
    path
}

/// Starts a gateway and waits until every network serves.
pub async fn start(config: &GatewayConfig) -> Arc<Gateway> {
    let gw = Gateway::start(config).unwrap();
    guard("the gateway to become ready", gw.wait_ready()).await;
    gw
}
