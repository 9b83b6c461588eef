//! Connections to nodes: a pooled HTTP/1.1 client for one-shot POSTs, and WebSocket dialing with
//! small buffers (a gateway holds one upstream socket per client session).

use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Largest answer accepted from a node (get_block of a full block, full accounts...).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Why a node gave no answer.
#[derive(Debug, Clone)]
pub enum UpstreamFailure {
    /// Could not connect: the request never left; any request may be retried.
    Connect(String),
    /// The connection failed after the request was sent (reset, closed, bad body).
    Broken(String),
    /// No answer in time.
    Timeout,
    /// The node answered with a server error status.
    Status(StatusCode),
}

impl UpstreamFailure {
    /// Whether the node may have received the request.
    pub fn maybe_sent(&self) -> bool {
        !matches!(self, UpstreamFailure::Connect(_))
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            UpstreamFailure::Connect(e) => format!("cannot connect: {e}"),
            UpstreamFailure::Broken(e) => format!("connection failed: {e}"),
            UpstreamFailure::Timeout => "timed out".to_owned(),
            UpstreamFailure::Status(s) => format!("answered HTTP {s}"),
        }
    }
}

/// The pooled HTTP client to nodes.
pub struct HttpUpstream {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpUpstream {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpUpstream {
    /// A client keeping idle connections to each node for reuse.
    pub fn new() -> HttpUpstream {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        HttpUpstream { client }
    }

    /// POSTs `body` to `url` and returns the node's status and answer.
    pub async fn post(
        &self,
        url: &str,
        body: Bytes,
        forward: (&HeaderName, &str),
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), UpstreamFailure> {
        let mut request = Request::post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| UpstreamFailure::Connect(e.to_string()))?;
        if let Ok(v) = HeaderValue::from_str(forward.1) {
            request.headers_mut().insert(forward.0.clone(), v);
        }
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    UpstreamFailure::Connect(e.to_string())
                } else {
                    UpstreamFailure::Broken(e.to_string())
                }
            })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| UpstreamFailure::Broken(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| UpstreamFailure::Timeout)?
    }
}

/// A WebSocket to a node.
pub type NodeSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// Its sending half.
pub type NodeSink = SplitSink<NodeSocket, tokio_tungstenite::tungstenite::Message>;
/// Its receiving half.
pub type NodeStream = SplitStream<NodeSocket>;

/// Buffer sizes for both sides of a session: a few KiB, so that idle sessions stay cheap.
pub fn small_buffers(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(2048)
        .write_buffer_size(0)
        .max_write_buffer_size(max_message.saturating_mul(4).max(1 << 20))
        .max_message_size(Some(MAX_ANSWER_BYTES))
        .max_frame_size(Some(MAX_ANSWER_BYTES))
}

/// Opens a WebSocket to a node, telling it the client's address.
pub async fn dial(url: &str, forward: (&HeaderName, &str), timeout: Duration) -> Result<NodeSocket, UpstreamFailure> {
    let mut request = url
        .into_client_request()
        .map_err(|e| UpstreamFailure::Connect(e.to_string()))?;
    if let Ok(v) = HeaderValue::from_str(forward.1) {
        request.headers_mut().insert(forward.0.clone(), v);
    }
    let config = small_buffers(MAX_ANSWER_BYTES);
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(UpstreamFailure::Connect(e.to_string())),
        Err(_) => Err(UpstreamFailure::Timeout),
    }
}
