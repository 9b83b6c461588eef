//! Hostile clients on raw sockets get a clear answer and cost bounded time: an oversized WebSocket
//! message is refused with a JSON-RPC error and close code 1009, a binary frame is answered as
//! witness_node answers it, long batches and every batch item meet the limits, a slow body is cut,
//! and every cut is counted in the metrics.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;

use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use support_proxy::{RawWs, config_for, devnet, gateway, limited, post};
use tokio_tungstenite::tungstenite::Message;

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

/// `future`'s output, or a failure naming `what` after 10 s (the bugs these tests catch make the
/// gateway say nothing at all).
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .unwrap_or_else(|_| panic!("no {what} within 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_websocket_message_gets_an_error_and_close_1009() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.max_message_bytes = 64 * 1024;
    let gw = gateway(config).await;
    let before = limited(gw.addr, "message_size").await;
    let mut ws = RawWs::connect(&gw.ws_url()).await;
    let big = format!(
        r#"{{"id":1,"method":"call","params":["database","get_objects",[["{}"]]]}}"#,
        "1".repeat(2 << 20)
    );
    ws.send(Message::Text(big.into())).await;
    let refusal = within("refusal", ws.next()).await;
    assert_eq!(refusal["error"]["code"], -32006, "{refusal}");
    assert!(
        refusal["error"]["message"].as_str().unwrap().contains("65536 bytes"),
        "names the limit: {refusal}"
    );
    assert_eq!(
        within("close frame", ws.closed()).await.map(|(code, _)| code),
        Some(1009)
    );
    assert!(limited(gw.addr, "message_size").await > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_frame_is_answered_like_a_text_frame() {
    let devnet = devnet(1).await;
    let gw = gateway(config_for(&devnet)).await;
    let mut ws = RawWs::connect(&gw.ws_url()).await;
    let call = r#"{"id":5,"method":"call","params":["database","get_chain_id",[]]}"#;
    ws.send(Message::Binary(call.as_bytes().to_vec().into())).await;
    let answer = within("answer", ws.next()).await;
    assert_eq!(answer["id"], 5);
    assert_eq!(answer["result"], devnet.network().config().chain_id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_bounded_and_every_item_is_counted_by_the_rate_limit() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.max_batch_length = 10;
    config.limits.requests_per_second_per_ip = 5;
    config.limits.burst = 5;
    let gw = gateway(config).await;
    let (status, body) = post(gw.addr, "/", "{not json").await;
    assert_eq!(
        (status, parse(&body)["error"]["code"].as_i64()),
        (400, Some(-32700)),
        "{body}"
    );
    // Too long: refused whole, before anything is sent to a node.
    let long = format!("[{}]", ["{}"; 11].join(","));
    let (status, body) = post(gw.addr, "/", &long).await;
    assert_eq!(status, 400, "{body}");
    let refusal = parse(&body);
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10 per batch"),
        "{body}"
    );
    // Within the length, unreadable items use up the rate like readable ones.
    let junk = format!("[{}]", ["{}"; 10].join(","));
    let (status, body) = post(gw.addr, "/", &junk).await;
    assert_eq!(status, 200, "{body}");
    let answers = parse(&body);
    let codes: Vec<i64> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["error"]["code"].as_i64().unwrap())
        .collect();
    assert!(codes.contains(&-32005), "some items were rate limited: {codes:?}");
    assert!(
        codes.iter().filter(|c| **c != -32005).count() <= 6,
        "at most the burst (and a token of refill) were read: {codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_cut_and_counted() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.body_read_timeout = Duration::from_millis(500);
    let gw = gateway(config).await;
    let before = limited(gw.addr, "body_timeout").await;
    let addr = gw.addr;
    let slow = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        // One byte every 100 ms, until the gateway answers.
        while started.elapsed() < Duration::from_secs(10) {
            if s.write_all(b" ").is_err() {
                break;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
                Err(_) if answer.is_empty() => std::thread::sleep(Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status: u16 = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, text, started.elapsed())
    });
    // A good client is served while the slow one trickles.
    let good = r#"{"id":1,"method":"call","params":["database","get_dynamic_global_properties",[]]}"#;
    let (status, body) = post(gw.addr, "/", good).await;
    assert_eq!(status, 200, "{body}");
    let (status, head, waited) = slow.await.unwrap();
    assert_eq!(status, 408, "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert!(
        waited < Duration::from_secs(5),
        "cut after the timeout, not at the client's pace: {waited:?}"
    );
    assert!(limited(gw.addr, "body_timeout").await > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_for_slow_headers_is_counted() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.header_read_timeout = Duration::from_millis(300);
    let gw = gateway(config).await;
    let before = limited(gw.addr, "header_timeout").await;
    let addr = gw.addr;
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        // The gateway closes the connection (with or without an answer).
        let _ = s.read_to_end(&mut rest);
    })
    .await
    .unwrap();
    // The count is made as the connection task ends, just after the close.
    let deadline = Instant::now() + Duration::from_secs(5);
    while limited(gw.addr, "header_timeout").await <= before {
        assert!(Instant::now() < deadline, "the cut was not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_item_gets_a_smaller_share_of_answer_than_a_request_alone() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.requests_per_second_per_ip = 0;
    let gw = gateway(config).await;
    // The registrar's account object, 6000 times: an answer of several MiB.
    let ids = vec!["1.2.7"; 6000];
    let call = serde_json::json!({"id": 1, "method": "call", "params": ["database", "get_objects", [ids]]}).to_string();
    let (status, alone) = post(gw.addr, "/", &call).await;
    assert_eq!(status, 200);
    assert!(
        alone.len() > 4 << 20,
        "the answer is over a batch item's share: {} bytes",
        alone.len()
    );
    assert!(parse(&alone)["result"].is_array());
    let (status, batch) = post(gw.addr, "/", &format!("[{call}]")).await;
    assert_eq!(status, 200);
    let item = &parse(&batch)[0];
    assert!(
        item["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than 4194304 bytes"),
        "{item}"
    );
}
