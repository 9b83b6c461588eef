//! The gateway's listeners: plain HTTP (`server.listen`), TLS (`tls.listen`: HTTPS and WSS on
//! the same routes) and the HTTP listener that redirects to TLS (`tls.redirect-listen`), which
//! also answers ACME HTTP-01 challenges. The caller binds them ([`Listeners`]), so tests use port
//! 0 and an operator's socket activation or container port mapping stays outside.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bts_tls::{ACME_TLS_ALPN, CertStore};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::debug;

/// The listeners a gateway serves. Any may be absent; a configuration with `[tls]` needs `tls`.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Plain HTTP and WebSocket.
    pub plain: Option<TcpListener>,
    /// HTTPS and WSS.
    pub tls: Option<TcpListener>,
    /// HTTP that redirects to HTTPS (and answers HTTP-01 challenges).
    pub redirect: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(plain: TcpListener) -> Listeners {
        Listeners {
            plain: Some(plain),
            ..Listeners::default()
        }
    }
}

impl Listeners {
    /// Binds every listener `config` asks for: `server.listen`, and with `[tls]` also
    /// `tls.listen` and `tls.redirect-listen`.
    pub async fn bind(config: &crate::GatewayConfig) -> std::io::Result<Listeners> {
        let backlog = config.server.listen_backlog;
        let bind = |addr| async move {
            listen(addr, backlog).map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
        };
        let plain = Some(bind(config.server.listen).await?);
        let (mut tls, mut redirect) = (None, None);
        if let Some(t) = &config.tls {
            tls = Some(bind(t.listen).await?);
            if let Some(addr) = t.redirect_listen {
                redirect = Some(bind(addr).await?);
            }
        }
        Ok(Listeners { plain, tls, redirect })
    }
}

/// A listener on `addr` with a `backlog` of queued connections (tokio's `bind` takes std's 128).
pub fn listen(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std's bind does: a restarted gateway can listen while old connections are in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Waits for a connection on `listener`, or forever when there is none.
pub(crate) async fn accept(listener: &Option<TcpListener>) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// What a TLS handshake gave.
pub(crate) enum Handshake {
    /// A client to serve.
    Serve(Box<TlsStream<TcpStream>>),
    /// A TLS-ALPN-01 validation: the certificate was the answer; nothing more to say.
    Validation,
    /// No handshake (timeout, garbage, no certificate for the name).
    Failed,
}

/// Runs the handshake within `timeout` (the header read timeout: a slow handshake is a slow
/// client).
pub(crate) async fn handshake(acceptor: &TlsAcceptor, stream: TcpStream, timeout: Duration) -> Handshake {
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            if tls.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
                debug!(target: "bts_gateway::tls", "answered a TLS-ALPN-01 validation");
                return Handshake::Validation;
            }
            Handshake::Serve(Box::new(tls))
        }
        Ok(Err(e)) => {
            debug!(target: "bts_gateway::tls", error = %e, "TLS handshake failed");
            Handshake::Failed
        }
        Err(_) => {
            crate::metrics::limited(crate::metrics::Limit::HandshakeTimeout);
            Handshake::Failed
        }
    }
}

#[derive(Clone)]
struct RedirectState {
    store: Option<Arc<CertStore>>,
    /// The HTTPS port clients use (443 is left out of URLs).
    port: u16,
}

/// The redirect listener's routes: ACME HTTP-01 answers, and a permanent redirect to HTTPS for
/// everything else (308 keeps the method, so a POST stays a POST).
pub(crate) fn redirect_router(store: Option<Arc<CertStore>>, port: u16) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(http01))
        .fallback(redirect)
        .with_state(RedirectState { store, port })
}

async fn http01(State(st): State<RedirectState>, Path(token): Path<String>) -> Response {
    match st.store.as_ref().and_then(|s| s.http01(&token)) {
        Some(answer) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            answer,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such challenge\n").into_response(),
    }
}

async fn redirect(State(st): State<RedirectState>, request: Request) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(host_without_port);
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "this port redirects to HTTPS; send a Host header\n",
        )
            .into_response();
    };
    let port = if st.port == 443 {
        String::new()
    } else {
        format!(":{}", st.port)
    };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{port}{path}");
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad Host header\n").into_response(),
    }
}

/// `example.org:80` → `example.org`; `[::1]:80` → `[::1]`.
pub(crate) fn host_without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_without_port("example.org:80"), "example.org");
        assert_eq!(host_without_port("example.org"), "example.org");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
        assert_eq!(host_without_port("[::1]"), "[::1]");
    }
}
