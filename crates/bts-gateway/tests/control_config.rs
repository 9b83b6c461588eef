//! The configuration file: the documented example parses to the values it states, defaults fill
//! what is left out, every kind of mistake is reported with its key path and what to write,
//! and requests route to networks by host and longest path prefix.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_gateway::config::{ConfigError, GatewayConfig, Selection};
use bts_protocol::ChainId;
use std::time::Duration;

const EXAMPLE: &str = r#"
[server]
listen = "0.0.0.0:8080"
trusted-proxies = ["127.0.0.1/32", "10.0.0.0/8", "::1"]
forward-client-ip-header = "X-Forwarded-For"
listen-backlog = 2048

[limits]
requests-per-second-per-ip = 50
burst = 100
ws-connections-per-ip = 32
ws-connections-total = 20000
max-message-bytes = 1048576
request-timeout = "10s"
header-read-timeout = "5s"
body-read-timeout = "3s"
max-batch-length = 50

[cache]
enabled = true
max-entries = 10000

[admin]
token-env = "BTS_GATEWAY_ADMIN_TOKEN"

[health]
interval = "1.5s"
timeout = "2s"
max-lag-blocks = 3
fail-threshold = 2
success-threshold = 2

[[network]]
name = "mainnet"
chain-id = "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8"
hosts = []
paths = ["/", "/ws"]
selection = "geo"
deny-methods = ["get_account_history"]
[network.geo]
database = "/var/lib/GeoLite2-Country.mmdb"
prefer = { US = ["us", "asia"], AS = ["asia", "us"], "*" = ["us", "asia"] }
[[network.backend]]
url = "ws://10.0.0.1:8090"
region = "us"
weight = 1
[[network.backend]]
url = "https://asia.example.com/ws"
region = "asia"
weight = 3

[[network]]
name = "testnet"
chain-id = "testnet"
paths = ["/testnet"]
selection = "round-robin"
[[network.backend]]
url = "http://10.0.0.2:8091"
http-keep-alive = true
"#;

fn parse(text: &str) -> Result<GatewayConfig, ConfigError> {
    GatewayConfig::from_toml(text, "gateway.toml")
}

