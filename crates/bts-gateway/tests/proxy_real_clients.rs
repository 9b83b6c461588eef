//! The reference wallet's websocket library (bitsharesjs-ws) and python-bitshares, unmodified,
//! talking to devnet nodes through the gateway.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;

use bts_devnet::chain::ChainConfig;
use std::process::Command;
use support_proxy::{config_for, devnet, gateway, root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitsharesjs_ws_through_the_gateway() {
    let devnet = devnet(2).await;
    let gw = gateway(config_for(&devnet)).await;
    let chain_id = devnet.network().config().chain_id.to_string();
    let mut node = Command::new("node");
    node.arg(root().join("peers/js/devnet_client.js"))
        .args([&gw.ws_url(), &chain_id, "BTS", "2"]);
    let seen = support_proxy::run_peer(node).await;
    assert_eq!(seen["chain_id"], chain_id.as_str(), "{seen}");
    assert_eq!(seen["block_ids"].as_array().unwrap().len(), 2, "{seen}");
    assert_eq!(seen["first_notice_ids"][0], "2.1.0", "{seen}");
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_bitshares_registers_through_the_gateway() {
    let devnet = devnet(2).await;
    let mut config = config_for(&devnet);
    config.limits.requests_per_second_per_ip = 1000;
    config.limits.burst = 1000;
    let gw = gateway(config).await;
    let chain = devnet.network().config();
    let mut python = Command::new(support_proxy::python());
    python.arg(root().join("peers/python/devnet_client.py")).args([
        &gw.ws_url(),
        &chain.chain_id.to_string(),
        "BTS",
        &chain.registrar_name,
        &ChainConfig::dev_key().to_wif(),
        "via-gateway-1",
    ]);
    let seen = support_proxy::run_peer(python).await;
    assert_eq!(seen["account_referrer"], "1.2.7", "{seen}");
    assert_eq!(seen["owner_key"], seen["expected_owner_key"], "{seen}");
    assert_eq!(seen["balance"], 12.5, "{seen}");
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitsharesjs_ws_sees_every_block_across_failovers() {
    // Each node in turn freezes for a few seconds: when it is the session's node, the session
    // moves while the chain goes on, and the blocks applied meanwhile must still reach the client
    // (filled in from the new node), each once, in order.
    let devnet = devnet(3).await;
    let gw = gateway(config_for(&devnet)).await;
    let chain_id = devnet.network().config().chain_id.to_string();
    let stop = std::env::temp_dir().join(format!("bts-gw-watch-{}", std::process::id()));
    let _ = std::fs::remove_file(&stop);
    let mut node = Command::new("node");
    node.arg(root().join("peers/js/session_watch.js"))
        .args([&gw.ws_url(), &chain_id, "BTS", stop.to_str().unwrap()]);
    let watch = tokio::spawn(support_proxy::run_peer(node));
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for _round in 0..2 {
        for i in 0..3 {
            support_proxy::fault(devnet.nodes()[i].addr, serde_json::json!({"frozen": true})).await;
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            support_proxy::fault(devnet.nodes()[i].addr, serde_json::json!({"frozen": false})).await;
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        }
    }
    std::fs::write(&stop, b"").unwrap();
    let seen = watch.await.unwrap();
    let _ = std::fs::remove_file(&stop);
    let moves = support_proxy::metric(gw.addr, bts_gateway::metrics::WS_FAILOVERS).await;
    assert!(moves >= 1.0, "the session never moved: {seen}");
    assert_eq!(seen["closed"], false, "{seen}");
    assert_eq!(
        (seen["missed"].as_u64(), seen["repeated"].as_u64()),
        (Some(0), Some(0)),
        "{seen} after {moves} moves"
    );
    let span = seen["last"].as_u64().unwrap() - seen["first"].as_u64().unwrap() + 1;
    assert_eq!(seen["blocks"].as_u64(), Some(span), "{seen}");
    eprintln!("bitsharesjs-ws across {moves} session moves: {seen}");
    gw.shutdown().await;
    devnet.shutdown().await;
}
