//! The example configuration shown in the README parses, and routes as it says.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_gateway::config::GatewayConfig;

#[test]
fn the_readme_example_is_a_valid_configuration() {
    let text = include_str!("../../../deploy/examples/gateway.toml");
    let config = GatewayConfig::from_toml(text, "deploy/examples/gateway.toml").unwrap();
    assert_eq!(config.networks.len(), 2);
    assert_eq!(config.route(None, "/").unwrap().name, "mainnet");
    assert_eq!(config.route(None, "/ws").unwrap().name, "mainnet");
    assert_eq!(config.route(None, "/testnet").unwrap().name, "testnet");
    assert_eq!(config.networks[0].backends[2].region, "asia");
}
