//! The gateway's listener: the connection loop, the routes, and graceful shutdown.
//!
//! Connections are served by hyper's HTTP/1.1 server directly (not `axum::serve`) for two
//! reasons: a header read timeout, so slow clients cannot hold connections open (slowloris), and
//! a graceful shutdown that stops accepting, lets requests in flight finish, and closes each
//! WebSocket with a close frame.
//!
//! Routes, in order: `/health` (the gateway itself), `/metrics` (Prometheus), `/status` (HTML, or
//! JSON with `Accept: application/json`; `/status.json` always JSON), `/admin/...` (localhost or
//! bearer token), and everything else: JSON-RPC for the network the host and path route to, as a
//! WebSocket upgrade or an HTTP POST.

use crate::admin;
use crate::client_ip::{client_ip, forwarded_for};
use crate::error::ProxyError;
use crate::proxy::DataPlane;
use crate::proxy::http::{self, Origin};
use crate::proxy::ws::{self, SessionCtx};
use axum::Router;
use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Extension, FromRequestParts, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{debug, warn};

/// How long shutdown waits for requests in flight before it cuts them off.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The address a connection came from (the socket's peer).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The data plane.
    pub dp: Arc<DataPlane>,
    /// Turns true at shutdown.
    pub stop: watch::Receiver<bool>,
    /// Reloads the configuration (admin endpoint and SIGHUP).
    pub reloader: Option<admin::Reloader>,
}

/// Serves until `shutdown` completes, then drains: no new connections, requests in flight
/// answered, WebSockets closed with a close frame.
pub async fn run(
    listener: TcpListener,
    dp: Arc<DataPlane>,
    reloader: Option<admin::Reloader>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = router(AppState {
        dp: dp.clone(),
        stop: stop_rx.clone(),
        reloader,
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(dp.settings.header_read_timeout)
        .keep_alive(true);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    warn!(target: "bts_gateway::server", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            builder.clone(),
            stream,
            peer,
            app.clone(),
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(target: "bts_gateway::server", "requests still in flight after the drain timeout; cutting them off");
        connections.shutdown().await;
    }
    Ok(())
}

async fn serve_connection(
    builder: http1::Builder,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        app.clone().oneshot(request.map(Body::new))
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(connection);
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                debug!(target: "bts_gateway::server", %peer, error = %e, "connection ended with an error");
            }
        }
        () = stopped => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/status.json", get(status_json))
        .route("/admin/reload", post(admin::reload))
        .route("/admin/backends/{network}/{index}/{action}", post(admin::backend))
        .fallback(rpc)
        .with_state(state)
}

async fn health() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

async fn metrics() -> Response {
    let body = crate::metrics::render();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

async fn status(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return status_json(State(st)).await;
    }
    let html = crate::status::status_html(&st.dp.gateway);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

async fn status_json(State(st): State<AppState>) -> Response {
    axum::Json(crate::status::status_json(&st.dp.gateway)).into_response()
}

/// JSON-RPC for the network the host and path route to. Takes the request whole: extracting
/// headers would copy them, and trying a WebSocket upgrade on every POST would build a rejection.
async fn rpc(State(st): State<AppState>, Extension(Peer(peer)): Extension<Peer>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let dp = &st.dp;
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let Some(network) = dp.gateway.network_for(host, parts.uri.path()) else {
        let e = ProxyError::NoRoute(format!("{}{}", host.unwrap_or(""), parts.uri.path()));
        return json_error(&e);
    };
    let trusted = &dp.settings.trusted_proxies;
    let client = client_ip(peer.ip(), &parts.headers, trusted);
    let forwarded = forwarded_for(peer.ip(), &parts.headers, trusted);
    if parts.headers.contains_key(header::UPGRADE) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &st).await {
            Ok(upgrade) => websocket(&st, upgrade, network, client, forwarded),
            Err(rejection) => rejection.into_response(),
        };
    }
    if parts.method != Method::POST {
        // As witness_node answers a plain GET: it is not a JSON-RPC message.
        let e = bts_rpc::ErrorObject::parse_error("expected a JSON-RPC request in a POST body, or a WebSocket upgrade");
        return json_response(
            StatusCode::BAD_REQUEST,
            bts_rpc::Response::unreadable(e).to_json().into(),
        );
    }
    let max = dp.settings.max_message_bytes;
    let body = match Limited::new(body, max).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            crate::metrics::limited(crate::metrics::Limit::MessageSize);
            return json_error(&ProxyError::TooLarge(max));
        }
    };
    let origin = Origin {
        network: &network,
        client_ip: client,
        forwarded_for: &forwarded,
    };
    let answer = http::handle_post(dp, &origin, body).await;
    json_response(answer.status, answer.body)
}

/// Admits a WebSocket session (connection limits) and hands it to the proxy.
fn websocket(
    st: &AppState,
    upgrade: WebSocketUpgrade,
    network: std::sync::Arc<crate::pool::Network>,
    client: std::net::IpAddr,
    forwarded: String,
) -> Response {
    let dp = &st.dp;
    let slot = match dp.connections.admit(client) {
        Ok(slot) => slot,
        Err(refusal) => {
            let (status, limit) = match refusal {
                crate::limits::Refusal::PerIp(_) => (StatusCode::TOO_MANY_REQUESTS, crate::metrics::Limit::WsPerIp),
                crate::limits::Refusal::Total(_) => (StatusCode::SERVICE_UNAVAILABLE, crate::metrics::Limit::WsTotal),
            };
            crate::metrics::limited(limit);
            let body = bts_rpc::Response::unreadable(bts_rpc::ErrorObject {
                code: -32005,
                message: refusal.message(),
                data: None,
            });
            return (status, [(header::CONTENT_TYPE, "application/json")], body.to_json()).into_response();
        }
    };
    let ctx = SessionCtx {
        dp: dp.clone(),
        network,
        client_ip: client,
        forwarded_for: forwarded,
        slot,
        shutdown: st.stop.clone(),
    };
    let max = dp.settings.max_message_bytes;
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(2048)
        .write_buffer_size(0)
        .on_upgrade(move |socket| ws::run(socket, ctx))
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A gateway error as an HTTP answer.
pub fn json_error(e: &ProxyError) -> Response {
    json_response(e.http_status(), e.response(None).to_json().into())
}
