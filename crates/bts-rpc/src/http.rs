//! An HTTP client for witness_node: one call per POST to the node's RPC URL.
//!
//! The node serves HTTP on its WebSocket port. Each POST carries one request and gets one answer;
//! there are no callbacks, and numeric API ids mean nothing (each POST is a new login), so APIs
//! are named. The node answers execution errors with HTTP 200 and an `error` member, and unknown
//! methods or unreadable JSON with HTTP 400 and an `error` member: both are [`RpcError::Node`].
//! Only a body that is not a JSON-RPC answer (a proxy's error page) is [`RpcError::Http`].
//!
//! witness_node closes every HTTP connection after one answer without saying so: by default
//! each call gets a new connection; see [`crate::transport`] for the policy and
//! [`HttpOptions::keep_alive`] for servers that keep connections open.

use crate::api::encode_args;
use crate::api::{Api, RpcClient};
use crate::error::RpcError;
use crate::error::redact;
use crate::message::{ApiRef, ErrorObject, Request};
use crate::transport::{Post, PostError, Transport};
use bytes::Bytes;
use hyper::{StatusCode, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How an [`HttpClient`] connects and waits.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// How long a call may take in all: connecting, sending and reading the answer.
    pub timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// The largest answer read; a larger one is [`RpcError::Decode`].
    pub max_response_bytes: usize,
    /// Keep connections open for later calls. Off by default: witness_node closes each HTTP
    /// connection after its answer, so only servers known to keep them (the gateway, a proxy)
    /// should get it.
    pub keep_alive: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 32 << 20,
            keep_alive: false,
        }
    }
}

/// A JSON-RPC client that POSTs each call to a node's `http://` URL, on a new connection each
/// (or, with [`HttpOptions::keep_alive`], reusing them).
#[derive(Debug, Clone)]
pub struct HttpClient {
    transport: Transport,
    uri: Uri,
    options: HttpOptions,
    next_id: Arc<AtomicU64>,
}

impl HttpClient {
    /// A client for `url` (`http://host:port`). Fails with [`RpcError::Connect`] for a URL that
    /// is not `http://` (TLS is for a proxy in front of us, for now). Connects on the first call.
    pub fn new(url: &str, options: HttpOptions) -> Result<HttpClient, RpcError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| RpcError::Connect(format!("{} is not a URL: {e}", redact(url))))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(RpcError::Connect(format!(
                "{}: only http://host[:port] URLs are supported",
                redact(url)
            )));
        }
        Ok(HttpClient {
            // One server: a few idle connections are plenty.
            transport: Transport::new(options.connect_timeout, 8),
            uri,
            options,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }

    /// A client for the same URL, sharing connections, whose calls may take up to `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> HttpClient {
        let mut client = self.clone();
        client.options.timeout = timeout;
        client
    }

    /// Typed calls over this client.
    pub fn api(&self) -> Api<&HttpClient> {
        Api::new(self)
    }

    /// Calls `method` of `api` with positional `args` (a tuple or array) and returns the raw
    /// result.
    pub async fn call(
        &self,
        api: ApiRef,
        method: &str,
        args: &(impl Serialize + ?Sized),
    ) -> Result<Box<RawValue>, RpcError> {
        let args = encode_args(args)?;
        self.call_raw(api, method, args).await
    }

    /// [`HttpClient::call`], decoding the result as `T`.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        api: ApiRef,
        method: &str,
        args: &(impl Serialize + ?Sized),
    ) -> Result<T, RpcError> {
        let raw = self.call(api, method, args).await?;
        crate::api::decode(method, &raw)
    }

    /// [`HttpClient::call`] with arguments that are already JSON.
    pub async fn call_raw(&self, api: ApiRef, method: &str, args: Box<RawValue>) -> Result<Box<RawValue>, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = Bytes::from(
            serde_json::to_vec(&Request::call(id, api, method, &args)).map_err(|e| RpcError::Encode(e.to_string()))?,
        );
        let (status, body) = tokio::time::timeout(self.options.timeout, self.exchange(method, body))
            .await
            .map_err(|_elapsed| RpcError::Timeout)??;
        interpret(status, &body, id, method)
    }

    /// Sends the call and reads the whole answer.
    async fn exchange(&self, method: &str, body: Bytes) -> Result<(StatusCode, Bytes), RpcError> {
        let post = Post {
            uri: &self.uri,
            body,
            header: None,
            keep_alive: self.options.keep_alive,
            idempotent: crate::is_idempotent(method),
            max_answer_bytes: self.options.max_response_bytes,
        };
        self.transport.post(post).await.map_err(|e| match e {
            PostError::Connect(text) => RpcError::Connect(format!("{}: {text}", redact(&self.uri.to_string()))),
            PostError::BeforeAnswer(_) | PostError::InAnswer(_) => RpcError::Disconnected,
            PostError::TooLarge(max) => RpcError::Decode(format!("answer larger than {max} bytes")),
        })
    }
}

