//! Protection and the edges of the request path: every limit answers with an error that says so
//! and the gateway keeps serving others; the cache, batches, the deny list, the gateway's own
//! endpoints and its graceful shutdown.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;
use support_proxy::{RawWs, config_for, devnet, gateway, post, raw_http};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_with_errors_that_say_so() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.requests_per_second_per_ip = 5;
    config.limits.burst = 5;
    config.limits.ws_connections_per_ip = 2;
    config.limits.max_message_bytes = 4096;
    let gw = gateway(config).await;
    let call = r#"{"id":7,"method":"call","params":[0,"get_dynamic_global_properties",[]]}"#;

    // Rate: the burst passes, then HTTP 429 with a JSON-RPC error naming the limit.
    let mut limited = None;
    for _ in 0..20 {
        let (status, body) = post(gw.addr, "/", call).await;
        if status == 429 {
            limited = Some(parse(&body));
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let limited = limited.expect("the rate limit answered");
    assert_eq!(limited["id"], 7);
    assert_eq!(limited["error"]["code"], -32005);
    assert!(
        limited["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 5 requests per second")
    );
    assert_eq!(limited["error"]["data"]["who"], "client");

    // WebSockets per address: the third is refused at the upgrade with 429 and a message.
    let _a = RawWs::connect(&gw.ws_url()).await;
    let _b = RawWs::connect(&gw.ws_url()).await;
    let err = tokio_tungstenite::connect_async(gw.ws_url()).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
        panic!("{err}")
    };
    assert_eq!(response.status(), 429);
    let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
    assert!(body.contains("too many WebSocket connections"), "{body}");

    // Oversized and malformed requests.
    let big = format!(
        r#"{{"id":1,"method":"get_objects","params":[["{}"]]}}"#,
        "1".repeat(5000)
    );
    let (status, body) = post(gw.addr, "/", &big).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        parse(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than 4096 bytes")
    );
    // Unreadable requests cost the gateway too: past the rate, they are refused as others are
    // (their parse error is in proxy_hostile.rs).
    let (status, body) = post(gw.addr, "/", "{not json").await;
    assert_eq!(
        (status, parse(&body)["error"]["code"].as_i64()),
        (429, Some(-32005)),
        "{body}"
    );
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_and_others_are_served() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.header_read_timeout = Duration::from_millis(500);
    let gw = gateway(config).await;
    let addr = gw.addr;
    // Slowloris: half a request line, then nothing.
    let slow = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut rest = Vec::new();
        // The gateway closes the connection (perhaps after a 408): reading ends.
        s.read_to_end(&mut rest).map(|_| rest.len())
    });
    let (status, _) = post(gw.addr, "/", r#"{"id":1,"method":"get_chain_id","params":[]}"#).await;
    assert_eq!(status, 200, "others are served meanwhile");
    assert!(
        slow.await.unwrap().is_ok(),
        "the slow connection was closed by the gateway"
    );
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_answers_are_served_even_when_every_node_hangs() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.request_timeout = Duration::from_millis(800);
    let gw = gateway(config).await;
    let chain_id = r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#;
    let (_, first) = post(gw.addr, "/", chain_id).await;
    support_proxy::fault(devnet.nodes()[0].addr, json!({"hang": true})).await;
    let (status, cached) = post(gw.addr, "/", &chain_id.replace("\"id\":1", "\"id\":2")).await;
    assert_eq!(status, 200);
    assert_eq!(parse(&cached)["result"], parse(&first)["result"]);
    assert_eq!(parse(&cached)["id"], 2, "the cached answer carries the asker's id");
    // Something that is not cacheable cannot be answered by a hanging node.
    let (status, body) = post(
        gw.addr,
        "/",
        r#"{"id":3,"method":"get_dynamic_global_properties","params":[]}"#,
    )
    .await;
    assert!(status == 504 || status == 503, "{status} {body}");
    assert_eq!(parse(&body)["id"], 3);
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_concurrent_reads_share_one_call_and_each_keeps_its_id() {
    let devnet = devnet(1).await;
    let gw = gateway(config_for(&devnet)).await;
    // A slow node keeps the first read in flight while the others arrive.
    support_proxy::fault(devnet.nodes()[0].addr, json!({"latency_ms": 400})).await;
    // The metrics are the test process's: only collapsed lookups, which no other test makes.
    const COLLAPSED: &str = r#"bts_gateway_cache_lookups_total{network="mainnet",result="collapsed"}"#;
    let collapsed_before = support_proxy::metric(gw.addr, COLLAPSED).await;
    let read = |id: u64| format!(r#"{{"id":{id},"method":"call","params":[0,"get_objects",[["2.1.0","1.2.7"]]]}}"#);
    let answers = futures_util::future::join_all((1..=8).map(|id| async move {
        // Staggered a little, so that all but the first find it in flight.
        tokio::time::sleep(Duration::from_millis(20 * id)).await;
        post(gw.addr, "/", &read(id)).await
    }))
    .await;
    let first = parse(&answers[0].1);
    for (id, (status, body)) in (1..).zip(&answers) {
        let answer = parse(body);
        assert_eq!(*status, 200, "{body}");
        assert_eq!(answer["id"], id, "each answer carries its asker's id");
        assert_eq!(answer["result"], first["result"], "one answer shared");
    }
    let joined = support_proxy::metric(gw.addr, COLLAPSED).await - collapsed_before;
    assert_eq!(joined, 7.0, "seven reads joined the first one's call");
    // Once it is over, the same read goes to the node again.
    support_proxy::fault(devnet.nodes()[0].addr, json!({"latency_ms": 0})).await;
    let (status, _) = post(gw.addr, "/", &read(9)).await;
    assert_eq!(status, 200);
    let joined = support_proxy::metric(gw.addr, COLLAPSED).await - collapsed_before;
    assert_eq!(joined, 7.0, "not collapsed: nothing in flight");
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_deny_lists_and_the_gateways_own_endpoints() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.networks[0].deny_methods = vec!["get_account_history".to_owned()];
    let gw = gateway(config).await;
    let batch = r#"[{"id":1,"method":"get_chain_id","params":[]},{"id":"two","method":"call","params":["history","get_account_history",["1.2.7","1.11.0",5,"1.11.0"]]},{"id":3,"method":"call","params":[0,"no_such_method",[]]}]"#;
    let (status, body) = post(gw.addr, "/", batch).await;
    assert_eq!(status, 200, "{body}");
    let answers = parse(&body);
    assert_eq!(answers[0]["id"], 1);
    assert!(answers[0]["result"].is_string());
    assert_eq!(answers[1]["id"], "two");
    assert!(
        answers[1]["error"]["message"].as_str().unwrap().contains("disabled"),
        "{body}"
    );
    assert_eq!(answers[2]["error"]["code"], -32601, "the node's own answer: {body}");

    let get = |path: &str| {
        raw_http(
            gw.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    };
    let (status, health) = get("/health").await;
    assert_eq!((status, parse(&health)["status"].as_str()), (200, Some("ok")));
    let (status, metrics) = get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("# HELP"), "{metrics}");
    let (status, html) = get("/status").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html") && html.contains("mainnet"));
    let (status, json) = get("/status.json").await;
    assert_eq!(status, 200);
    assert!(json.contains("mainnet"));
    let (status, body) = get("/").await;
    assert_eq!(
        (status, parse(&body)["error"]["code"].as_i64()),
        (400, Some(-32700)),
        "a plain GET, as the node answers it"
    );
    gw.shutdown().await;
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_websockets_with_a_close_frame() {
    let devnet = devnet(1).await;
    let gw = gateway(config_for(&devnet)).await;
    let mut ws = RawWs::connect(&gw.ws_url()).await;
    assert_eq!(ws.call(1, json!(1), "login", json!(["", ""])).await["result"], true);
    let closing = tokio::spawn(async move { ws.closed().await });
    gw.shutdown().await;
    let (code, reason) = closing.await.unwrap().expect("a close frame");
    assert_eq!(code, 1001, "{reason}");
    devnet.shutdown().await;
}
