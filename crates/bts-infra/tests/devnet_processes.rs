//! A devnet network of processes, as the images and the fleet run it: a producer, a follower of
//! it and a follower of that follower, each a `bts-infra devnet` process with its own data dir.
//! Real clients (python-bitshares, bitsharesjs-ws) use the followers; each process is killed
//! with SIGKILL and restarted under load; damaged and foreign data dirs are refused.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

#[path = "../../bts-devnet/tests/support/mod.rs"]
mod support;
mod support_procs;

use bts_devnet::chain::ChainConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support_procs::{Proc, block, client, head, run_to_end, wait_for_block};
use tokio::sync::Mutex;

fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Producer, follower of the producer (over WebSocket), follower of the follower (over HTTP).
fn chain_of_three(dir: &std::path::Path, prefix: &str) -> [Proc; 3] {
    let producer = Proc::start("producer", dir, &flags(&["--block-interval", "1s", "--prefix", prefix]));
    let f1 = Proc::start("f1", dir, &flags(&["--follow", &producer.ws()]));
    let f2 = Proc::start("f2", dir, &flags(&["--follow", &f1.http()]));
    [producer, f1, f2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clients_use_followers_and_see_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = chain_of_three(dir.path(), "TEST");
    let chain_id = nodes[0].report["chain_id"].as_str().unwrap().to_owned();
    for (node, role) in nodes.iter().zip(["producer", "follower", "follower"]) {
        assert_eq!(node.report["role"], role, "{}", node.report);
        assert_eq!(node.report["chain_id"], chain_id.as_str());
        assert_eq!(node.report["data_dir"], node.data_dir.display().to_string());
    }
    assert_eq!(nodes[2].report["upstream"], nodes[1].http());

    // python-bitshares registers an account and sends a transfer through each follower.
    for (node, name) in [(&nodes[1], "py-via-f1"), (&nodes[2], "py-via-f2")] {
        let mut python = Command::new(support::python());
        python.arg(support::root().join("peers/python/devnet_client.py")).args([
            &node.ws(),
            &chain_id,
            "TEST",
            "faucet",
            &ChainConfig::dev_key().to_wif(),
            name,
        ]);
        let seen = support::run_peer(python).await;
        assert_eq!(seen["balance"], 12.5, "{seen}");
        let created = u32::try_from(seen["transfer_block"].as_u64().unwrap()).unwrap();
        // Every node of the chain has it, not only the one that took the transaction.
        for other in &nodes {
            wait_for_block(&other.http(), created).await;
            let account = client(&other.http()).api().get_account_by_name(name).await.unwrap();
            assert!(account.is_some(), "{name} missing on {}", other.name);
        }
    }

    // The accounts' keys survive a replay from the data dirs (bytes carry no key prefix).
    let memo_key = client(&nodes[0].http())
        .api()
        .get_account_by_name("py-via-f2")
        .await
        .unwrap()
        .unwrap();
    let mut nodes = nodes;
    for i in [0, 2] {
        nodes[i].kill9();
        nodes[i].restart();
        let account = client(&nodes[i].http())
            .api()
            .get_account_by_name("py-via-f2")
            .await
            .unwrap();
        assert_eq!(account.unwrap().options, memo_key.options, "{}", nodes[i].name);
    }

    // bitsharesjs-ws, subscribed on the last follower, receives block and object notices.
    let mut node = Command::new("node");
    node.arg(support::root().join("peers/js/devnet_client.js"))
        .args([&nodes[2].ws(), &chain_id, "TEST", "3"]);
    let seen = support::run_peer(node).await;
    assert_eq!(seen["chain_id"], chain_id.as_str(), "{seen}");
    assert_eq!(seen["block_ids"].as_array().unwrap().len(), 3, "{seen}");
    assert!(seen["object_notices"].as_u64().unwrap() >= 1, "{seen}");
}

/// What the load saw: transfers the chain confirmed (id → block), and calls that failed.
#[derive(Default)]
struct Seen {
    confirmed: BTreeMap<String, u32>,
    failed: u32,
    duplicates: u32,
}

/// Sends transfers (amounts unique to `wallet`) through the three nodes in turn until `stop`: a node that is down or cannot
/// relay is an error for that call, as a wallet would meet it; the next call goes elsewhere.
async fn load(urls: Vec<String>, wallet: i64, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) {
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let c = client(&urls[i % urls.len()]);
        let api = c.api();
        let Ok(tx) = support::transfer_through(&api, 1_000 + 4 * i as i64 + wallet).await else {
            seen.lock().await.failed += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        match api.broadcast_transaction_synchronous(&tx).await {
            Ok(c) => {
                seen.lock().await.confirmed.insert(tx.id().to_string(), c.block_num);
            }
            Err(e) => {
                eprintln!("transfer {} through {} failed: {e}", tx.id(), urls[i % urls.len()]);
                let mut seen = seen.lock().await;
                seen.failed += 1;
                seen.duplicates += u32::from(e.is_duplicate_transaction());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_process_killed_and_restarted_under_load_the_chain_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = chain_of_three(dir.path(), "BTS");
    let urls: Vec<String> = nodes.iter().map(Proc::http).collect();
    wait_for_block(&urls[2], 2).await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    // Four wallets, each waiting for its transfer's block before the next.
    let tasks: Vec<_> = (0..4)
        .map(|k| {
            let mut rotated = urls.clone();
            rotated.rotate_left(k % 3);
            tokio::spawn(load(rotated, k as i64, stop.clone(), seen.clone()))
        })
        .collect();

    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let before = head(&urls[i]).await.unwrap();
        nodes[i].kill9();
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        if i == 2 {
            // Cut the last block frame in half, as a crash in the middle of a write would.
            let log = nodes[i].data_dir.join("blocks.log");
            let len = std::fs::metadata(&log).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&log)
                .unwrap()
                .set_len(len - 7)
                .unwrap();
        }
        nodes[i].restart();
        // The restarted node starts from what it stored and catches up with the producer.
        let now = head(&urls[i]).await.unwrap();
        assert!(
            now + 1 >= before,
            "{} restarted at block {now}, had {before}",
            nodes[i].name
        );
        let target = head(&urls[0]).await.unwrap();
        wait_for_block(&urls[i], target).await;
    }
    assert!(
        nodes[2].log_text().contains("torn frame"),
        "the torn tail was found and logged:\n{}",
        nodes[2].log_text()
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    // One chain on every node: the same blocks, each transfer in exactly one block, where the
    // client was told it is; block times strictly increase across the producer's restart.
    let top = head(&urls[0]).await.unwrap();
    for url in &urls {
        wait_for_block(url, top).await;
    }
    let seen = seen.lock().await;
    eprintln!(
        "confirmed {} transfers, {} calls failed, {top} blocks",
        seen.confirmed.len(),
        seen.failed
    );
    assert!(
        seen.confirmed.len() >= 10,
        "the load ran ({} confirmed)",
        seen.confirmed.len()
    );
    // Each transfer was sent once: a duplicate would mean a node resent or replayed one.
    assert_eq!(seen.duplicates, 0);
    let mut found: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut last_time = String::new();
    for num in 1..=top {
        let blocks: Vec<Value> = futures_util::future::join_all(urls.iter().map(|u| block(u, num))).await;
        assert_eq!(blocks[0], blocks[1], "block {num}: producer and f1 differ");
        assert_eq!(blocks[0], blocks[2], "block {num}: producer and f2 differ");
        let time = blocks[0]["timestamp"].as_str().unwrap().to_owned();
        assert!(time > last_time, "block {num} at {time}, after {last_time}");
        last_time = time;
        for tx in blocks[0]["transactions"].as_array().unwrap() {
            let id = support_tx_id(tx);
            found.entry(id).or_default().push(num);
        }
    }
    for (id, num) in &seen.confirmed {
        assert_eq!(
            found.get(id),
            Some(&vec![*num]),
            "transfer {id} confirmed in block {num}"
        );
    }
    assert!(
        found.values().all(|blocks| blocks.len() == 1),
        "no transaction in two blocks"
    );
}

/// A transaction's id from its JSON in a block.
fn support_tx_id(tx: &Value) -> String {
    let tx: bts_protocol::SignedTransaction = serde_json::from_value(tx.clone()).unwrap();
    tx.id().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_and_damaged_data_dirs_and_wrong_upstreams_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut producer = Proc::start("producer", dir.path(), &flags(&["--block-interval", "1s"]));
    wait_for_block(&producer.http(), 3).await;
    assert!(producer.stop().success());
    let data_dir = producer.data_dir.display().to_string();
    let log = dir.path().join("refusals.log");
    let args = |extra: &[&str]| {
        let mut a = flags(&["devnet", "--listen", "127.0.0.1:0", "--data-dir", &data_dir]);
        a.extend(flags(extra));
        a
    };

    // Another chain on this data dir: refused, nothing touched.
    let (status, text) = run_to_end(&args(&["--prefix", "TEST"]), &log);
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.contains("holds another chain"), "{text}");

    // A follower of another chain with this data dir.
    let other = Proc::start("other", dir.path(), &flags(&["--prefix", "TEST"]));
    let (status, text) = run_to_end(&args(&["--follow", &other.ws()]), &log);
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("holds another chain"), "{text}");

    // A follower pointed at something that is not a devnet node (the admin endpoint is not RPC).
    let fresh = dir.path().join("fresh").display().to_string();
    let not_rpc = format!("http://{}/devnet/admin", other.addr);
    let (status, text) = run_to_end(
        &flags(&[
            "devnet",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &fresh,
            "--follow",
            &not_rpc,
        ]),
        &log,
    );
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("is not a bts-infra devnet node"), "{text}");

    // A block file damaged before its tail: refused with where and what, not a panic.
    let blocks = producer.data_dir.join("blocks.log");
    let mut bytes = std::fs::read(&blocks).unwrap();
    let at = 84 + 12 + 2;
    bytes[at] ^= 0xff;
    std::fs::write(&blocks, &bytes).unwrap();
    let (status, text) = run_to_end(&args(&[]), &log);
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.contains("fails its checksum"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    drop(other);
}
