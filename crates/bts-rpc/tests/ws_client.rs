//! The WebSocket client against a scripted node on a real socket: multiplexing, notices,
//! timeouts, disconnection, reconnection with subscription replay, liveness pings and shutdown.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_rpc::api::database;
use bts_rpc::{Backoff, RpcError, WsClient, WsOptions};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::time::Duration;
use support::TestNode;

fn options() -> WsOptions {
    WsOptions {
        call_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        backoff: Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(100),
        },
        ping_interval: None,
        notice_buffer: 16,
    }
}

async fn connect(node: &TestNode, options: WsOptions) -> WsClient {
    WsClient::connect(&node.ws_url(), options).await.unwrap()
}

async fn echo(client: &WsClient, value: u64) -> Result<u64, RpcError> {
    client.call_as(database(), "echo", &[value]).await.map(|(v,): (u64,)| v)
}

#[tokio::test]
async fn concurrent_calls_get_their_own_answers_in_any_order() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    // The node holds all 50 and answers them last first.
    let client = &client;
    let calls = (0..50u64).map(|i| async move { client.call_as::<u64>(database(), "gather", &(50, i)).await });
    let answers: Vec<u64> = join_all(calls).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers, (0..50).collect::<Vec<_>>());
    assert_eq!(
        client.status().borrow().connections,
        1,
        "one connection carries every call"
    );
}

#[tokio::test]
async fn notices_reach_the_subscriber_of_their_callback() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let mut blocks = client.set_block_applied_callback().await.unwrap();
    let mut objects = client
        .subscribe(database(), "set_subscribe_callback", |cb| (cb, false))
        .await
        .unwrap();
    assert_ne!(blocks.callback(), objects.callback());
    // The node got the numbers the client chose, where the API expects them.
    assert_eq!(node.calls("set_block_applied_callback"), [json!([blocks.callback()])]);
    assert_eq!(
        node.calls("set_subscribe_callback"),
        [json!([objects.callback(), false])]
    );

    node.notify(objects.callback(), json!([[{"id": "2.1.0", "head_block_number": 9}]]));
    node.notify(999, json!(["nobody listens to this callback"]));
    node.notify(blocks.callback(), json!(["0000000928473b4ccef9df35abdc7e08acc28483"]));
    node.notify(blocks.callback(), json!(["not a block id"]));
    node.notify(blocks.callback(), json!(["0000000a0d2a8a6c4d8cb0a9a2e1ddcc1b4b5a64"]));

    assert_eq!(blocks.recv().await.unwrap().block_num(), 9);
    // The malformed notice is skipped, not fatal.
    assert_eq!(blocks.recv().await.unwrap().block_num(), 10);
    let args = objects.recv().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(args.get()).unwrap(),
        json!([[{"id": "2.1.0", "head_block_number": 9}]])
    );
    assert_eq!(echo(&client, 7).await.unwrap(), 7);
}

#[tokio::test]
async fn node_errors_keep_the_nodes_error_object() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let err = client.call(database(), "fail", &[(); 0]).await.unwrap_err();
    assert_eq!(err.fc_code(), Some(support::FAIL_CODE));
    assert!(err.node_message().unwrap().contains("scripted failure"), "{err}");
    let refused = client
        .subscribe(database(), "set_refused_callback", |cb| (cb,))
        .await
        .unwrap_err();
    assert!(matches!(refused, RpcError::Node(_)), "{refused}");
    let unknown = client.call(database(), "no_such_method", &[(); 0]).await.unwrap_err();
    assert!(unknown.is_method_not_found(), "{unknown}");
}

#[tokio::test]
async fn a_call_without_answer_times_out_and_the_connection_stays() {
    let node = TestNode::start().await;
    let client = connect(
        &node,
        WsOptions {
            call_timeout: Duration::from_millis(200),
            ..options()
        },
    )
    .await;
    let err = client.call(database(), "never", &[(); 0]).await.unwrap_err();
    assert!(matches!(err, RpcError::Timeout), "{err}");
    assert!(err.is_transient() && !err.retry_safe());
    assert_eq!(echo(&client, 1).await.unwrap(), 1);
    // A longer timeout for one slow call, on the same connection.
    let patient = client.with_call_timeout(Duration::from_secs(5));
    let late: (u64,) = patient.call_as(database(), "sleep", &(300, [6])).await.unwrap();
    assert_eq!(late, (6,));
    assert_eq!(client.status().borrow().connections, 1);
}

