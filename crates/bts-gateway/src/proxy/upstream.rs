//! Connections to nodes: HTTP/1.1 POSTs through bts-rpc's [`Transport`] (a new connection per
//! POST, as witness_node closes each after one answer; pooled for backends with
//! `http-keep-alive = true`), and WebSocket dialing with small buffers (a gateway holds one
//! upstream socket per client session).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use bts_rpc::transport::{Post, PostError, Transport};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Largest answer accepted from a node (get_block of a full block, full accounts...).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

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

/// The HTTP client to nodes.
pub struct HttpUpstream {
    transport: Transport,
}

impl Default for HttpUpstream {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpUpstream {
    /// The client: connects give up after 3 s; up to 256 idle connections per kept-alive node.
    pub fn new() -> HttpUpstream {
        HttpUpstream {
            transport: Transport::new(Duration::from_secs(3), 256),
        }
    }

    /// Sends `post` and returns the node's status and answer, within `timeout`.
    pub async fn post(&self, post: Post<'_>, timeout: Duration) -> Result<(StatusCode, Bytes), UpstreamFailure> {
        match tokio::time::timeout(timeout, self.transport.post(post)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(PostError::Connect(e))) => Err(UpstreamFailure::Connect(e)),
            Ok(Err(e)) => Err(UpstreamFailure::Broken(e.to_string())),
            Err(_) => Err(UpstreamFailure::Timeout),
        }
    }
}

/// A WebSocket to a node.
pub type NodeSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// Its sending half.
pub type NodeSink = SplitSink<NodeSocket, tokio_tungstenite::tungstenite::Message>;
/// Its receiving half.
pub type NodeStream = SplitStream<NodeSocket>;

/// Buffer sizes for the node side of a session: 1 KiB to start, so that idle sessions stay cheap
/// (a larger answer grows the buffer to its size: tungstenite reserves what the frame header
/// says).
pub fn small_buffers(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
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
