//! The gateway's reason to exist: a node dies under load and no client sees an error; WebSocket
//! sessions move to another node with their subscriptions, API ids and in-flight requests.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;

use bts_rpc::{HttpClient, HttpOptions, WsClient, WsOptions};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support_proxy::{RawWs, config_for, cordon, devnet, gateway};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
    notices: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_three_backends_under_load_costs_clients_nothing() {
    let devnet = devnet(3).await;
    let mut config = config_for(&devnet);
    // Every client here is 127.0.0.1: the per-IP rate limit would be the first thing measured.
    config.limits.requests_per_second_per_ip = 0;
    let gw = gateway(config).await;
    // Pin every WebSocket session to node 0 (the others cordoned while they connect), so that
    // killing node 0 moves all of them.
    cordon(&gw, 1, true).await;
    cordon(&gw, 2, true).await;
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let client = WsClient::connect(&gw.ws_url(), WsOptions::default()).await.unwrap();
        let mut blocks = client.set_block_applied_callback().await.unwrap();
        assert!(blocks.recv().await.is_some(), "notices flow through the gateway");
        let (t, s) = (tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let api = client.api();
            while !s.load(Ordering::Relaxed) {
                tokio::select! {
                    b = blocks.recv() => if b.is_some() { t.notices.fetch_add(1, Ordering::Relaxed); },
                    r = api.get_dynamic_global_properties() => {
                        let counter = if r.is_ok() { &t.ok } else { &t.errors };
                        counter.fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = r { eprintln!("ws read failed: {e}"); }
                    }
                }
            }
        }));
    }
    cordon(&gw, 1, false).await;
    cordon(&gw, 2, false).await;
    for i in 0..6u64 {
        let client = HttpClient::new(&gw.http_url(), HttpOptions::default()).unwrap();
        let (t, s) = (tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                let r = client
                    .api()
                    .get_objects(&[format!("1.2.{}", i % 8).parse().unwrap()])
                    .await;
                let counter = if r.is_ok() { &t.ok } else { &t.errors };
                counter.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = r {
                    eprintln!("http read failed: {e}");
                }
            }
        }));
    }
    // Load is flowing; now node 0 dies.
    let watcher = WsClient::connect(&devnet.nodes()[1].ws_url(), WsOptions::default())
        .await
        .unwrap();
    let mut chain = watcher.set_block_applied_callback().await.unwrap();
    chain.recv().await.unwrap();
    devnet.stop_node(0);
    let notices_at_kill = tally.notices.load(Ordering::Relaxed);
    // Five more blocks on the surviving nodes, then every session must have kept receiving.
    for _ in 0..5 {
        chain.recv().await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, errors) = (tally.ok.load(Ordering::Relaxed), tally.errors.load(Ordering::Relaxed));
    let notices_after = tally.notices.load(Ordering::Relaxed) - notices_at_kill;
    eprintln!("reads ok {ok}, errors {errors}, block notices after the kill {notices_after}");
    assert_eq!(errors, 0, "no client-visible errors for reads");
    assert!(ok > 100, "the load ran ({ok} reads)");
    assert!(
        notices_after >= 3 * 3,
        "each of the 3 sessions kept receiving block notices ({notices_after})"
    );
    let metrics = support_proxy::raw_http(
        gw.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(metrics.1.contains("failover"), "failovers are counted");
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_ids_and_subscriptions_survive_a_move_to_a_node_that_numbers_differently() {
    let devnet = devnet(2).await;
    let gw = gateway(config_for(&devnet)).await;
    cordon(&gw, 1, true).await;
    let mut ws = RawWs::connect(&gw.ws_url()).await;
    assert_eq!(ws.call(1, json!(1), "login", json!(["", ""])).await["result"], true);
    // network_broadcast first, then history: node 0 numbers them 2 and 3.
    assert_eq!(ws.call(2, json!(1), "network_broadcast", json!([])).await["result"], 2);
    assert_eq!(ws.call(3, json!(1), "history", json!([])).await["result"], 3);
    assert!(ws.call(4, json!(0), "set_block_applied_callback", json!([77])).await["error"].is_null());
    cordon(&gw, 1, false).await;
    cordon(&gw, 0, true).await; // node 0 out: the session must move to node 1

    // The recipe replays the APIs by name in its own order, so node 1 numbers history 2 and
    // network_broadcast 3. The client's history id (3) must still reach the history API.
    let history = ws
        .call(
            5,
            json!(3),
            "get_account_history",
            json!(["1.2.7", "1.11.0", 5, "1.11.0"]),
        )
        .await;
    assert!(history["result"].is_array(), "{history}");
    let broadcast = ws.call(6, json!(2), "broadcast_transaction", json!([{}])).await;
    let message = broadcast["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        !message.contains("Method not found"),
        "id 2 still reaches network_broadcast: {broadcast}"
    );
    // Block notices keep coming under the client's callback number, from node 1 now.
    let mut seen = 0;
    while seen < 2 {
        let m = ws.next().await;
        if m["method"] == "notice" {
            assert_eq!(m["params"][0], 77, "{m}");
            seen += 1;
        }
    }
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_when_the_node_dies_is_answered_by_another() {
    let devnet = devnet(2).await;
    let gw = gateway(config_for(&devnet)).await;
    cordon(&gw, 1, true).await;
    let mut ws = RawWs::connect(&gw.ws_url()).await;
    assert_eq!(ws.call(1, json!(1), "login", json!(["", ""])).await["result"], true);
    // Node 0 will hold this request and never answer; then it dies.
    support_proxy::fault(devnet.nodes()[0].addr, json!({"hang": true})).await;
    cordon(&gw, 1, false).await;
    let request = json!({"id": 9, "method": "call", "params": [0, "get_chain_properties", []]});
    let mut sender = RawWs::connect(&gw.ws_url()).await; // keeps its own session unaffected
    drop(sender.call(1, json!(0), "get_chain_id", json!([])).await);
    let answered = tokio::spawn(async move {
        let v = ws
            .call(9, request["params"][0].clone(), "get_chain_properties", json!([]))
            .await;
        (ws, v)
    });
    tokio::task::yield_now().await;
    devnet.stop_node(0);
    let (_ws, answer) = answered.await.unwrap();
    assert_eq!(
        answer["result"]["chain_id"],
        devnet.network().config().chain_id.to_string(),
        "{answer}"
    );
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_held_by_a_node_declared_out_is_answered_by_another_at_once() {
    let devnet = devnet(2).await;
    let mut config = config_for(&devnet);
    config.limits.requests_per_second_per_ip = 0;
    // Far longer than the health checks take to declare a hung node out (about a second): a
    // request left waiting on it would come back as a timeout.
    config.limits.request_timeout = std::time::Duration::from_secs(30);
    config.networks[0].selection = bts_gateway::config::Selection::RoundRobin;
    let gw = gateway(config).await;
    support_proxy::fault(devnet.nodes()[0].addr, json!({ "hang": true })).await;
    // Round robin: half of these reach the hung node before the control plane sees it hang.
    // Each asks something else, so that none is joined to another's upstream call.
    let client = HttpClient::new(&gw.http_url(), HttpOptions::default()).unwrap();
    // Half the gateway's request timeout: a request left on the hung node fails here.
    let client = client.with_timeout(std::time::Duration::from_secs(15));
    let ids: Vec<[[String; 1]; 1]> = (0..6).map(|i| [[format!("1.2.{i}")]]).collect();
    let calls = ids
        .iter()
        .map(|args| client.call(bts_rpc::api::database(), "get_objects", args));
    for answer in futures_util::future::join_all(calls).await {
        answer.unwrap();
    }
}

/// A gateway in front of three nodes that checks their health only at start (so that hung nodes
/// are not declared out during the test), round robin, with a 4 s request budget; the nodes in
/// `hung` hang once all three are admitted.
async fn budget_setup(hung: &[usize]) -> (bts_devnet::Devnet, support_proxy::TestGateway) {
    let devnet = devnet(3).await;
    let mut config = config_for(&devnet);
    config.limits.requests_per_second_per_ip = 0;
    config.limits.request_timeout = std::time::Duration::from_secs(4);
    config.health.interval = std::time::Duration::from_secs(600);
    config.networks[0].selection = bts_gateway::config::Selection::RoundRobin;
    let gw = gateway(config).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let request = "GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned();
        let (_, body) = support_proxy::raw_http(gw.addr, request).await;
        if body.matches("\"state\":\"healthy\"").count() == 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not all healthy: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for i in hung {
        support_proxy::fault(devnet.nodes()[*i].addr, json!({ "hang": true })).await;
    }
    (devnet, gw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_is_the_budget_of_all_attempts() {
    // Two of three nodes hang. A read that meets both is answered by the third within the
    // 4 s budget; when each attempt had the whole budget it took 8 s and more.
    let (devnet, gw) = budget_setup(&[0, 1]).await;
    let client = HttpClient::new(&gw.http_url(), HttpOptions::default())
        .unwrap()
        .with_timeout(std::time::Duration::from_secs(7));
    for i in 0..3 {
        let args = [[format!("1.2.{i}")]];
        let answer = client.call(bts_rpc::api::database(), "get_objects", &args).await;
        assert!(answer.is_ok(), "read {i}: {answer:?}");
    }
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_node_hung_the_error_comes_within_the_budget() {
    let (devnet, gw) = budget_setup(&[0, 1, 2]).await;
    let client = HttpClient::new(&gw.http_url(), HttpOptions::default())
        .unwrap()
        .with_timeout(std::time::Duration::from_secs(7));
    let answer = client.call(bts_rpc::api::database(), "get_objects", &[["1.2.0"]]).await;
    // The gateway's own timeout (-32003), not the client's after 7 s (3 × 4 s before).
    let error = format!("{answer:?}");
    assert!(error.contains("-32003"), "{error}");
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_object_changed_during_a_move_is_notified() {
    use bts_protocol::{Asset, Operation, Transaction, Transfer};
    let devnet = devnet(2).await;
    let gw = gateway(config_for(&devnet)).await;
    // The session starts on node 0.
    cordon(&gw, 1, true).await;
    let mut ws = RawWs::connect(&gw.ws_url()).await;
    assert_eq!(ws.call(1, json!(1), "login", json!(["", ""])).await["result"], true);
    assert!(ws.call(2, json!(0), "set_subscribe_callback", json!([5, false])).await["error"].is_null());
    let before = ws.call(3, json!(0), "get_objects", json!([["2.5.0"]])).await;
    // An int64 beyond 32 bits comes as a string.
    let amount = |v: &serde_json::Value| v.as_i64().or_else(|| v.as_str()?.parse().ok()).unwrap();
    let balance = amount(&before["result"][0]["balance"]);
    cordon(&gw, 1, false).await;

    // Node 0 freezes: it does not see the transfer below, and notifies nothing. The session
    // moves to node 1 once node 0 is out; node 1 applied the transfer before it watched 2.5.0.
    support_proxy::fault(devnet.nodes()[0].addr, json!({"frozen": true})).await;
    let node1 = HttpClient::new(&devnet.nodes()[1].http_url(), HttpOptions::default()).unwrap();
    let api = node1.api();
    let mut op: Operation = Transfer {
        fee: Asset::core(0),
        from: "1.2.7".parse().unwrap(),
        to: "1.2.6".parse().unwrap(),
        amount: Asset::core(123_456),
        memo: None,
        extensions: Default::default(),
    }
    .into();
    op.set_fee(
        api.get_required_fees(&[op.clone()], bts_protocol::AssetId::CORE)
            .await
            .unwrap()[0],
    );
    let fee = op.fee().amount;
    let head = api.get_dynamic_global_properties().await.unwrap();
    let tx = Transaction::new(&head.head_block_id, head.time.saturating_add(30), vec![op]);
    let chain_id = devnet.network().config().chain_id;
    let signed = tx.sign(&chain_id, &[&bts_devnet::chain::ChainConfig::dev_key()]);
    node1
        .with_timeout(std::time::Duration::from_secs(10))
        .api()
        .broadcast_transaction_synchronous(&signed)
        .await
        .unwrap();

    let expected = balance - 123_456 - fee;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(30), ws.next())
            .await
            .unwrap();
        let objects = m["params"][1][0].as_array().cloned().unwrap_or_default();
        if m["method"] == "notice"
            && m["params"][0] == 5
            && let Some(b) = objects.iter().find(|o| o["id"] == "2.5.0")
        {
            assert_eq!(amount(&b["balance"]), expected, "{m}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no notice of the change to 2.5.0");
    }
    gw.shutdown().await;
    devnet.shutdown().await;
}
