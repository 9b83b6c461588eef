//! HTTP/1.1 POSTs to witness_node and the servers in front of it: the connection policy that
//! every HTTP client of ours shares ([`crate::HttpClient`], the gateway's upstream).
//!
//! witness_node answers an HTTP POST with `HTTP/1.1 200` and no `Connection: close` header, then
//! closes the connection. A client that keeps the connection for its next request (HTTP/1.1's
//! default) writes into a socket the node is closing and loses the request; when that happens
//! before any answer byte, a client cannot tell whether the node read it. So:
//! - by default each POST gets a new connection and says `Connection: close` (as HAProxy's
//!   `http-server-close` does): nothing is ever sent on a connection the node may be closing,
//!   and the node, closing first, keeps the connection's TIME_WAIT on its side;
//! - with `keep_alive` (a server known to keep connections open: the gateway, a proxy, a devnet
//!   node started for benchmarks) connections are pooled, and a POST lost on a kept connection
//!   before its answer began is sent once more on a new connection when it is idempotent.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::error::Error as StdError;
use std::time::Duration;

/// How long a kept connection may stay idle in the pool: less than the servers' own idle limits
/// (the gateway closes idle connections after its 5 s header read timeout), so that a kept
/// connection is rarely reused just as its server closes it.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// One POST.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    /// Where: an `http://` URI.
    pub uri: &'a Uri,
    /// The JSON body.
    pub body: Bytes,
    /// One more header to send (the gateway's `X-Forwarded-For`).
    pub header: Option<(&'a HeaderName, &'a HeaderValue)>,
    /// Whether the server keeps connections open between requests, so they may be reused.
    pub keep_alive: bool,
    /// Whether the request may be sent twice ([`crate::is_idempotent`]).
    pub idempotent: bool,
    /// The largest answer read.
    pub max_answer_bytes: usize,
}

/// Why a POST got no (whole) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// No connection could be made: the request was not sent.
    Connect(String),
    /// The connection ended before an answer began: the server may or may not have the request.
    BeforeAnswer(String),
    /// The answer broke off.
    InAnswer(String),
    /// The answer is larger than [`Post::max_answer_bytes`].
    TooLarge(usize),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Connect(e) => write!(f, "cannot connect: {e}"),
            PostError::BeforeAnswer(e) => write!(f, "connection lost before the answer: {e}"),
            PostError::InAnswer(e) => write!(f, "connection lost during the answer: {e}"),
            PostError::TooLarge(max) => write!(f, "answer larger than {max} bytes"),
        }
    }
}

/// The connections: a pool for servers that keep them, and none for those that do not.
#[derive(Debug, Clone)]
pub struct Transport {
    pooled: Client<HttpConnector, Full<Bytes>>,
    fresh: Client<HttpConnector, Full<Bytes>>,
}

impl Transport {
    /// Clients whose connects give up after `connect_timeout`, keeping at most
    /// `max_idle_per_host` idle connections per server for `keep_alive` POSTs.
    pub fn new(connect_timeout: Duration, max_idle_per_host: usize) -> Transport {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let pooled = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(max_idle_per_host)
            .build(connector.clone());
        let fresh = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Transport { pooled, fresh }
    }

    /// Sends the POST and reads the whole answer. Give it a timeout around it.
    pub async fn post(&self, post: Post<'_>) -> Result<(StatusCode, Bytes), PostError> {
        if !post.keep_alive {
            return self.send(&self.fresh, &post, true).await;
        }
        match self.send(&self.pooled, &post, false).await {
            // The server may have closed the kept connection while it was idle.
            Err(PostError::BeforeAnswer(e)) if post.idempotent => {
                tracing::debug!(target: "bts_rpc::transport", uri = %post.uri, error = %e, "connection lost before the answer; again on a new one");
                match self.send(&self.fresh, &post, true).await {
                    // The first attempt may have arrived: the failure must not say "not sent".
                    Err(PostError::Connect(_)) => Err(PostError::BeforeAnswer(e)),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// One POST through `client`; `close` asks the server to close the connection after it.
    async fn send(
        &self,
        client: &Client<HttpConnector, Full<Bytes>>,
        post: &Post<'_>,
        close: bool,
    ) -> Result<(StatusCode, Bytes), PostError> {
        let mut request = hyper::Request::builder()
            .method(Method::POST)
            .uri(post.uri.clone())
            .header(CONTENT_TYPE, "application/json");
        if close {
            request = request.header(CONNECTION, "close");
        }
        if let Some((name, value)) = post.header {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(post.body.clone()))
            .map_err(|e| PostError::Connect(e.to_string()))?;
        let response = client.request(request).await.map_err(|e| {
            if e.is_connect() {
                PostError::Connect(chain(&e))
            } else {
                PostError::BeforeAnswer(chain(&e))
            }
        })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), post.max_answer_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    PostError::TooLarge(post.max_answer_bytes)
                } else {
                    PostError::InAnswer(e.to_string())
                }
            })?
            .to_bytes();
        Ok((status, body))
    }
}

/// An error with its sources: hyper's own message is just "client error (Connect)".
pub(crate) fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