#[test]
fn the_example_parses_to_what_it_says() {
    let c = parse(EXAMPLE).unwrap();
    assert_eq!(c.server.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(c.server.trusted_proxies.len(), 3);
    assert_eq!(c.server.trusted_proxies[2].to_string(), "::1/128");
    assert_eq!(c.server.forward_client_ip_header.as_deref(), Some("X-Forwarded-For"));
    assert_eq!(c.limits.max_message_bytes, 1 << 20);
    assert_eq!(c.limits.request_timeout, Duration::from_secs(10));
    assert_eq!(c.limits.body_read_timeout, Duration::from_secs(3));
    assert_eq!(c.limits.max_batch_length, 50);
    assert_eq!(c.server.listen_backlog, 2048);
    assert_eq!(c.health.interval, Duration::from_millis(1500));
    assert_eq!(c.health.stall_after, None);
    let main = &c.networks[0];
    assert_eq!((main.name.as_str(), main.chain_id), ("mainnet", ChainId::MAINNET));
    assert_eq!(main.selection, Selection::Geo);
    assert_eq!(main.deny_methods, ["get_account_history"]);
    assert_eq!(main.geo.as_ref().unwrap().prefer["AS"], ["asia", "us"]);
    assert_eq!(main.backends[0].http_url, "http://10.0.0.1:8090");
    assert_eq!(main.backends[1].ws_url, "wss://asia.example.com/ws");
    assert_eq!((main.backends[1].region.as_str(), main.backends[1].weight), ("asia", 3));
    let test = &c.networks[1];
    assert_eq!(
        (test.chain_id, test.selection),
        (ChainId::TESTNET, Selection::RoundRobin)
    );
    assert_eq!(test.backends[0].ws_url, "ws://10.0.0.2:8091");
    assert_eq!(test.backends[0].region, "default");
    // witness_node closes each HTTP connection after its answer: reuse is opt-in.
    assert!(test.backends[0].http_keep_alive && !main.backends[0].http_keep_alive);
}

#[test]
fn sections_are_optional() {
    let c = parse(
        "[[network]]\nname = \"m\"\nchain-id = \"mainnet\"\n[[network.backend]]\nurl = \"ws://127.0.0.1:8090\"\n",
    )
    .unwrap();
    let defaults = GatewayConfig::with_networks(c.networks.clone()).unwrap();
    assert_eq!(c, defaults);
    assert_eq!(c.server.listen.port(), 8080);
    assert_eq!(c.networks[0].paths, ["/"]);
    assert_eq!(c.networks[0].selection, Selection::Latency);
    assert_eq!(
        (
            c.health.fail_threshold,
            c.health.success_threshold,
            c.health.max_lag_blocks
        ),
        (2, 2, 3)
    );
    assert!(c.cache.enabled);
    assert_eq!(c.admin.token_env, "BTS_GATEWAY_ADMIN_TOKEN");
}

const NET: &str = "[[network]]\nname = \"m\"\nchain-id = \"mainnet\"\n";
const BACKEND: &str = "[[network.backend]]\nurl = \"ws://127.0.0.1:8090\"\n";

/// (file text, key path the error must name, words the message must contain).
fn mistakes() -> Vec<(String, &'static str, &'static str)> {
    let with = |section: &str| format!("{section}\n{NET}{BACKEND}");
    let net = |extra: &str| format!("{NET}{extra}\n{BACKEND}");
    vec![
        (with("[server]\nlisten = \"8080\""), "server.listen", "IP:PORT"),
        (
            with("[server]\ntrusted-proxies = [\"10.0.0.0/33\"]"),
            "server.trusted-proxies[0]",
            "address range",
        ),
        (
            with("[server]\nforward-client-ip-header = \"X Forwarded\""),
            "server.forward-client-ip-header",
            "header name",
        ),
        (with("[server]\nport = 1"), "server.port", "unknown field `port`"),
        (with("[limits]\nburst = 0"), "limits.burst", "whole number from 1"),
        (with("[limits]\nburst = \"lots\""), "limits.burst", "invalid type"),
        (
            with("[limits]\nrequest-timeout = \"10 parsecs\""),
            "limits.request-timeout",
            "duration such as \"1.5s\"",
        ),
        (
            with("[limits]\nmax-message-bytes = 10"),
            "limits.max-message-bytes",
            "from 1024",
        ),
        (
            with("[limits]\nws-connections-per-ip = 50\nws-connections-total = 10"),
            "limits.ws-connections-per-ip",
            "raise the total",
        ),
        (with("[cache]\nmax-entries = -1"), "cache.max-entries", "whole number"),
        (
            with("[admin]\ntoken-env = \"my token\""),
            "admin.token-env",
            "environment variable name",
        ),
        (
            with("[health]\ninterval = \"0s\""),
            "health.interval",
            "longer than zero",
        ),
        (with("[health]\nfail-threshold = 0"), "health.fail-threshold", "from 1"),
        (
            with("[health]\nstall-after = \"soon\""),
            "health.stall-after",
            "duration",
        ),
        (String::new(), "network", "add one with name, chain-id"),
        (
            format!("[[network]]\nchain-id = \"mainnet\"\n{BACKEND}"),
            "network[0].name",
            "missing",
        ),
        (
            format!("[[network]]\nname = \"m\"\n{BACKEND}"),
            "network[0].chain-id",
            "64-hex-digit",
        ),
        (
            net("").replace("mainnet", "4018d784"),
            "network[0].chain-id",
            "64 hex digits",
        ),
        (NET.to_owned(), "network[0].backend", "no backend"),
        (
            net("selection = \"fastest\""),
            "network[0].selection",
            "\"round-robin\", \"latency\" or \"geo\"",
        ),
        (net("selection = \"geo\""), "network[0].geo", "needs a [network.geo]"),
        (net("paths = [\"ws\"]"), "network[0].paths[0]", "starting with '/'"),
        (
            net("hosts = [\"https://a.example\"]"),
            "network[0].hosts[0]",
            "without scheme",
        ),
        (net("name2 = 1"), "network[0].name2", "unknown field `name2`"),
        (
            format!("{NET}[[network.backend]]\nurl = \"tcp://x:1\""),
            "network[0].backend[0].url",
            "not ws, wss",
        ),
        (
            format!("{NET}[[network.backend]]\nregion = \"us\""),
            "network[0].backend[0].url",
            "missing",
        ),
        (
            format!("{NET}{BACKEND}weight = 1000"),
            "network[0].backend[0].weight",
            "from 1 to 100",
        ),
        (
            format!("{NET}{BACKEND}region = \"us east\""),
            "network[0].backend[0].region",
            "short name",
        ),
        (
            format!("{NET}{BACKEND}{BACKEND}"),
            "network[0].backend[1].url",
            "listed twice",
        ),
        (
            format!("{NET}{BACKEND}[[network]]\nname = \"m\"\nchain-id = \"testnet\"\n{BACKEND}"),
            "network[1].name",
            "used twice",
        ),
        (
            format!("{NET}{BACKEND}[[network]]\nname = \"t\"\nchain-id = \"testnet\"\n{BACKEND}"),
            "network[1].paths[0]",
            "already routed to network \"m\"",
        ),
        (
            format!(
                "{NET}selection = \"geo\"\n[network.geo]\ndatabase = \"x.mmdb\"\nprefer = {{ US = [\"eu\"] }}\n{BACKEND}"
            ),
            "network[0].geo.prefer.US",
            "region \"eu\" has no backend; known regions: default",
        ),
        (
            format!(
                "{NET}selection = \"geo\"\n[network.geo]\ndatabase = \"x.mmdb\"\nprefer = {{ usa = [\"default\"] }}\n{BACKEND}"
            ),
            "network[0].geo.prefer.usa",
            "two-letter",
        ),
        (
            format!("{NET}selection = \"geo\"\n[network.geo]\nprefer = {{}}\n{BACKEND}"),
            "network[0].geo.database",
            "missing",
        ),
        (
            format!("{NET}[network.geo]\ndatabase = \"x.mmdb\"\n{BACKEND}"),
            "network[0].geo",
            "only used with selection",
        ),
    ]
}

#[test]
fn every_mistake_names_its_key_and_what_to_do() {
    for (text, key, words) in mistakes() {
        let error = match parse(&text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        };
        let shown = error.to_string();
        assert_eq!(error.key(), Some(key), "{shown}\n---\n{text}");
        assert!(shown.contains(words), "{shown:?} lacks {words:?}");
        assert!(shown.starts_with("gateway.toml"), "{shown}");
    }
}

#[test]
fn syntax_errors_give_line_and_column() {
    let e = parse("[server]\nlisten = \n").unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { line: 2, .. }), "{e}");
    assert!(e.to_string().starts_with("gateway.toml:2:"), "{e}");
}

