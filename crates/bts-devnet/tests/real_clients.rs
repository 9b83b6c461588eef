//! The compatibility proof: the reference wallet's websocket library (bitsharesjs-ws, npm) and
//! python-bitshares (PyPI), unmodified, against a devnet on real sockets.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_devnet::chain::ChainConfig;
use bts_protocol::Prefix;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitsharesjs_ws_logs_in_reads_and_receives_notices() {
    for prefix in [Prefix::BTS, Prefix::TEST] {
        let devnet = support::devnet(1, prefix).await;
        let chain_id = devnet.network().config().chain_id.to_string();
        let mut node = Command::new("node");
        node.arg(support::root().join("peers/js/devnet_client.js")).args([
            &devnet.nodes()[0].ws_url(),
            &chain_id,
            prefix.as_str(),
            "2",
        ]);
        let seen = support::run_peer(node).await;
        assert_eq!(seen["chain_id"], chain_id.as_str(), "{seen}");
        assert_eq!(seen["chain_properties_id"], chain_id.as_str(), "{seen}");
        let ids = seen["block_ids"].as_array().unwrap();
        assert_eq!(ids.len(), 2, "{seen}");
        // Block ids carry their block number in the first four bytes, one block apart.
        let nums: Vec<u64> = ids
            .iter()
            .map(|i| u64::from_str_radix(&i.as_str().unwrap()[..8], 16).unwrap())
            .collect();
        assert_eq!(nums[1], nums[0] + 1, "{seen}");
        // get_objects ["2.1.0"] after set_subscribe_callback: the dynamic properties are sent on change.
        assert!(seen["object_notices"].as_u64().unwrap() >= 1, "{seen}");
        assert_eq!(seen["first_notice_ids"][0], "2.1.0", "{seen}");
        assert!(seen["history_entries"].is_u64(), "{seen}");
        devnet.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_bitshares_registers_an_account_and_transfers() {
    let devnet = support::devnet(2, Prefix::TEST).await;
    let config = devnet.network().config();
    let mut python = Command::new(support::python());
    python.arg(support::root().join("peers/python/devnet_client.py")).args([
        &devnet.nodes()[1].ws_url(),
        &config.chain_id.to_string(),
        "TEST",
        &config.registrar_name,
        &ChainConfig::dev_key().to_wif(),
        "py-client-1",
    ]);
    let seen = support::run_peer(python).await;
    assert_eq!(seen["registrar_is_ltm"], true, "{seen}");
    assert_eq!(seen["registrar_id"], "1.2.7", "{seen}");
    assert_eq!(seen["account_referrer"], "1.2.7", "{seen}");
    // python-bitshares writes 70 percent as 7000, the chain's unit.
    assert_eq!(seen["referrer_rewards_percentage"], 7000, "{seen}");
    assert_eq!(seen["owner_key"], seen["expected_owner_key"], "{seen}");
    assert_eq!(seen["memo_key"], seen["expected_memo_key"], "{seen}");
    assert!(seen["created_block"].as_u64().unwrap() > 0, "{seen}");
    assert!(
        seen["transfer_block"].as_u64().unwrap() >= seen["created_block"].as_u64().unwrap(),
        "{seen}"
    );
    assert_eq!(seen["balance"], 12.5, "{seen}");
    // The account exists on every node of the network, not only the one that took the transaction.
    let on_other = devnet.nodes()[0]
        .node
        .with_chain(|c| c.object("1.2.8".parse().unwrap()));
    assert_eq!(on_other.unwrap()["name"], "py-client-1");
    devnet.shutdown().await;
}
