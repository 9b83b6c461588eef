//! The devnet's endpoints on real sockets, through our own bts-rpc clients: API ids, the HTTP and
//! WebSocket rules, broadcasts, callbacks, subscriptions, every fault, and graceful shutdown.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_devnet::chain::ChainConfig;
use bts_devnet::faults::FaultChange;
use bts_protocol::{ChainId, Prefix};
use bts_rpc::{ApiRef, RpcError};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;

use support::{http, transfer, ws};

fn value(raw: impl AsRef<serde_json::value::RawValue>) -> Value {
    serde_json::from_str(raw.as_ref().get()).unwrap()
}

/// Sends a raw HTTP/1.1 request and reads the whole answer, off the async runtime.
async fn raw_http(addr: std::net::SocketAddr, request: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap()
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Changes a node's faults through its admin endpoint, as an operator would.
async fn admin(addr: std::net::SocketAddr, change: Value) -> Value {
    let response = raw_http(addr, post("/devnet/admin", &change.to_string())).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[tokio::test]
async fn login_hands_out_api_ids_per_connection() {
    let devnet = support::devnet(1, Prefix::BTS).await;
    let client = ws(&devnet.nodes()[0].ws_url()).await;
    let empty = json!([]);
    let login = |method: &'static str| client.call(ApiRef::LOGIN, method, &empty);
    assert_eq!(
        value(client.call(ApiRef::LOGIN, "login", &json!(["", ""])).await.unwrap()),
        json!(true)
    );
    assert_eq!(value(login("database").await.unwrap()), json!(0));
    assert_eq!(value(login("network_broadcast").await.unwrap()), json!(2));
    assert_eq!(value(login("history").await.unwrap()), json!(3));
    assert_eq!(
        value(login("network_broadcast").await.unwrap()),
        json!(2),
        "same API, same id"
    );
    // The numeric id works like the name.
    let hist = client
        .call(
            ApiRef::Id(3),
            "get_account_history",
            &json!(["1.2.7", "1.11.0", 5, "1.11.0"]),
        )
        .await;
    assert!(value(hist.unwrap()).is_array());
    let err = client
        .call(ApiRef::Id(9), "get_chain_id", &json!([]))
        .await
        .unwrap_err();
    assert!(
        err.node_message().unwrap().contains("API id 9 was not handed out"),
        "{err}"
    );
    let err = client
        .call(ApiRef::Name("asset".into()), "get_asset_holders", &json!([]))
        .await
        .unwrap_err();
    assert!(
        err.node_message().unwrap().contains("API asset is not available"),
        "{err}"
    );
    let err = login("get_api_by_name").await.unwrap_err();
    assert!(err.is_method_not_found(), "7.0.2 has no get_api_by_name: {err}");
    devnet.shutdown().await;
}

#[tokio::test]
async fn http_answers_like_the_node() {
    let devnet = support::devnet(1, Prefix::BTS).await;
    let node = &devnet.nodes()[0];
    let client = http(&node.http_url());
    let chain_id = client.api().get_chain_id().await.unwrap();
    assert_eq!(chain_id, devnet.network().config().chain_id);
    let err = client
        .call(ApiRef::DATABASE, "no_such_method", &json!([]))
        .await
        .unwrap_err();
    assert!(err.is_method_not_found(), "{err}");
    let err = client
        .call(ApiRef::DATABASE, "set_subscribe_callback", &json!([1, false]))
        .await
        .unwrap_err();
    assert!(err.node_message().unwrap().contains("needs a WebSocket"), "{err}");

    // Raw HTTP: a plain GET and a batch are refused with the node's status and error codes.
    let get = raw_http(
        node.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(get.starts_with("HTTP/1.1 400"), "{get}");
    assert!(get.contains("\"code\":-32700"), "{get}");
    let batch = r#"[{"id":1,"method":"get_chain_id","params":[]}]"#;
    let answer = raw_http(node.addr, post("/", batch)).await;
    assert!(
        answer.starts_with("HTTP/1.1 400")
            && answer.ends_with(
                r#"{"id":null,"jsonrpc":"2.0","error":{"code":-32600,"message":"Batch requests not supported"}}"#
            ),
        "witness_node's answer, word for word: {answer}"
    );
    // A request without "jsonrpc" is answered without it.
    let plain = r#"{"id":9,"method":"call","params":[0,"get_account_by_name",["nobody-here"]]}"#;
    let answer = raw_http(node.addr, post("/", plain)).await;
    assert!(answer.ends_with(r#"{"id":9,"result":null}"#), "{answer}");
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_binary_frame_is_answered_like_a_text_frame() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let devnet = support::devnet(1, Prefix::BTS).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(devnet.nodes()[0].ws_url())
        .await
        .unwrap();
    let call = r#"{"id":3,"method":"call","params":[0,"get_chain_id",[]]}"#;
    socket
        .send(Message::Binary(call.as_bytes().to_vec().into()))
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("witness_node answers a binary frame")
        .unwrap()
        .unwrap();
    let Message::Text(text) = answer else {
        panic!("the answer comes in a text frame: {answer:?}")
    };
    let expected = json!({"id": 3, "result": devnet.network().config().chain_id.to_string()});
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), expected);
    devnet.shutdown().await;
}

#[tokio::test]
async fn broadcasts_answer_when_included_over_both_transports() {
    let devnet = support::devnet(2, Prefix::BTS).await;
    let client = ws(&devnet.nodes()[0].ws_url()).await;
    let tx = transfer(&client, 100_000).await;
    let confirmation = client.api().broadcast_transaction_synchronous(&tx).await.unwrap();
    assert_eq!(confirmation.id, tx.id());
    assert!(confirmation.block_num > 0);
    // The same transaction again is the node's duplicate error.
    let err = client.api().broadcast_transaction(&tx).await.unwrap_err();
    assert!(err.is_duplicate_transaction(), "{err}");

    // Over HTTP, on the other node.
    let tx = transfer(&client, 200_000).await;
    let confirmation = http(&devnet.nodes()[1].http_url())
        .api()
        .broadcast_transaction_synchronous(&tx)
        .await
        .unwrap();
    assert_eq!(confirmation.id, tx.id());

    // With a callback: answered at once, then a notice with the confirmation.
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
    devnet.shutdown().await;
}

#[tokio::test]
async fn subscriptions_notify_fetched_objects_and_blocks() {
    let devnet = support::devnet(1, Prefix::BTS).await;
    let client = ws(&devnet.nodes()[0].ws_url()).await;
    let mut blocks = client.set_block_applied_callback().await.unwrap();
    let first = blocks.recv().await.unwrap();
    let second = blocks.recv().await.unwrap();
    assert_eq!(second.block_num(), first.block_num() + 1);

    let mut objects = client
        .subscribe(ApiRef::DATABASE, "set_subscribe_callback", |cb| json!([cb, false]))
        .await
        .unwrap();
    client
        .call(ApiRef::DATABASE, "get_objects", &json!([["2.1.0"]]))
        .await
        .unwrap();
    let notice: Value = objects.recv_as().await.unwrap();
    assert_eq!(notice[0][0]["id"], "2.1.0", "{notice}");
    client
        .call(ApiRef::DATABASE, "cancel_all_subscriptions", &json!([]))
        .await
        .unwrap();
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_frozen_node_lags_and_catches_up() {
    let devnet = support::devnet(2, Prefix::TEST).await;
    let (a, b) = (
        ws(&devnet.nodes()[0].ws_url()).await,
        ws(&devnet.nodes()[1].ws_url()).await,
    );
    admin(devnet.nodes()[1].addr, json!({"frozen": true})).await;
    let frozen_at = b.api().get_dynamic_global_properties().await.unwrap().head_block_number;
    let mut blocks = a.set_block_applied_callback().await.unwrap();
    while blocks.recv().await.unwrap().block_num() < frozen_at + 2 {}
    assert_eq!(
        b.api().get_dynamic_global_properties().await.unwrap().head_block_number,
        frozen_at
    );

    admin(devnet.nodes()[1].addr, json!({"frozen": false})).await;
    let mut b_blocks = b.set_block_applied_callback().await.unwrap();
    let caught_up = b_blocks.recv().await.unwrap();
    let head = a.api().get_dynamic_global_properties().await.unwrap();
    assert!(caught_up.block_num() >= frozen_at + 2);
    // Same chain: the thawed node has the same block ids as the other one.
    let header = b.api().get_block_header(frozen_at + 1).await.unwrap().unwrap();
    let reference = a.api().get_block_header(frozen_at + 1).await.unwrap().unwrap();
    assert_eq!(header.previous, reference.previous);
    assert!(head.head_block_number >= caught_up.block_num() - 1);
    devnet.shutdown().await;
}

#[tokio::test]
async fn faults_wrong_chain_id_latency_hang_and_dropped_connections() {
    let devnet = support::devnet(1, Prefix::BTS).await;
    let node = &devnet.nodes()[0];
    let client = ws(&node.ws_url()).await;

    admin(node.addr, json!({"chain_id": ChainId::TESTNET})).await;
    assert_eq!(client.api().get_chain_id().await.unwrap(), ChainId::TESTNET);
    assert_eq!(
        client.api().get_chain_properties().await.unwrap().chain_id,
        ChainId::TESTNET
    );
    admin(node.addr, json!({"chain_id": null})).await;
    assert_eq!(
        client.api().get_chain_id().await.unwrap(),
        devnet.network().config().chain_id
    );

    // A node that answers after 2 s misses a 200 ms deadline; without the latency it makes it.
    admin(node.addr, json!({"latency_ms": 2000})).await;
    let hurried = client.with_call_timeout(Duration::from_millis(200));
    assert!(matches!(hurried.api().get_chain_id().await, Err(RpcError::Timeout)));
    admin(node.addr, json!({"latency_ms": 0})).await;

    admin(node.addr, json!({"hang": true})).await;
    let hurried_http = http(&node.http_url()).with_timeout(Duration::from_millis(300));
    assert!(matches!(
        hurried_http.api().get_chain_id().await,
        Err(RpcError::Timeout)
    ));
    admin(node.addr, json!({"hang": false})).await;

    // Dropped connections: the client notices and reconnects.
    let mut status = client.status();
    let before = status.borrow().connections;
    let state = admin(node.addr, json!({"drop_connections": true})).await;
    assert_eq!(state["frozen"], false, "drop_connections changes no other fault");
    status
        .wait_for(|s| s.connections > before && s.connected)
        .await
        .unwrap();
    assert!(client.api().get_chain_id().await.is_ok());
    devnet.shutdown().await;
}

#[tokio::test]
async fn the_admin_endpoint_exists_only_when_enabled() {
    let mut config = ChainConfig::devnet(Prefix::BTS);
    config.genesis_time = bts_devnet::genesis_now(config.block_interval);
    let devnet = bts_devnet::Devnet::start_local("plain", config, 1, Default::default())
        .await
        .unwrap();
    let addr = devnet.nodes()[0].addr;
    let response = raw_http(addr, post("/devnet/admin", r#"{"frozen":true}"#)).await;
    // Without --admin the path is just another JSON-RPC endpoint, and the body is no request.
    assert!(response.contains("-32700") || response.contains("-32600"), "{response}");
    assert!(!devnet.nodes()[0].node.faults().frozen());
    let change: Result<FaultChange, _> = serde_json::from_str(r#"{"frozen":"yes"}"#);
    assert!(change.is_err());
    devnet.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_and_ends_every_task() {
    let devnet = support::devnet(2, Prefix::BTS).await;
    let client = ws(&devnet.nodes()[0].ws_url()).await;
    let mut status = client.status();
    status.wait_for(|s| s.connected).await.unwrap();
    devnet.shutdown().await;
    status.wait_for(|s| !s.connected).await.unwrap();
    assert!(
        client
            .with_call_timeout(Duration::from_millis(300))
            .api()
            .get_chain_id()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shutdown_is_not_held_up_by_a_hanging_node() {
    let devnet = support::devnet(1, Prefix::BTS).await;
    let node = devnet.nodes()[0].clone();
    admin(node.addr, json!({"hang": true})).await;
    let call = tokio::spawn(async move { http(&node.http_url()).api().get_chain_id().await });
    // The call is in flight and unanswered; shutting down must still finish (the guard below
    // only turns a deadlock into a failure instead of a hung test run).
    tokio::time::timeout(Duration::from_secs(30), devnet.shutdown())
        .await
        .expect("shutdown finished");
    assert!(call.await.unwrap().is_err());
}

#[tokio::test]
async fn a_stopped_node_refuses_connections_while_the_others_go_on() {
    let devnet = support::devnet(2, Prefix::BTS).await;
    let (dead, alive) = (devnet.nodes()[0].clone(), devnet.nodes()[1].clone());
    let client = ws(&dead.ws_url()).await;
    let mut status = client.status();
    devnet.stop_node(0);
    status.wait_for(|s| !s.connected).await.unwrap();
    // The port is closed: connecting is refused, not left hanging.
    let refused = loop {
        match tokio::net::TcpStream::connect(dead.addr).await {
            Err(e) if e.kind() != std::io::ErrorKind::ConnectionReset => break e,
            // The listener is still being torn down (accepted, or reset from its backlog).
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let other = ws(&alive.ws_url()).await;
    let mut blocks = other.set_block_applied_callback().await.unwrap();
    assert!(
        blocks.recv().await.is_some(),
        "the rest of the network keeps making blocks"
    );
    devnet.shutdown().await;
}