impl RpcClient for HttpClient {
    fn call_raw(
        &self,
        api: ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send {
        HttpClient::call_raw(self, api, method, args)
    }
}

/// Reads an HTTP answer: a JSON-RPC error is the node's whatever the status; a result counts
/// only with a success status and our request id; anything else is an HTTP or decode failure.
fn interpret(status: StatusCode, body: &[u8], id: u64, method: &str) -> Result<Box<RawValue>, RpcError> {
    let http_failure = || RpcError::Http {
        status: status.as_u16(),
        body: snippet(body),
    };
    let members: BTreeMap<String, Box<RawValue>> = match serde_json::from_slice(body) {
        Ok(members) => members,
        Err(_) if !status.is_success() => return Err(http_failure()),
        Err(e) => {
            return Err(RpcError::Decode(format!(
                "{method}: the answer is not a JSON-RPC response: {e}"
            )));
        }
    };
    if let Some(error) = members.get("error").filter(|e| e.get() != "null") {
        let error: ErrorObject = serde_json::from_str(error.get())
            .map_err(|e| RpcError::Decode(format!("{method}: unreadable error object: {e}")))?;
        return Err(RpcError::Node(error));
    }
    if !status.is_success() {
        return Err(http_failure());
    }
    let Some(result) = members.get("result") else {
        return Err(RpcError::Decode(format!(
            "{method}: the answer has neither result nor error"
        )));
    };
    let answered: Option<Value> = members.get("id").and_then(|v| serde_json::from_str(v.get()).ok());
    if answered.as_ref().and_then(Value::as_u64) != Some(id) {
        return Err(RpcError::Decode(format!(
            "{method}: the answer is for request id {}, not {id}",
            answered.unwrap_or(Value::Null)
        )));
    }
    Ok(result.clone())
}

/// The start of a body as text, for error messages.
fn snippet(body: &[u8]) -> String {
    const MAX: usize = 512;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    let more = if body.len() > MAX { "..." } else { "" };
    format!("{}{more}", text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interprets_answers() {
        let ok = interpret(StatusCode::OK, br#"{"id":3,"result":null}"#, 3, "m").unwrap();
        assert_eq!(ok.get(), "null");
        let wrong_id = interpret(StatusCode::OK, br#"{"id":4,"result":1}"#, 3, "m").unwrap_err();
        assert!(
            matches!(wrong_id, RpcError::Decode(ref t) if t.contains("id 4")),
            "{wrong_id}"
        );
        let node = interpret(
            StatusCode::BAD_REQUEST,
            br#"{"id":null,"error":{"code":-32700,"message":"Invalid JSON message"}}"#,
            3,
            "m",
        );
        assert!(matches!(node, Err(RpcError::Node(ref e)) if e.code == -32700));
        let proxy = interpret(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>", 3, "m");
        assert!(matches!(proxy, Err(RpcError::Http { status: 502, ref body }) if body.contains("bad gateway")));
        let json_proxy = interpret(StatusCode::SERVICE_UNAVAILABLE, br#"{"message":"down"}"#, 3, "m");
        assert!(matches!(json_proxy, Err(RpcError::Http { status: 503, .. })));
        let empty = interpret(StatusCode::OK, br#"{"id":3}"#, 3, "m");
        assert!(matches!(empty, Err(RpcError::Decode(_))));
        let text = interpret(StatusCode::OK, b"hello", 3, "get_x").unwrap_err();
        assert!(matches!(text, RpcError::Decode(ref t) if t.starts_with("get_x:")));
        assert_eq!(snippet(&[b'a'; 600]).len(), 515);
    }
}
