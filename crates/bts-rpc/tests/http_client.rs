//! The HTTP client against a scripted node on a real socket: answers, the node's errors on HTTP
//! 400, a proxy's non-JSON failure, timeouts and refused connections; and against a node on raw
//! sockets that closes connections as witness_node does (after each answer, without a header).

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_rpc::api::database;
use bts_rpc::{HttpClient, HttpOptions, RpcError};
use std::time::Duration;
use support::TestNode;
use support::closing::{After, ClosingNode};

fn client(url: &str) -> HttpClient {
    HttpClient::new(
        url,
        HttpOptions {
            timeout: Duration::from_secs(5),
            ..HttpOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn answers_come_back_decoded() {
    let node = TestNode::start().await;
    let http = client(&node.http_url());
    let (a, b): (u64, String) = http.call_as(database(), "echo", &(1, "two")).await.unwrap();
    assert_eq!((a, b.as_str()), (1, "two"));
    // Concurrent calls over the same client, each with its own id.
    let (x, y) = tokio::join!(
        http.call_as::<(u64,)>(database(), "echo", &[10]),
        http.call_as::<(u64,)>(database(), "echo", &[20])
    );
    assert_eq!((x.unwrap().0, y.unwrap().0), (10, 20));
}

#[tokio::test]
async fn the_nodes_errors_on_http_400_are_node_errors() {
    let node = TestNode::start().await;
    let http = client(&node.http_url());
    // The recorded answer of witness_node 7.0.2 to an unknown method: HTTP 400 with an error body.
    let err = http.call(database(), "no_such_method", &[(); 0]).await.unwrap_err();
    assert!(err.is_method_not_found(), "{err}");
    let RpcError::Node(e) = &err else { panic!("{err}") };
    assert_eq!(e.exception().unwrap().name, "method_not_found_exception");
    // Execution errors come with HTTP 200.
    let err = http.call(database(), "fail", &[(); 0]).await.unwrap_err();
    assert_eq!(err.fc_code(), Some(support::FAIL_CODE));
}

#[tokio::test]
async fn a_proxy_failure_is_an_http_error() {
    let node = TestNode::start().await;
    let http = client(&format!("{}/proxy-error", node.http_url()));
    let err = http.call(database(), "get_chain_id", &[(); 0]).await.unwrap_err();
    let RpcError::Http { status, body } = &err else {
        panic!("{err}")
    };
    assert_eq!((*status, body.as_str()), (502, "upstream unavailable"));
    assert!(err.is_transient() && !err.retry_safe());
}

#[tokio::test]
async fn a_slow_node_is_a_timeout() {
    let node = TestNode::start().await;
    let http = HttpClient::new(
        &node.http_url(),
        HttpOptions {
            timeout: Duration::from_millis(200),
            ..HttpOptions::default()
        },
    )
    .unwrap();
    let err = http.call(database(), "never", &[(); 0]).await.unwrap_err();
    assert!(matches!(err, RpcError::Timeout), "{err}");
    // The same client with a longer timeout waits for a slower answer.
    let patient = http.with_timeout(Duration::from_secs(5));
    let answer: (u64,) = patient.call_as(database(), "sleep", &(300, [5])).await.unwrap();
    assert_eq!(answer, (5,));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let addr = TestNode::start().await.stop().await;
    let http = client(&format!("http://{addr}"));
    let err = http.call(database(), "get_chain_id", &[(); 0]).await.unwrap_err();
    assert!(
        matches!(err, RpcError::Connect(ref text) if text.contains(&addr.to_string())),
        "{err}"
    );
    assert!(err.retry_safe());
}

#[test]
fn only_http_urls_are_accepted() {
    for url in ["https://node.example", "ws://127.0.0.1:8090", "not a url", "http://"] {
        let err = HttpClient::new(url, HttpOptions::default()).unwrap_err();
        assert!(matches!(err, RpcError::Connect(_)), "{url}: {err}");
    }
}

#[tokio::test]
async fn a_node_that_closes_after_each_answer_answers_every_call() {
    // witness_node: one answer per connection, then the socket is closed, no header said so.
    let node = ClosingNode::start(1, After::Close).await;
    let http = client(&node.http_url());
    for _ in 0..20 {
        let answer: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
        assert!(answer.starts_with("answer "), "{answer}");
    }
    let together = (0..10).map(|_| http.call_as::<String>(database(), "get_chain_id", &[(); 0]));
    for answer in futures_util::future::join_all(together).await {
        answer.unwrap();
    }
    assert_eq!(node.connections(), 30, "one connection per call");
}

#[tokio::test]
async fn with_keep_alive_a_read_lost_on_a_kept_connection_is_sent_again_and_a_broadcast_is_not() {
    // Each connection answers once, then drops the next request: the second call of a kept
    // connection always meets a connection the node is closing.
    let node = ClosingNode::start(1, After::DropNext).await;
    let http = HttpClient::new(
        &node.http_url(),
        HttpOptions {
            timeout: Duration::from_secs(5),
            keep_alive: true,
            ..HttpOptions::default()
        },
    )
    .unwrap();
    let first: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
    let again: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
    assert_eq!((first.as_str(), again.as_str()), ("answer 1", "answer 2"));
    assert_eq!(
        (node.connections(), node.dropped()),
        (2, 1),
        "lost on the kept connection, then a new one"
    );

    // A broadcast lost the same way may have reached the node: it is not repeated.
    let _: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
    let connections = node.connections();
    let err = http
        .call(bts_rpc::api::network_broadcast(), "broadcast_transaction", &[(); 0])
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::Disconnected), "{err}");
    assert!(!err.retry_safe());
    assert_eq!(node.connections(), connections, "not sent again");
}

fn keep_alive_client(url: &str) -> HttpClient {
    let options = HttpOptions {
        timeout: Duration::from_secs(5),
        keep_alive: true,
        ..HttpOptions::default()
    };
    HttpClient::new(url, options).unwrap()
}

#[tokio::test]
async fn with_keep_alive_one_connection_serves_calls_in_turn() {
    let node = ClosingNode::start(5, After::DropNext).await;
    let http = keep_alive_client(&node.http_url());
    for n in 1..=5 {
        let answer: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
        assert_eq!(answer, format!("answer {n}"));
    }
    assert_eq!((node.connections(), node.dropped()), (1, 0), "the connection was kept");
}

#[tokio::test]
async fn with_keep_alive_a_connection_the_server_closed_while_idle_is_not_used_again() {
    // The node closes each connection shortly after its one answer; the client's next call,
    // made after that close, must see it and dial anew instead of losing the call to it.
    let node = ClosingNode::start(1, After::Close).await;
    let http = keep_alive_client(&node.http_url());
    let _: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
    tokio::time::sleep(support::closing::CLOSE_DELAY * 4).await;
    let second: String = http.call_as(database(), "get_chain_id", &[(); 0]).await.unwrap();
    assert_eq!(second, "answer 2");
    tokio::time::sleep(support::closing::CLOSE_DELAY * 4).await;
    // A broadcast is never sent twice: it only succeeds if the closed connection was left alone.
    http.call(bts_rpc::api::network_broadcast(), "broadcast_transaction", &[(); 0])
        .await
        .unwrap();
    assert_eq!(node.connections(), 3);
}
