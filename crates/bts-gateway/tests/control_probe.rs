//! Health probes against a real three-node devnet (one-second blocks, 1.5 s health interval) with
//! fault injection: a fresh gateway serves at once; a frozen node goes out within the rule's bound
//! and comes back after catching up; a wrong-chain node is never picked; a hanging node goes out
//! after the failure threshold; a whole-chain stall keeps the pool serving and says so; the status
//! page shows all of it.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_control;

use bts_devnet::faults::FaultChange;
use bts_gateway::BackendId;
use bts_protocol::ChainId;
use std::net::{IpAddr, Ipv4Addr};
use support_control::{backend_status, config, devnet, fault, freeze, start, until};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn state_of(gw: &bts_gateway::Gateway, i: usize) -> String {
    backend_status(gw, i)["state"].as_str().unwrap().to_owned()
}

fn checks_of(gw: &bts_gateway::Gateway, i: usize) -> u64 {
    backend_status(gw, i)["checks"].as_u64().unwrap()
}

/// The ids of `picks` picks.
fn picks(network: &bts_gateway::Network, n: usize) -> Vec<BackendId> {
    (0..n).map(|_| network.pick(CLIENT, &[]).unwrap().id()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_gateway_serves_and_shows_its_status() {
    let handle = bts_gateway::metrics::install().unwrap();
    assert!(
        bts_gateway::metrics::install().is_ok(),
        "a second install keeps the first"
    );
    let net = devnet(3).await;
    let gw = start(&config(&net)).await;
    let network = gw.network_for(Some("any.host"), "/ws").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    let (head, _) = network.head().unwrap();
    assert!(head >= 1);
    assert!(network.last_irreversible_block().unwrap() <= head);
    assert_eq!(network.block_interval(), Some(1));
    assert!(!network.chain_stalled());

    let json = bts_gateway::status::status_json(&gw, Vec::new());
    let n = &json["networks"][0];
    assert_eq!(n["name"], "devnet");
    assert_eq!(n["chain_id"], support_control::chain_id(&net).to_string());
    assert_eq!(n["eligible_backends"], 3);
    assert_eq!(n["chain_stalled"], false);
    for b in n["backends"].as_array().unwrap() {
        assert_eq!(b["state"], "healthy", "{b}");
        assert!(b["reason"].as_str().unwrap().contains("in sync"), "{b}");
        for field in [
            "head",
            "lag_blocks",
            "latency_ms",
            "probe_rtt_ms",
            "availability",
            "cordoned",
            "in_flight",
        ] {
            assert!(!b[field].is_null() || field == "latency_ms", "{field} missing in {b}");
        }
        assert!(b["probe_rtt_ms"]["p50"].as_f64().is_some(), "{b}");
        assert_eq!(b["availability"]["hour"], 1.0);
        assert_eq!(b["availability"]["hourly"].as_array().unwrap().len(), 24);
    }
    let html = bts_gateway::status::status_html(&gw, Vec::new());
    for needle in [
        "<h2>devnet",
        "3 of 3 backends in use",
        "in sync",
        "Avail. 1 h",
        "100.00 %",
        "1 s blocks",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    let metrics = bts_gateway::metrics::render();
    let url = net.nodes()[0].ws_url();
    for needle in [
        format!("bts_gateway_backend_up{{network=\"devnet\",backend=\"{url}\"}} 1"),
        format!("bts_gateway_health_checks_total{{network=\"devnet\",backend=\"{url}\",result=\"ok\"}}"),
        "bts_gateway_chain_stalled{network=\"devnet\"} 0".to_owned(),
        "# TYPE bts_gateway_health_check_duration_seconds histogram".to_owned(),
    ] {
        assert!(metrics.contains(&needle), "{needle} missing in\n{metrics}");
    }
    assert!(!handle.render().is_empty());
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_node_goes_out_quickly_and_comes_back_after_catching_up() {
    let net = devnet(3).await;
    let gw = start(&config(&net)).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    let frozen = network.backends()[1].clone();

    let before = checks_of(&gw, 1);
    freeze(&net, 1, true);
    until(&gw, &network, "the frozen node out", |_| !frozen.is_eligible()).await;
    let checks = checks_of(&gw, 1) - before;
    let status = backend_status(&gw, 1);
    assert_eq!(status["state"], "out");
    // Stopped, or already behind the live nodes by more than max-lag-blocks.
    let why = status["reason"].as_str().unwrap();
    assert!(why.contains("stopped") || why.contains("blocks behind"), "{status}");
    // The check in flight at the freeze, then at most three sent after it (see health's rules:
    // two block intervals plus one health interval of sampling).
    assert!(checks <= 4, "out after {checks} checks: {status}");
    eprintln!("frozen node out after {checks} checks (including the one in flight at the freeze)");
    assert_eq!(network.eligible_count(), 2, "only the frozen node is out");
    assert!(!picks(&network, 200).contains(&frozen.id()));

    freeze(&net, 1, false);
    until(&gw, &network, "the thawed node back", |_| frozen.is_eligible()).await;
    assert!(backend_status(&gw, 1)["reason"].as_str().unwrap().contains("in sync"));
    gw.shutdown().await;
    net.shutdown().await;
}

/// A node that falls `lag` blocks behind while still advancing, in a pool of `nodes`: out with
/// its true lag shown, back when it catches up.
async fn a_node_lagging_while_advancing_is_out(nodes: usize) {
    let net = devnet(nodes).await;
    let gw = start(&config(&net)).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == nodes).await;
    let slow = network.backends()[1].clone();
    let lag = FaultChange {
        lag_blocks: Some(6),
        ..FaultChange::default()
    };
    fault(&net, 1, lag);
    // It stops while the gap opens (out as stopped, or already as behind), then advances behind.
    until(&gw, &network, "the lagging node out", |_| !slow.is_eligible()).await;
    until(&gw, &network, "the lag shown as the reason", |_| {
        backend_status(&gw, 1)["reason"]
            .as_str()
            .is_some_and(|r| r.contains("blocks behind"))
    })
    .await;
    let status = backend_status(&gw, 1);
    assert!(!slow.is_eligible(), "{status}");
    assert!(
        status["lag_blocks"].as_u64().unwrap() > 3,
        "the true lag shows: {status}"
    );
    assert_eq!(network.eligible_count(), nodes - 1, "only the lagging node is out");
    let back = FaultChange {
        lag_blocks: Some(0),
        ..FaultChange::default()
    };
    fault(&net, 1, back);
    until(&gw, &network, "the node back after catching up", |_| slow.is_eligible()).await;
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_lagging_while_advancing_is_out_in_a_pool_of_two() {
    a_node_lagging_while_advancing_is_out(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_lagging_while_advancing_is_out_in_a_pool_of_three() {
    a_node_lagging_while_advancing_is_out(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_chain_node_is_never_picked() {
    let net = devnet(3).await;
    let wrong = FaultChange {
        chain_id: Some(Some(ChainId::MAINNET)),
        ..FaultChange::default()
    };
    fault(&net, 2, wrong);
    let gw = start(&config(&net)).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "two healthy", |n| n.eligible_count() == 2).await;
    until(&gw, &network, "the wrong chain reported", |_| checks_of(&gw, 2) >= 3).await;
    let status = backend_status(&gw, 2);
    assert_eq!(status["state"], "out");
    assert_eq!(
        status["reason"],
        format!(
            "chain id 4018d784… is not devnet's {}…",
            &support_control::chain_id(&net).to_string()[..8]
        )
    );
    let wrong_id = network.backends()[2].id();
    assert!(!picks(&network, 300).contains(&wrong_id));

    // A node that changes chains is noticed on its next connection.
    let to_mainnet = FaultChange {
        chain_id: Some(Some(ChainId::MAINNET)),
        drop_connections: true,
        ..FaultChange::default()
    };
    fault(&net, 0, to_mainnet);
    until(&gw, &network, "node 0 out on the wrong chain", |_| {
        state_of(&gw, 0) == "out"
    })
    .await;
    assert!(
        backend_status(&gw, 0)["reason"]
            .as_str()
            .unwrap()
            .starts_with("chain id 4018d784")
    );
    assert_eq!(picks(&network, 50), vec![network.backends()[1].id(); 50]);
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_node_goes_out_after_the_failure_threshold_and_comes_back() {
    let net = devnet(3).await;
    let gw = start(&config(&net)).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    let hung = network.backends()[0].clone();
    let hang = |on: bool| FaultChange {
        hang: Some(on),
        ..FaultChange::default()
    };
    fault(&net, 0, hang(true));
    until(&gw, &network, "the hanging node out", |_| !hung.is_eligible()).await;
    let status = backend_status(&gw, 0);
    assert_eq!(status["reason"], "2 consecutive timeouts", "{status}");
    assert!(!picks(&network, 100).contains(&hung.id()));

    fault(&net, 0, hang(false));
    until(&gw, &network, "the node back", |_| hung.is_eligible()).await;
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_chain_stall_keeps_the_pool_serving_and_says_so() {
    let net = devnet(3).await;
    let mut cfg = config(&net);
    cfg.health.stall_after = Some(std::time::Duration::from_secs(4));
    let gw = start(&cfg).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    for i in 0..3 {
        freeze(&net, i, true);
    }
    until(&gw, &network, "a stalled chain with every node in use", |n| {
        n.chain_stalled() && n.eligible_count() == 3
    })
    .await;
    assert_eq!(picks(&network, 30).len(), 30);
    let json = bts_gateway::status::status_json(&gw, Vec::new());
    assert_eq!(json["networks"][0]["chain_stalled"], true);
    let stall = json["networks"][0]["stall"].as_str().unwrap();
    assert!(stall.contains("the chain stalled, not the nodes"), "{stall}");
    assert!(bts_gateway::status::status_html(&gw, Vec::new()).contains("<strong>Chain stalled:</strong>"));

    for i in 0..3 {
        freeze(&net, i, false);
    }
    until(&gw, &network, "the chain moving again", |n| !n.chain_stalled()).await;
    gw.shutdown().await;
    net.shutdown().await;
}
