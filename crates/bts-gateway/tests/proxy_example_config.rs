//! The example configuration shown in docs/gateway.md parses, and routes as it says.

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

#[test]
fn the_regional_tls_example_in_docs_tls_md_is_a_valid_configuration() {
    let doc = include_str!("../../../docs/tls.md");
    let section = doc.split("## A regional gateway with Let's Encrypt").nth(1).unwrap();
    let text = section.split("```toml\n").nth(1).unwrap().split("```").next().unwrap();
    let config = GatewayConfig::from_toml(text, "docs/tls.md").unwrap();
    let tls = config.tls.as_ref().unwrap();
    assert_eq!(tls.listen.port(), 443);
    assert_eq!(tls.redirect_listen.unwrap().port(), 80);
    let acme = tls.certificates.acme.as_ref().unwrap();
    assert_eq!(acme.domains, ["api.example.org", "us.api.example.org"]);
    assert_eq!(acme.directory, "https://acme-v02.api.letsencrypt.org/directory");
    assert_eq!(config.http_routes[0].path_prefix, "/onboarding");
    assert_eq!(config.route(None, "/testnet").unwrap().name, "testnet");
}
