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
use crate::edge::{self, Listeners};
use crate::error::ProxyError;
use crate::proxy::DataPlane;
use crate::proxy::http::{self, Origin};
use crate::proxy::ws::{self, SessionCtx};
use crate::workers::{self, Workers};
use axum::Router;
use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Extension, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
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
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
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
    /// The certificates, when there is a TLS listener.
    pub tls: Option<Arc<bts_tls::Tls>>,
}

/// Serves until `shutdown` completes, then drains: no new connections, requests in flight
/// answered, WebSockets closed with a close frame. `tls` serves the TLS listener and answers
/// ACME HTTP-01 on the redirect listener.
pub async fn run(
    listeners: Listeners,
    dp: Arc<DataPlane>,
    tls: Option<Arc<bts_tls::Tls>>,
    reloader: Option<admin::Reloader>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = match (&listeners.tls, &tls) {
        (Some(_), Some(tls)) => Some(TlsAcceptor::from(tls.server_config())),
        (Some(_), None) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a TLS listener needs certificates: add a [tls] section",
            ));
        }
        (None, _) => None,
    };
    let public_port = match (&dp.settings.tls_public_port, &listeners.tls) {
        (Some(port), _) => *port,
        (None, Some(l)) => l.local_addr()?.port(),
        (None, None) => 443,
    };
    let redirect_app = edge::redirect_router(tls.as_ref().map(|t| t.store().clone()), public_port);
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = AppState {
        dp: dp.clone(),
        stop: stop_rx.clone(),
        reloader,
        tls,
    };
    let app = router(state.clone());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(dp.settings.header_read_timeout)
        .keep_alive(true);
    let mut connections = JoinSet::new();
    let mut workers = Workers::start(std::thread::available_parallelism().map_or(1, |n| n.get()))?;
    tokio::pin!(shutdown);
    loop {
        let (accepted, kind) = tokio::select! {
            a = edge::accept(&listeners.plain) => (a, Kind::Plain),
            a = edge::accept(&listeners.tls) => (a, Kind::Tls),
            a = edge::accept(&listeners.redirect) => (a, Kind::Redirect),
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                warn!(target: "bts_gateway::server", error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let stream = match workers::detach(stream) {
            Ok(s) => s,
            Err(e) => {
                warn!(target: "bts_gateway::server", error = %e, "cannot hand a connection to a serving thread");
                continue;
            }
        };
        let stop = stop_rx.clone();
        let worker = workers.next();
        match kind {
            Kind::Plain | Kind::Redirect => {
                let routes = if matches!(kind, Kind::Plain) {
                    (app.clone(), Some(state.clone()))
                } else {
                    (redirect_app.clone(), None)
                };
                let conn = Conn::new(builder.clone(), peer, routes, false, None, stop);
                connections.spawn_on(
                    async move {
                        if let Ok(stream) = workers::attach(stream) {
                            conn.serve(TokioIo::new(stream)).await;
                        }
                    },
                    worker,
                );
            }
            Kind::Tls => {
                let Some(acceptor) = acceptor.clone() else { continue };
                let routes = (app.clone(), Some(state.clone()));
                let conn = Conn::new(builder.clone(), peer, routes, true, dp.settings.hsts.clone(), stop);
                let timeout = dp.settings.header_read_timeout;
                connections.spawn_on(
                    async move {
                        let Ok(stream) = workers::attach(stream) else { return };
                        if let edge::Handshake::Serve(tls) = edge::handshake(&acceptor, stream, timeout).await {
                            conn.serve(TokioIo::new(*tls)).await;
                        }
                    },
                    worker,
                );
            }
        }
    }
    drop(listeners);
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

/// Which listener a connection came in on.
#[derive(Clone, Copy)]
enum Kind {
    Plain,
    Tls,
    Redirect,
}

/// Whether a request came over TLS (for `X-Forwarded-Proto`).
#[derive(Debug, Clone, Copy)]
pub struct Scheme {
    /// True over TLS.
    pub https: bool,
}

/// One accepted connection, before its bytes are read.
struct Conn {
    builder: http1::Builder,
    peer: SocketAddr,
    app: Router,
    /// For the API listeners: JSON-RPC requests go straight to [`rpc`] (the router's fallback)
    /// without the router's matching, boxing and state cloning; the gateway's own paths still
    /// go through it.
    rpc: Option<AppState>,
    https: bool,
    hsts: Option<HeaderValue>,
    stop: watch::Receiver<bool>,
}

impl Conn {
    fn new(
        builder: http1::Builder,
        peer: SocketAddr,
        (app, rpc): (Router, Option<AppState>),
        https: bool,
        hsts: Option<HeaderValue>,
        stop: watch::Receiver<bool>,
    ) -> Conn {
        Conn {
            builder,
            peer,
            app,
            rpc,
            https,
            hsts,
            stop,
        }
    }

    /// Serves HTTP/1.1 (and upgrades) on `io` until the client leaves or shutdown drains it.
    async fn serve<I>(self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Conn {
            builder,
            peer,
            app,
            rpc: rpc_state,
            https,
            hsts,
            mut stop,
        } = self;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(Peer(peer));
            request.extensions_mut().insert(Scheme { https });
            let request = request.map(Body::new);
            let handler = match &rpc_state {
                Some(state) if !is_own_path(request.uri().path()) => Handler::Rpc(state.clone()),
                _ => Handler::Router(app.clone()),
            };
            let hsts = hsts.clone();
            async move {
                let mut response = match handler {
                    Handler::Rpc(state) => rpc(State(state), Extension(Peer(peer)), request).await,
                    Handler::Router(app) => app.oneshot(request).await?,
                };
                if let Some(hsts) = hsts {
                    response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, hsts);
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    // The only timeout hyper's server has is the header read timeout.
                    if e.is_timeout() {
                        crate::metrics::limited(crate::metrics::Limit::HeaderTimeout);
                    }
                    debug!(target: "bts_gateway::server", %peer, error = %e, "connection ended with an error");
                }
            }
            () = stopped => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
}

/// Who answers a request.
enum Handler {
    /// JSON-RPC, directly.
    Rpc(AppState),
    /// The router: the gateway's own paths, and everything on the redirect listener.
    Router(Router),
}

/// Whether `path` is one of the gateway's own routes in [`router`] (anything else is JSON-RPC).
fn is_own_path(path: &str) -> bool {
    matches!(path, "/health" | "/metrics" | "/status" | "/status.json") || path.starts_with("/admin/")
}

/// The routes. Keep `is_own_path` in step.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/status.json", get(status_json))
        .route("/admin/reload", post(admin::reload))
        .route("/admin/backends/{network}/{index}/{action}", post(admin::backend))
        .route("/admin/certificates/renew", post(admin::renew_certificates))
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
    let html = crate::status::status_html(&st.dp.gateway, certificates(&st));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

async fn status_json(State(st): State<AppState>) -> Response {
    axum::Json(crate::status::status_json(&st.dp.gateway, certificates(&st))).into_response()
}

fn certificates(st: &AppState) -> Vec<bts_tls::CertStatus> {
    st.tls.as_ref().map(|t| t.store().status()).unwrap_or_default()
}

/// JSON-RPC for the network the host and path route to. Takes the request whole: extracting
/// headers would copy them, and trying a WebSocket upgrade on every POST would build a rejection.
async fn rpc(State(st): State<AppState>, Extension(Peer(peer)): Extension<Peer>, request: Request) -> Response {
    let dp = &st.dp;
    if let Some(route) = http_route(dp, request.headers(), request.uri().path()) {
        let forwarded = forwarded_for(peer.ip(), request.headers(), &dp.settings.trusted_proxies);
        let client = crate::proxy::forward::ClientInfo {
            forwarded_for: &forwarded,
            https: request.extensions().get::<Scheme>().is_some_and(|s| s.https),
        };
        // The service gets the whole body or nothing: a slow or oversized one is the gateway's
        // to refuse, with the same limits as a JSON-RPC request, not the service's to wait for.
        let (parts, body) = request.into_parts();
        let body = match read_body(dp, body).await {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let request = Request::from_parts(parts, axum::body::Body::from(body));
        return dp
            .forward
            .forward(route, request, &client, dp.settings.request_timeout)
            .await;
    }
    let (mut parts, body) = request.into_parts();
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
    let body = match read_body(dp, body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let origin = Origin {
        network: &network,
        client_ip: client,
        forwarded_for: &forwarded,
        max_answer_bytes: crate::proxy::upstream::MAX_ANSWER_BYTES,
    };
    let answer = http::handle_post(dp, &origin, body).await;
    json_response(answer.status, answer.body)
}

/// The `[[http-route]]` a request for `headers`' host and `path` takes.
fn http_route<'a>(dp: &'a DataPlane, headers: &HeaderMap, path: &str) -> Option<&'a crate::config::HttpRoute> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| edge::host_without_port(h).to_ascii_lowercase());
    crate::proxy::forward::route(&dp.settings.http_routes, host.as_deref(), path)
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
    // A wallet's calls are a few hundred bytes: a larger one grows the buffer to its size (the
    // frame header says it), so a small start costs idle sessions less and large calls nothing.
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(512)
        .write_buffer_size(0)
        .on_upgrade(move |socket| ws::run(socket, ctx))
}

/// Reads a request's whole body within `max-message-bytes` and `body-read-timeout`; the refusal
/// otherwise. The header read timeout ends with the headers: a body sent a byte a second would
/// hold the connection (and its buffer) for as long as the client likes.
async fn read_body(dp: &DataPlane, body: axum::body::Body) -> Result<Bytes, Response> {
    let max = dp.settings.max_message_bytes;
    let timeout = dp.settings.body_read_timeout;
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            crate::metrics::limited(crate::metrics::Limit::MessageSize);
            Err(closing(json_error(&ProxyError::TooLarge(max))))
        }
        // The client broke its body off (a reset, bad chunked encoding): nobody to answer.
        Ok(Err(_)) => Err(closing(StatusCode::BAD_REQUEST.into_response())),
        Err(_) => {
            crate::metrics::limited(crate::metrics::Limit::BodyTimeout);
            Err(closing(json_error(&ProxyError::SlowBody(timeout))))
        }
    }
}

/// `response` with `Connection: close`: the rest of the request's body is never read, so the
/// connection cannot carry another request.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    response
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A gateway error as an HTTP answer.
pub fn json_error(e: &ProxyError) -> Response {
    json_response(e.http_status(), e.response(None).to_json().into())
}
