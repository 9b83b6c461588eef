//! HTTP POSTs to nodes that close each connection after one answer, as witness_node 7.0.2 does
//! (the devnet's default): every read is answered, and when the node fails the error says
//! truthfully whether the request may be sent again.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;

use bts_rpc::{HttpClient, HttpOptions};
use serde_json::{Value, json};
use std::time::Duration;
use support_proxy::{config_for, devnet, fault, gateway, post};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_closing_node_behind_the_gateway_answers_every_read() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.requests_per_second_per_ip = 100_000;
    config.limits.burst = 100_000;
    let gw = gateway(config).await;
    // The client keeps its connection to the gateway; the gateway opens one per call to the node.
    let client = HttpClient::new(
        &gw.http_url(),
        HttpOptions {
            keep_alive: true,
            ..HttpOptions::default()
        },
    )
    .unwrap();
    let api = client.api();
    for _ in 0..200 {
        api.get_dynamic_global_properties().await.unwrap();
    }
    let together = (0..50).map(|_| api.get_dynamic_global_properties());
    for answer in futures_util::future::join_all(together).await {
        answer.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_read_is_safe_to_retry_and_a_timed_out_broadcast_is_not() {
    let devnet = devnet(1).await;
    let mut config = config_for(&devnet);
    config.limits.request_timeout = Duration::from_millis(300);
    // The node stays in the pool while the two requests wait on it.
    config.health.fail_threshold = 10;
    let gw = gateway(config).await;
    fault(devnet.nodes()[0].addr, json!({ "hang": true })).await;
    let read = r#"{"id":1,"method":"call","params":["database","get_dynamic_global_properties",[]]}"#;
    let broadcast = r#"{"id":2,"method":"call","params":["network_broadcast","broadcast_transaction",[{}]]}"#;
    let (read, broadcast) = tokio::join!(post(gw.addr, "/", read), post(gw.addr, "/", broadcast));
    for ((status, body), retry_safe) in [(read, true), (broadcast, false)] {
        assert_eq!(status, 504, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        let data = &answer["error"]["data"];
        assert_eq!(
            (data["who"].as_str(), data["retry_safe"].as_bool()),
            (Some("upstream"), Some(retry_safe)),
            "{body}"
        );
    }
}