#[tokio::test]
async fn calls_in_flight_fail_with_disconnected_then_the_client_reconnects() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(database(), "never", &[(); 0]).await })
        })
        .collect();
    node.wait_calls("never", 3).await;
    node.drop_connections();
    for call in in_flight {
        let err = call.await.unwrap().unwrap_err();
        assert!(matches!(err, RpcError::Disconnected), "{err}");
    }
    assert_eq!(echo(&client, 2).await.unwrap(), 2);
    assert_eq!(client.status().borrow().connections, 2);
}

#[tokio::test]
async fn subscriptions_are_replayed_after_a_reconnection() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let mut blocks = client.set_block_applied_callback().await.unwrap();
    let cb = blocks.callback();
    node.notify(cb, json!(["0000000928473b4ccef9df35abdc7e08acc28483"]));
    assert_eq!(blocks.recv().await.unwrap().block_num(), 9);

    node.drop_connections();
    // The client sends the same subscription, with the same number, on its new connection.
    node.wait_calls("set_block_applied_callback", 2).await;
    assert_eq!(node.calls("set_block_applied_callback"), [json!([cb]), json!([cb])]);
    node.notify(cb, json!(["0000000a0d2a8a6c4d8cb0a9a2e1ddcc1b4b5a64"]));
    assert_eq!(blocks.recv().await.unwrap().block_num(), 10);
    assert_eq!(client.status().borrow().connections, 2);
}

#[tokio::test]
async fn calls_made_while_disconnected_wait_for_the_node_to_come_back() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let mut status = client.status();
    let addr = node.stop().await;
    status.wait_for(|s| !s.connected).await.unwrap();

    let mut call = tokio::spawn({
        let client = client.clone();
        async move { echo(&client, 3).await }
    });
    // Nothing can answer it yet: it waits rather than failing.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut call)
            .await
            .is_err()
    );
    let node = TestNode::start_on(addr).await;
    assert_eq!(call.await.unwrap().unwrap(), 3);
    assert_eq!(client.status().borrow().connections, 2);
    assert_eq!(node.calls("echo"), [json!([3])]);
}

#[tokio::test]
async fn a_connection_that_stops_answering_pings_is_replaced() {
    let node = TestNode::start().await;
    let client = connect(
        &node,
        WsOptions {
            ping_interval: Some(Duration::from_millis(50)),
            ..options()
        },
    )
    .await;
    // The node stops reading the socket but keeps it open, as a half-open connection would.
    let err = client.call(database(), "deaf", &[(); 0]).await.unwrap_err();
    assert!(matches!(err, RpcError::Disconnected), "{err}");
    assert_eq!(echo(&client, 4).await.unwrap(), 4);
    assert_eq!(client.status().borrow().connections, 2);
}

#[tokio::test]
async fn close_ends_calls_streams_and_the_connection() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let mut blocks = client.set_block_applied_callback().await.unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.call(database(), "never", &[(); 0]).await }
    });
    node.wait_calls("never", 1).await;
    client.close().await;
    assert!(matches!(waiting.await.unwrap(), Err(RpcError::Closed)));
    assert!(blocks.recv().await.is_none());
    assert!(matches!(echo(&client, 5).await, Err(RpcError::Closed)));
    assert!(client.status().borrow().closed);
    node.wait_open(0).await;
}

#[tokio::test]
async fn dropping_the_client_closes_the_connection() {
    let node = TestNode::start().await;
    let client = connect(&node, options()).await;
    let mut blocks = client.set_block_applied_callback().await.unwrap();
    node.wait_open(1).await;
    drop(client);
    node.wait_open(0).await;
    assert!(blocks.recv().await.is_none());
}

#[tokio::test]
async fn connecting_to_nothing_is_a_connect_error() {
    let addr = TestNode::start().await.stop().await;
    let err = WsClient::connect(&format!("ws://{addr}"), options()).await.unwrap_err();
    assert!(matches!(err, RpcError::Connect(_)), "{err}");
    assert!(err.retry_safe());
}
