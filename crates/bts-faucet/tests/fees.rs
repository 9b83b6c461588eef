//! "Insufficient fee": the fee went up between the faucet's `get_required_fees` and its broadcast
//! (the account fee scales with registrations). A node in front of the devnet refuses the first
//! broadcast with the node's own `insufficient_fee` error; the faucet must fetch the fee again,
//! sign a new transaction and register the account once.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use bts_rpc::fc::code;
use bts_rpc::{ApiRef, FcException, HttpClient, RpcError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use support::{Backend, TestDb, register};

/// A JSON-RPC node that forwards to a real one, except that it refuses the first broadcast.
struct Meddler {
    node: HttpClient,
    refuse_next_broadcast: AtomicBool,
    fee_queries: AtomicUsize,
}

async fn meddle(State(m): State<Arc<Meddler>>, body: Bytes) -> Json<Value> {
    let request: Value = serde_json::from_slice(&body).unwrap();
    let id = request["id"].clone();
    let params = &request["params"];
    let method = params[1].as_str().unwrap();
    if method == "get_required_fees" {
        m.fee_queries.fetch_add(1, Ordering::SeqCst);
    }
    if method == "broadcast_transaction_synchronous" && m.refuse_next_broadcast.swap(false, Ordering::SeqCst) {
        let refusal = FcException::new(
            code::INSUFFICIENT_FEE,
            "insufficient_fee",
            "insufficient fee",
            "Insufficient Fee Paid",
        )
        .into_execution_error();
        return Json(json!({"id": id, "jsonrpc": "2.0", "error": refusal}));
    }
    let api = match &params[0] {
        Value::String(name) => ApiRef::Name(name.clone()),
        other => ApiRef::Id(u32::try_from(other.as_u64().unwrap()).unwrap()),
    };
    Json(match m.node.call(api, method, &params[2]).await {
        Ok(result) => json!({"id": id, "jsonrpc": "2.0", "result": result}),
        Err(RpcError::Node(error)) => json!({"id": id, "jsonrpc": "2.0", "error": error}),
        Err(other) => panic!("the devnet failed: {other}"),
    })
}

async fn insufficient_fee_is_refetched_and_resigned(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let real = support::http_urls(&devnet)[0].clone();
    let meddler = Arc::new(Meddler {
        node: support::node(&real),
        refuse_next_broadcast: AtomicBool::new(true),
        fee_queries: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let meddling_url = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(axum::routing::post(meddle))
        .with_state(meddler.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let faucet = support::start(support::config(&devnet, vec![meddling_url], &db)).await;
    // The start-up reads what one registration costs (for the low-balance warning).
    let at_start = meddler.fee_queries.load(Ordering::SeqCst);
    let reply = register(&faucet, "fee-raised-1", None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert!(
        !meddler.refuse_next_broadcast.load(Ordering::SeqCst),
        "the refusal happened"
    );
    assert_eq!(
        meddler.fee_queries.load(Ordering::SeqCst) - at_start,
        2,
        "the fee was asked again"
    );
    assert_eq!(support::creations(&real, "fee-raised-1").await, 1);
    let metrics = support::request(faucet.addr, "GET", "/metrics", &[], b"").await.text();
    assert!(
        metrics.contains("bts_faucet_broadcast_retries_total{reason=\"insufficient_fee\"} 1"),
        "{metrics}"
    );
    faucet.stop().await.unwrap();
    server.abort();
    db.remove().await;
}
on_both_databases!(insufficient_fee_is_refetched_and_resigned);
