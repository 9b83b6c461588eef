//! A node's endpoint: JSON-RPC over WebSocket and HTTP POST on one port, like witness_node, and
//! the admin endpoint for faults when enabled.
//!
//! Any path works (wallets use `/`, `/ws`, `/wss`); a GET with `Upgrade: websocket` opens a
//! session, a POST carries one request, a plain GET is answered as the node answers it (HTTP 400
//! with a JSON parse error). `POST /devnet/admin` changes the node's faults and `GET /devnet/admin`
//! shows them, only when the server runs with `admin: true`.
//!
//! Like witness_node, a node closes each HTTP connection after its answer without saying so (no
//! `Connection: close` header), so that our clients meet in tests what they meet in production;
//! `http_keep_alive` keeps connections open instead, for benchmarks of the proxies in front.

use crate::connection;
use crate::faults::{FaultChange, FaultState};
use crate::network::{Node, NodeEvent};
use crate::session::{Outgoing, Session, Transport};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tracing::debug;

/// How long an HTTP `broadcast_transaction_synchronous` waits for its block.
const SYNC_BROADCAST_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of a node's endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerConfig {
    /// Serve the admin endpoint (`/devnet/admin`) for fault injection.
    pub admin: bool,
    /// Keep HTTP connections open between requests. Off by default: witness_node closes each
    /// HTTP connection after one answer (without a `Connection: close` header), and so do we.
    pub http_keep_alive: bool,
}

impl ServerConfig {
    /// The admin endpoint on, HTTP connections closed after each answer: what tests use.
    pub const fn admin() -> ServerConfig {
        ServerConfig {
            admin: true,
            http_keep_alive: false,
        }
    }
}

#[derive(Clone)]
struct AppState {
    node: Arc<Node>,
    shutdown: watch::Receiver<bool>,
}

/// Serves `node` on `listener` until `shutdown` completes; then open WebSockets are closed and
/// requests in flight are answered before it returns.
pub async fn run(
    listener: TcpListener,
    node: Arc<Node>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = router(node, config, stop_rx.clone());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset while queued: not fatal.
                    debug!(target: "bts_devnet::server", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection::serve(
            stream,
            app.clone(),
            config.http_keep_alive,
            stop_rx.clone(),
        ));
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    // WebSockets outlive their HTTP connection; the flag tells them too.
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

fn router(node: Arc<Node>, config: ServerConfig, shutdown: watch::Receiver<bool>) -> Router {
    let state = AppState { node, shutdown };
    let mut app = Router::new();
    if config.admin {
        app = app.route("/devnet/admin", get(admin_get).post(admin_post));
    }
    app.fallback(rpc).with_state(state)
}

/// Every other path: WebSocket upgrade, POST, or the node's answer to a plain GET.
async fn rpc(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    body: Bytes,
) -> Response {
    if let Ok(upgrade) = upgrade {
        // Small buffers: a node serves thousands of mostly idle wallet sessions, and the default
        // 128 KiB read buffer made each cost 130 KiB.
        return upgrade
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .on_upgrade(move |socket| websocket(socket, state.node, state.shutdown));
    }
    // A hanging node or a broadcast waiting for its block must not hold up a shutdown.
    let mut shutdown = state.shutdown;
    tokio::select! {
        response = http_call(state.node, &body) => response,
        _ = shutdown.wait_for(|stop| *stop) => (StatusCode::SERVICE_UNAVAILABLE, "node shutting down").into_response(),
    }
}

async fn http_call(node: Arc<Node>, body: &[u8]) -> Response {
    if node.faults().hanging() {
        return std::future::pending().await;
    }
    delay(&node).await;
    // Subscribe before handling, so the block that confirms a broadcast cannot be missed.
    let mut events = node.events();
    let mut session = Session::new(node, Transport::Http);
    let text = String::from_utf8_lossy(body);
    let mut out = session.handle(&text).await;
    let waited = tokio::time::timeout(SYNC_BROADCAST_TIMEOUT, async {
        while out.is_empty() {
            match events.recv().await {
                Ok(NodeEvent::Block(block)) => out = session.on_block(&block),
                Ok(NodeEvent::DropConnections) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    })
    .await;
    match (waited, out.into_iter().next()) {
        (Ok(()), Some(reply)) => json_response(reply),
        _ => (StatusCode::GATEWAY_TIMEOUT, "transaction not included in time").into_response(),
    }
}

/// The latency fault. Without one, no timer is touched: a sleep of zero still waits for the
/// timer's next tick (about a millisecond), which benchmarks would measure.
async fn delay(node: &Node) {
    let latency = node.faults().latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

fn json_response(reply: Outgoing) -> Response {
    let status = StatusCode::from_u16(reply.http_status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, "application/json")], reply.json).into_response()
}

async fn websocket(socket: WebSocket, node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let mut events = node.events();
    let mut session = Session::new(node.clone(), Transport::WebSocket);
    let (mut sink, mut stream) = socket.split();
    let stopped = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    debug!(target: "bts_devnet::server", node = node.name(), "websocket opened");
    loop {
        let out = tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if node.faults().hanging() {
                        continue;
                    }
                    delay(&node).await;
                    // witness_node reads a binary frame as it reads a text one (answering in text).
                    match message {
                        Message::Text(text) => session.handle(text.as_str()).await,
                        other => session.handle(&String::from_utf8_lossy(&other.into_data())).await,
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            event = events.recv() => match event {
                Ok(NodeEvent::Block(block)) if !node.faults().hanging() => session.on_block(&block),
                Ok(NodeEvent::Block(_)) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                // A dying node does not say goodbye: drop the socket without a close frame.
                Ok(NodeEvent::DropConnections) => return,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            () = &mut stopped => break,
        };
        for reply in out {
            if sink.send(Message::Text(reply.json.into())).await.is_err() {
                return;
            }
        }
    }
    let _ = sink.send(Message::Close(None)).await;
    debug!(target: "bts_devnet::server", node = node.name(), "websocket closed");
}

async fn admin_get(State(state): State<AppState>) -> axum::Json<FaultState> {
    axum::Json(state.node.faults().get())
}

async fn admin_post(State(state): State<AppState>, body: Bytes) -> Response {
    let change: FaultChange = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            let hint = "expected {\"latency_ms\":N, \"frozen\":bool, \"lag_blocks\":N, \"hang\":bool, \"chain_id\":HEX|null, \"drop_connections\":bool}";
            return (StatusCode::BAD_REQUEST, format!("{e}; {hint}")).into_response();
        }
    };
    let new = state.node.faults().apply(&change);
    if change.drop_connections {
        state.node.drop_connections();
    }
    tracing::info!(target: "bts_devnet::admin", node = state.node.name(), faults = ?new, "faults changed");
    axum::Json(new).into_response()
}