#[test]
fn load_reads_a_file_and_says_which() {
    let path = std::env::temp_dir().join(format!("bts-gateway-config-{}.toml", std::process::id()));
    std::fs::write(&path, EXAMPLE).unwrap();
    let c = GatewayConfig::load(&path).unwrap();
    assert_eq!(c.networks.len(), 2);
    std::fs::remove_file(&path).unwrap();
    let e = GatewayConfig::load(&path).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("cannot read {}", path.display())),
        "{e}"
    );
}

#[test]
fn routes_mainnet_and_testnet_on_one_gateway() {
    let c = parse(EXAMPLE).unwrap();
    let name = |host: Option<&str>, path: &str| c.route(host, path).map(|n| n.name.clone());
    assert_eq!(name(Some("api.example.com"), "/").as_deref(), Some("mainnet"));
    assert_eq!(name(None, "/ws").as_deref(), Some("mainnet"));
    assert_eq!(name(None, "/testnet").as_deref(), Some("testnet"));
    assert_eq!(name(None, "/testnet/ws").as_deref(), Some("testnet"));
    assert_eq!(name(None, "/testnetwork").as_deref(), Some("mainnet"));
}

#[test]
fn code_built_networks_for_tests_and_up() {
    use bts_gateway::NetworkConfig;
    let n = NetworkConfig::new(
        "devnet",
        ChainId::TESTNET,
        &["ws://127.0.0.1:9000/", "http://127.0.0.1:9001"],
    )
    .unwrap();
    assert_eq!(n.backends[1].ws_url, "ws://127.0.0.1:9001");
    let t = NetworkConfig::new("t2", ChainId::MAINNET, &["ws://127.0.0.1:9002"])
        .unwrap()
        .with_paths(&["/testnet"]);
    let c = GatewayConfig::with_networks(vec![n.clone(), t]).unwrap();
    assert_eq!(c.route(None, "/testnet").unwrap().name, "t2");
    let e = GatewayConfig::with_networks(vec![n.clone(), n]).unwrap_err();
    assert_eq!(e.key(), Some("network[1].name"));
    let e = NetworkConfig::new("x", ChainId::MAINNET, &["ftp://h:1"]).unwrap_err();
    assert_eq!(e.key(), Some("network.x.backend[0].url"));
    assert!(GatewayConfig::with_networks(vec![]).is_err());
}
