//! The gateway's own errors and their one mapping to JSON-RPC error objects and HTTP statuses.
//!
//! Every error says who failed (the client, the upstream nodes, or the gateway) and whether the
//! client may safely send the same request again, in the error object's `data` (after pingora's
//! error model). Codes are in JSON-RPC's server range, away from the node's own codes.

use axum::http::StatusCode;
use bts_rpc::{ErrorObject, Request, Response};
use serde_json::json;
use std::time::Duration;
use thiserror::Error;

/// Why the gateway answered instead of a node.
#[derive(Debug, Clone, Error)]
pub enum ProxyError {
    /// No backend of the network is healthy.
    #[error("no healthy node for network {network}")]
    NoBackend {
        /// The network.
        network: String,
    },
    /// The nodes tried failed before answering.
    #[error("the nodes did not answer: {detail}")]
    Upstream {
        /// The last failure.
        detail: String,
        /// Whether the request may have reached a node (then only idempotent requests are safe to repeat).
        maybe_sent: bool,
        /// Whether the request may be repeated whether or not a node got it: every method but the
        /// broadcasts ([`bts_rpc::is_idempotent`]).
        idempotent: bool,
    },
    /// The nodes did not answer in time.
    #[error("no answer from the nodes within {after:?}")]
    Timeout {
        /// The request timeout.
        after: Duration,
        /// As for [`ProxyError::Upstream`]: the request may be repeated although a node may have it.
        idempotent: bool,
    },
    /// The client sent too many requests.
    #[error("rate limit exceeded: at most {0} requests per second from one address; slow down and retry")]
    RateLimited(u32),
    /// The request is larger than allowed.
    #[error("request larger than {0} bytes")]
    TooLarge(usize),
    /// The request's body came too slowly.
    #[error("request body not received within {0:?}; send the whole request at once")]
    SlowBody(Duration),
    /// A batch with more requests than allowed.
    #[error("batch of {0} requests; at most {1} per batch: split it")]
    BatchTooLong(usize, usize),
    /// The method is disabled on this network.
    #[error("method {method} is disabled on network {network} of this gateway")]
    Denied {
        /// The method.
        method: String,
        /// The network.
        network: String,
    },
    /// No network serves this host and path.
    #[error("no network is served at {0}")]
    NoRoute(String),
}

impl ProxyError {
    /// JSON-RPC code.
    pub fn code(&self) -> i64 {
        match self {
            ProxyError::NoBackend { .. } => -32001,
            ProxyError::Upstream { .. } => -32002,
            ProxyError::Timeout { .. } => -32003,
            ProxyError::RateLimited(_) => -32005,
            ProxyError::TooLarge(_) => -32006,
            ProxyError::SlowBody(_) => -32007,
            ProxyError::BatchTooLong(..) => -32600,
            ProxyError::Denied { .. } => -32601,
            ProxyError::NoRoute(_) => -32004,
        }
    }

    /// Who failed.
    pub fn who(&self) -> &'static str {
        match self {
            ProxyError::NoBackend { .. } | ProxyError::Upstream { .. } | ProxyError::Timeout { .. } => "upstream",
            ProxyError::RateLimited(_)
            | ProxyError::TooLarge(_)
            | ProxyError::SlowBody(_)
            | ProxyError::BatchTooLong(..)
            | ProxyError::Denied { .. }
            | ProxyError::NoRoute(_) => "client",
        }
    }

    /// Whether sending the same request again is safe (and may succeed).
    pub fn retry_safe(&self) -> bool {
        match self {
            ProxyError::NoBackend { .. } | ProxyError::RateLimited(_) => true,
            // A read that may have reached a node is still safe to send again; a broadcast only
            // when it certainly did not.
            ProxyError::Upstream {
                maybe_sent, idempotent, ..
            } => *idempotent || !maybe_sent,
            ProxyError::Timeout { idempotent, .. } => *idempotent,
            // The same request sent the same way meets the same limit.
            ProxyError::TooLarge(_) | ProxyError::SlowBody(_) | ProxyError::BatchTooLong(..) => false,
            ProxyError::Denied { .. } => false,
            ProxyError::NoRoute(_) => false,
        }
    }

    /// The HTTP status for an HTTP client.
    pub fn http_status(&self) -> StatusCode {
        match self {
            ProxyError::NoBackend { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            ProxyError::BatchTooLong(..) => StatusCode::BAD_REQUEST,
            ProxyError::Denied { .. } => StatusCode::BAD_REQUEST,
            ProxyError::NoRoute(_) => StatusCode::NOT_FOUND,
        }
    }

    /// The JSON-RPC error object.
    pub fn to_error_object(&self) -> ErrorObject {
        ErrorObject {
            code: self.code(),
            message: self.to_string(),
            data: Some(json!({ "who": self.who(), "retry_safe": self.retry_safe(), "source": "bts-gateway" })),
        }
    }

    /// The answer to `request`, or an id-less answer when there is no readable request.
    pub fn response(&self, request: Option<&Request>) -> Response {
        match request {
            Some(r) => Response::err(r, self.to_error_object()),
            None => Response::unreadable(self.to_error_object()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_who_failed_and_whether_to_retry() {
        let e = ProxyError::NoBackend {
            network: "mainnet".into(),
        };
        let o = e.to_error_object();
        assert_eq!(
            (o.code, o.data.as_ref().unwrap()["who"].as_str()),
            (-32001, Some("upstream"))
        );
        assert_eq!(o.data.unwrap()["retry_safe"], true);
        assert_eq!(e.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        let broadcast = ProxyError::Upstream {
            detail: "reset".into(),
            maybe_sent: true,
            idempotent: false,
        };
        assert!(!broadcast.retry_safe(), "a broadcast the node may have got");
        let read = ProxyError::Upstream {
            detail: "reset".into(),
            maybe_sent: true,
            idempotent: true,
        };
        assert!(read.retry_safe(), "a read may be sent again whatever the node got");
        let refused = ProxyError::Upstream {
            detail: "refused".into(),
            maybe_sent: false,
            idempotent: false,
        };
        assert!(refused.retry_safe(), "a broadcast no node got");
        let timeout = |idempotent| ProxyError::Timeout {
            after: Duration::from_secs(10),
            idempotent,
        };
        assert!(timeout(true).retry_safe() && !timeout(false).retry_safe());
        let e = ProxyError::RateLimited(50);
        assert!(e.to_string().contains("at most 50 requests per second"));
        assert_eq!(e.who(), "client");
    }
}
