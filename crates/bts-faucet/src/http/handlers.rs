//! The request handlers: registration, name status, statistics (JSON and HTML), metrics, health.

use crate::client_ip::client_ip;
use crate::register::{AccountRequest, Rejection};
use crate::state::Shared;
use crate::store::Status;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// `POST /api/v1/accounts`. The registration runs in its own task, so a client that hangs up
/// does not cut it short between broadcast and bookkeeping; shutdown waits for it.
pub(super) async fn create_account(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let request = body
        .map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Rejection::TooLarge(shared.config.max_body_bytes),
            _ => Rejection::Malformed(e.body_text()),
        })
        .and_then(|b| AccountRequest::from_json(&b));
    let ip = client_ip(peer.ip(), &headers, &shared.config.proxy);
    let result = match request {
        Err(rejection) => Err(rejection),
        Ok(request) => {
            let in_flight = shared.in_flight.clone().read_owned().await;
            let task = shared.clone();
            let handle = tokio::spawn(async move {
                let _in_flight = in_flight;
                task.register(&request, ip).await
            });
            handle.await.unwrap_or_else(|e| {
                tracing::error!(target: "bts_faucet::http", error = %e, "registration task failed");
                Err(Rejection::Internal)
            })
        }
    };
    let outcome = match &result {
        Ok(done) => done.outcome,
        Err(rejection) => rejection.code(),
    };
    shared.metrics.registration(outcome, started.elapsed());
    match &result {
        Ok(done) => {
            tracing::info!(target: "bts_faucet::http", name = %done.name, %ip, outcome, "registration answered")
        }
        Err(why) => tracing::info!(target: "bts_faucet::http", %ip, outcome, reason = %why, "registration refused"),
    }
    result.into_response()
}

/// `GET /api/v1/accounts/{name}/status`: `{"account":{"name","available"[,"reason"]}}`. A name
/// is available when the faucet would register it now: allowed by the policy, not on chain, and
/// not taken or being registered here.
pub(super) async fn account_status(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let reason = match shared.config.names.check(&name) {
        Err(e) => Some(e.to_string()),
        Ok(()) => match shared.store.get(&name).await {
            Err(e) => return shared.internal(e).into_response(),
            Ok(Some(row)) if row.status != Status::Failed => Some("Account exists".to_owned()),
            Ok(_) => match shared.nodes.account(&name).await {
                Err(e) => return shared.unavailable(e).into_response(),
                Ok(Some(_)) => Some("Account exists".to_owned()),
                Ok(None) => None,
            },
        },
    };
    let mut account = json!({ "name": name, "available": reason.is_none() });
    if let Some(reason) = reason {
        account["reason"] = json!(reason);
    }
    Json(json!({ "account": account })).into_response()
}

/// `GET /api/v1/stats`.
pub(super) async fn stats_json(State(shared): State<Arc<Shared>>) -> Result<Json<Value>, Rejection> {
    shared.stats().await.map(Json).map_err(|e| shared.internal(e))
}

/// `GET /stats` and `GET /`: the same figures as a page.
pub(super) async fn stats_html(State(shared): State<Arc<Shared>>) -> Result<Html<String>, Rejection> {
    let stats = shared.stats().await.map_err(|e| shared.internal(e))?;
    Ok(Html(crate::stats::render_html(&stats)))
}

/// `GET /metrics`: Prometheus text format.
pub(super) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    // Refreshes the funding gauges (read from the chain at most every 30 s).
    shared.chain_figures().await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        shared.metrics.render(),
    )
        .into_response()
}

/// `GET /health`: the process serves (for load balancers).
pub(super) async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// A plain `OPTIONS` (without CORS request headers, which the CORS layer answers itself).
pub(super) async fn options() -> StatusCode {
    StatusCode::NO_CONTENT
}
