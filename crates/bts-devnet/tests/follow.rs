//! Followers in one test process, on real sockets: a chain of three nodes (producer, follower,
//! follower of the follower), broadcasts relayed up and confirmed on the follower's own replica,
//! an upstream that goes away and comes back, restarts from a data dir, and the refusals.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_devnet::follow::FollowError;
use bts_devnet::ledger::Ledger;
use bts_devnet::store::{DataDir, StoreError};
use bts_devnet::{Devnet, Follower, ServerConfig, config_now};
use bts_protocol::Prefix;
use bts_rpc::{ApiRef, HttpClient, RpcError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::{http, transfer, ws};
use tokio::net::TcpListener;
use tokio::sync::watch;

async fn follower(url: &str, dir: Option<&DataDir>) -> Follower {
    try_follow(url, dir).await.unwrap()
}

async fn try_follow(url: &str, dir: Option<&DataDir>) -> Result<Follower, FollowError> {
    try_follow_on(url, dir, "127.0.0.1:0".parse().unwrap()).await
}

async fn try_follow_on(url: &str, dir: Option<&DataDir>, addr: SocketAddr) -> Result<Follower, FollowError> {
    let listener = TcpListener::bind(addr).await.unwrap();
    let (_cancel, never) = watch::channel(false);
    let started = Follower::start(url, dir, vec![listener], ServerConfig::admin(), never);
    Ok(tokio::time::timeout(Duration::from_secs(30), started)
        .await
        .expect("a reachable upstream answers at once")?
        .expect("not cancelled"))
}

async fn head(client: &HttpClient) -> u32 {
    client
        .api()
        .get_dynamic_global_properties()
        .await
        .unwrap()
        .head_block_number
}

/// Waits until the node at `url` has applied block `num` (a deadline turns a hang into a failure).
async fn wait_for_block(url: &str, num: u32) {
    let client = http(url);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while head(&client).await < num {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never reached block {num}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The id of block `num`, as the next block's `previous` (the node must have applied it).
async fn block_id(url: &str, num: u32) -> String {
    let block: Value = http(url)
        .call_as(ApiRef::DATABASE, "get_block", &(num + 1,))
        .await
        .unwrap();
    block["previous"].as_str().unwrap().to_owned()
}

async fn genesis(url: &str) -> Value {
    http(url)
        .call_as(ApiRef::Name("devnet".into()), "get_genesis", &())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_three_serves_relays_and_confirms_on_its_own_replica() {
    let producer = support::devnet(1, Prefix::TEST).await;
    let top = producer.nodes()[0].clone();
    let a = follower(&top.ws_url(), None).await;
    let b = follower(&a.nodes()[0].http_url(), None).await;
    let (a_node, b_node) = (a.nodes()[0].clone(), b.nodes()[0].clone());

    // One chain: the same genesis everywhere, without the registrar's private key.
    let g = genesis(&b_node.http_url()).await;
    assert_eq!(g, genesis(&top.http_url()).await);
    assert_eq!(g["chain_id"], producer.network().config().chain_id.to_string());
    let wif = producer
        .network()
        .config()
        .registrar_private_key
        .as_ref()
        .unwrap()
        .to_wif();
    assert!(!g["genesis"].as_str().unwrap().contains(&wif), "{g}");
    assert!(b.config().registrar_private_key.is_none());

    // A transfer sent to the end of the chain is answered once it is in that node's own block.
    let client = ws(&b_node.ws_url()).await;
    let tx = transfer(&client, 100_000).await;
    let confirmation = client.api().broadcast_transaction_synchronous(&tx).await.unwrap();
    assert_eq!(confirmation.id, tx.id());
    assert!(b_node.node.with_chain(|c| c.head_block_num()) >= confirmation.block_num);
    for url in [top.http_url(), a_node.http_url(), b_node.http_url()] {
        wait_for_block(&url, confirmation.block_num + 1).await;
        let got: Value = http(&url)
            .call_as(ApiRef::DATABASE, "get_block", &(confirmation.block_num,))
            .await
            .unwrap();
        assert_eq!(
            got["transactions"][0]["signatures"],
            json!(tx.signatures),
            "{url}: {got}"
        );
    }
    // Every node made the same blocks.
    let id = block_id(&top.http_url(), confirmation.block_num).await;
    assert_eq!(block_id(&a_node.http_url(), confirmation.block_num).await, id);
    assert_eq!(block_id(&b_node.http_url(), confirmation.block_num).await, id);

    // Over HTTP in the middle of the chain too.
    let tx = transfer(&client, 200_000).await;
    let confirmation = http(&a_node.http_url())
        .api()
        .broadcast_transaction_synchronous(&tx)
        .await
        .unwrap();
    assert_eq!(confirmation.id, tx.id());

    // A rejection comes back in the producer's own words.
    let direct = http(&top.http_url())
        .api()
        .broadcast_transaction(&tx)
        .await
        .unwrap_err();
    let relayed = client.api().broadcast_transaction(&tx).await.unwrap_err();
    assert!(relayed.is_duplicate_transaction(), "{relayed}");
    assert_eq!(relayed.node_error(), direct.node_error());

    // With a callback on a follower: answered at once, then a notice from its own replica.
    let tx = transfer(&client, 300_000).await;
    let mut sub = client
        .subscribe(
            bts_rpc::api::network_broadcast(),
            "broadcast_transaction_with_callback",
            |cb| json!([cb, tx]),
        )
        .await
        .unwrap();
    let notice: Value = sub.recv_as().await.unwrap();
    assert_eq!(notice[0]["id"], tx.id().to_string(), "{notice}");
    let num = u32::try_from(notice[0]["block_num"].as_u64().unwrap()).unwrap();
    assert!(b_node.node.with_chain(|c| c.head_block_num()) >= num);

    b.shutdown().await;
    a.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_serves_reads_while_its_upstream_is_gone_and_catches_up_after() {
    let data = tempfile::tempdir().unwrap();
    let producer_dir = DataDir::new(data.path().join("producer"));
    let config = config_now(Prefix::BTS);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ledger = Arc::new(producer_dir.open(&config).unwrap());
    let producer = Devnet::resume("p", config.clone(), ledger, vec![listener], ServerConfig::admin())
        .await
        .unwrap();
    let follower_dir = DataDir::new(data.path().join("follower"));
    let a = follower(&producer.nodes()[0].ws_url(), Some(&follower_dir)).await;
    let a_url = a.nodes()[0].http_url();
    wait_for_block(&a_url, 3).await;
    let first_id = block_id(&a_url, 1).await;

    // The producer dies: the follower answers from its replica, and its head stops.
    producer.shutdown().await;
    let stopped_at = head(&http(&a_url)).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let client = http(&a_url);
    assert_eq!(head(&client).await, stopped_at, "no upstream, no new blocks");
    assert!(client.api().get_account_by_name("faucet").await.unwrap().is_some());
    // A broadcast cannot be relayed: the client is told, and may send it elsewhere.
    let tx = transfer(&ws(&a.nodes()[0].ws_url()).await, 1).await;
    let e = client.api().broadcast_transaction(&tx).await.unwrap_err();
    assert!(
        e.node_message().unwrap().contains("could not relay the transaction"),
        "{e}"
    );

    // The producer comes back on the same address from its data dir: the same chain goes on
    // from its last block, and the follower catches up.
    let listener = TcpListener::bind(addr).await.unwrap();
    let stored = producer_dir.stored_genesis().unwrap().unwrap();
    let ledger = Arc::new(producer_dir.open(&stored).unwrap());
    let resumed_head = ledger.head();
    assert!(resumed_head >= stopped_at);
    let producer = Devnet::resume("p", stored, ledger, vec![listener], ServerConfig::admin())
        .await
        .unwrap();
    wait_for_block(&a_url, resumed_head + 2).await;
    assert_eq!(block_id(&a_url, 1).await, first_id);
    assert_eq!(block_id(&producer.nodes()[0].http_url(), 1).await, first_id);

    // A restarted follower starts from its stored head, before it hears from its upstream.
    a.shutdown().await;
    let stored_head = DataDir::new(data.path().join("follower"))
        .open(&config)
        .map(|l: Ledger| l.head())
        .unwrap();
    assert!(stored_head >= resumed_head + 2);
    let a = follower(&producer.nodes()[0].ws_url(), Some(&follower_dir)).await;
    assert!(a.nodes()[0].node.with_chain(|c| c.head_block_num()) >= stored_head);
    wait_for_block(&a.nodes()[0].http_url(), stored_head + 2).await;
    a.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_upstream_stops_the_followers_head_until_it_thaws() {
    let producer = support::devnet(1, Prefix::BTS).await;
    let top = &producer.nodes()[0];
    let a = follower(&top.ws_url(), None).await;
    let a_url = a.nodes()[0].http_url();
    wait_for_block(&a_url, 2).await;
    top.node.faults().apply(&bts_devnet::faults::FaultChange {
        frozen: Some(true),
        ..Default::default()
    });
    let frozen_at = top.node.with_chain(|c| c.head_block_num());
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        head(&http(&a_url)).await <= frozen_at,
        "a follower serves no more than its upstream applied"
    );
    assert!(
        producer.network().ledger().head() > frozen_at + 1,
        "the chain went on meanwhile"
    );
    top.node.faults().apply(&bts_devnet::faults::FaultChange {
        frozen: Some(false),
        ..Default::default()
    });
    wait_for_block(&a_url, producer.network().ledger().head()).await;
    a.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_refuse_what_is_not_their_chain() {
    // Something that answers HTTP, but not as a node.
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web_addr = web.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = web.accept().await.unwrap();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot here\n")
                    .await;
            });
        }
    });
    for url in [format!("http://{web_addr}/"), format!("ws://{web_addr}/")] {
        let e = try_follow(&url, None).await.err().unwrap();
        assert!(matches!(e, FollowError::NotDevnet { .. }), "{url}: {e}");
        assert!(e.to_string().contains("--follow needs"), "{e}");
    }
    let e = try_follow("https://example.org/", None).await.err().unwrap();
    assert!(matches!(e, FollowError::BadUrl { .. }), "{e}");

    // A data dir that holds another chain.
    let data = tempfile::tempdir().unwrap();
    let dir = DataDir::new(data.path().join("f"));
    let bts = support::devnet(1, Prefix::BTS).await;
    follower(&bts.nodes()[0].ws_url(), Some(&dir)).await.shutdown().await;
    let test = support::devnet(1, Prefix::TEST).await;
    let e = try_follow(&test.nodes()[0].ws_url(), Some(&dir)).await.err().unwrap();
    assert!(matches!(e, FollowError::Store(StoreError::OtherChain { .. })), "{e}");

    // An upstream replaced by a node of another chain on the same address: the follower stops,
    // over either transport.
    for scheme in ["ws", "http"] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let first = Devnet::start("x", config_now(Prefix::BTS), vec![listener], ServerConfig::admin())
            .await
            .unwrap();
        let a = follower(&format!("{scheme}://{addr}/"), None).await;
        first.shutdown().await;
        let mut other = config_now(Prefix::BTS);
        other.genesis_time = other.genesis_time.saturating_add(1);
        let listener = TcpListener::bind(addr).await.unwrap();
        let second = Devnet::start("y", other, vec![listener], ServerConfig::admin())
            .await
            .unwrap();
        let failed = tokio::time::timeout(Duration::from_secs(30), a.failed())
            .await
            .expect("the follower notices the new chain");
        assert!(matches!(*failed, FollowError::OtherChain { .. }), "{scheme}: {failed}");
        a.shutdown().await;
        second.shutdown().await;
    }
    bts.shutdown().await;
    test.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devnet_api_serves_records_only_up_to_the_nodes_head() {
    let producer = support::devnet(1, Prefix::BTS).await;
    let url = producer.nodes()[0].http_url();
    wait_for_block(&url, 2).await;
    let client = http(&url);
    let devnet = ApiRef::Name("devnet".into());
    let hash = producer.network().config().genesis_hash().to_string();
    let records: Vec<Value> = client
        .call_as(devnet.clone(), "get_block_records", &(1, 2, &hash))
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["num"], 1);
    let none: Vec<Value> = client
        .call_as(devnet.clone(), "get_block_records", &(1_000_000, 10, &hash))
        .await
        .unwrap();
    assert!(none.is_empty());
    // Records go only to followers of the same genesis.
    let other = "00".repeat(32);
    let e = client
        .call(devnet.clone(), "get_block_records", &(1, 2, &other))
        .await
        .unwrap_err();
    assert!(e.node_message().unwrap().contains("not 0000"), "{e}");
    let e = client.call(devnet, "no_such_method", &()).await.unwrap_err();
    assert!(matches!(e, RpcError::Node(_)), "{e}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_is_not_there_yet_is_waited_for() {
    // A free port: nothing listens there until the producer starts.
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let (cancel, cancelled) = watch::channel(false);
    let waiting = tokio::spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Follower::start(
            &format!("ws://{addr}/"),
            None,
            vec![listener],
            ServerConfig::admin(),
            cancelled,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!waiting.is_finished(), "a follower waits for its upstream");
    let producer = Devnet::start(
        "late",
        config_now(Prefix::BTS),
        vec![TcpListener::bind(addr).await.unwrap()],
        ServerConfig::admin(),
    )
    .await
    .unwrap();
    let a = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("it follows once the upstream is there")
        .unwrap()
        .unwrap()
        .expect("not cancelled");
    wait_for_block(&a.nodes()[0].http_url(), 2).await;
    a.shutdown().await;
    producer.shutdown().await;

    // Cancelled while waiting: no follower, no error.
    let (cancel_too, cancelled) = watch::channel(false);
    let waiting = tokio::spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Follower::start(
            &format!("http://{addr}/"),
            None,
            vec![listener],
            ServerConfig::admin(),
            cancelled,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    cancel_too.send(true).unwrap();
    assert!(waiting.await.unwrap().unwrap().is_none());
    drop(cancel);
}

/// Not a check but a measurement, printed: how fast a stored chain is read and replayed on
/// restart, and how fast a new follower copies it. Run it with
/// `cargo test --release -p bts-devnet --test follow -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run it by hand (see its doc)"]
async fn measure_replay_and_catch_up() {
    const BLOCKS: u32 = 50_000;
    let data = tempfile::tempdir().unwrap();
    let dir = DataDir::new(data.path().join("producer"));
    let mut config = config_now(Prefix::BTS);
    config.genesis_time = bts_protocol::TimePointSec(config.genesis_time.secs() - 2 * BLOCKS);
    {
        let network =
            bts_devnet::network::Network::resume("m", config.clone(), Arc::new(dir.open(&config).unwrap())).unwrap();
        for n in 1..=BLOCKS {
            network.produce_block(config.genesis_time.saturating_add(n)).unwrap();
        }
    }
    let size = std::fs::metadata(data.path().join("producer/blocks.log"))
        .unwrap()
        .len();
    let started = std::time::Instant::now();
    let ledger = Arc::new(dir.open(&config).unwrap());
    let read = started.elapsed();
    let network = bts_devnet::network::Network::resume("m", config.clone(), ledger.clone()).unwrap();
    let replayed = started.elapsed() - read;
    drop(network);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let producer = Devnet::resume("m", config, ledger, vec![listener], ServerConfig::admin())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let a = follower(&producer.nodes()[0].ws_url(), None).await;
    wait_for_block(&a.nodes()[0].http_url(), BLOCKS).await;
    let copied = started.elapsed();
    let rate = |d: Duration| f64::from(BLOCKS) / d.as_secs_f64();
    println!("| {BLOCKS} empty blocks, {size} bytes on disk | time | blocks/s |");
    println!("|---|---|---|");
    println!("| read and check the block file | {read:.2?} | {:.0} |", rate(read));
    println!(
        "| replay into the producer's chain | {replayed:.2?} | {:.0} |",
        rate(replayed)
    );
    println!(
        "| a new follower copies and applies them (ws) | {copied:.2?} | {:.0} |",
        rate(copied)
    );
    a.shutdown().await;
    producer.shutdown().await;
}
