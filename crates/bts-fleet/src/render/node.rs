//! A node's container environment: the launcher's `BTS_NODE_*` variables for its spec, with what
//! the fleet decides (network, engine, endpoints, key file, seed nodes) added to the operator's
//! settings.

use crate::inventory::{Engine, Inventory, Node};
use crate::spec::secret_path;
use bts_node::spec::Setting;
use std::net::IpAddr;

/// The data directory of the node image (a volume per node).
pub const NODE_DATA_DIR: &str = "/var/lib/bts-node";

/// `node`'s environment on a compose host, sorted by name.
pub fn node_env(inv: &Inventory, node: &Node) -> Vec<(String, String)> {
    // On the same host, the compose network reaches a seed's container by name.
    let seed_address = |seed: &Node| -> Option<String> {
        let network = inv.network(&seed.network)?;
        if seed.host == node.host {
            return Some(format!("{}:{}", seed.name, network.chain.p2p_port()));
        }
        Some(format!("{}:{}", inv.host(&seed.host)?.address, seed.p2p_port?))
    };
    node_env_with(inv, node, &seed_address, true)
}

/// `node`'s environment, with the fleet's seeds at the addresses `seed_address` gives (`None`:
/// not reachable from this node), and with the public address it advertises when `advertise`.
pub(crate) fn node_env_with(
    inv: &Inventory,
    node: &Node,
    seed_address: &dyn Fn(&Node) -> Option<String>,
    advertise: bool,
) -> Vec<(String, String)> {
    let Some(network) = inv.network(&node.network) else {
        return Vec::new();
    };
    let Some(host) = inv.host(&node.host) else {
        return Vec::new();
    };
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |setting: Setting, value: String| env.push((setting.env_var(), value));
    set(Setting::Network, network.chain.as_str().to_owned());
    set(Setting::DataDir, NODE_DATA_DIR.to_owned());
    if let Some(key) = &node.key {
        set(Setting::KeyFile, secret_path(key).display().to_string());
    }
    if node.roles.api {
        set(Setting::RpcEndpoint, format!("0.0.0.0:{}", network.chain.rpc_port()));
    }
    if node.roles.seed {
        set(Setting::P2pEndpoint, format!("0.0.0.0:{}", network.chain.p2p_port()));
        // witness_node wants an IP address here; a host known by name advertises nothing.
        if let (true, Ok(ip), Some(port)) = (advertise, host.address.parse::<IpAddr>(), node.p2p_port) {
            set(Setting::PublicAddress, std::net::SocketAddr::new(ip, port).to_string());
        }
    }
    let mut seeds: Vec<String> = inv
        .seed_nodes(&node.network)
        .into_iter()
        .filter(|s| s.name != node.name)
        .filter_map(seed_address)
        .collect();
    let mut builtin_seeds = None;
    for (setting, value) in &node.settings {
        match setting {
            Setting::SeedNode => seeds.extend(value.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned)),
            Setting::BuiltinSeeds => builtin_seeds = Some(value.clone()),
            _ => set(*setting, value.clone()),
        }
    }
    if !seeds.is_empty() {
        set(Setting::SeedNode, seeds.join(","));
    }
    if network.engine == Engine::Devnet {
        // A devnet is no public chain: witness_node's built-in seeds are not its peers. (A lone
        // producer keeps the default: with no seed at all the launcher would refuse the spec.)
        if !seeds.is_empty() {
            builtin_seeds.get_or_insert_with(|| "false".to_owned());
        }
        env.push(("BTS_NODE_ENGINE".to_owned(), "devnet".to_owned()));
    }
    if let Some(value) = builtin_seeds {
        env.push((Setting::BuiltinSeeds.env_var(), value));
    }
    env.sort();
    env
}
