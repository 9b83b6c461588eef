//! What can go wrong on a call to a node, keeping the node's own error when there is one.

use crate::fc::code;
use crate::message::ErrorObject;
use thiserror::Error;

/// The failure of one call, from either client.
///
/// The variants say who failed: the node ([`RpcError::Node`], with its error object untouched so
/// callers can read fc codes and texts), the transport (connect, disconnect, timeout, HTTP) or our
/// side (encoding, an answer of the wrong shape, a closed client).
#[derive(Debug, Error)]
pub enum RpcError {
    /// The node answered with an error object (an execution error, unknown method, bad arguments).
    #[error("node error: {0}")]
    Node(ErrorObject),
    /// No answer within the call timeout. The node may still have executed the call.
    #[error("no answer within the call timeout")]
    Timeout,
    /// The connection was lost after the call was sent and before its answer arrived. The node
    /// may or may not have executed it.
    #[error("connection lost before the answer")]
    Disconnected,
    /// The connection could not be made; the call was not sent.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// An HTTP failure whose body is not a JSON-RPC answer (a proxy's 502, a plain-text 404).
    #[error("HTTP {status}: {body}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The start of the body, as text.
        body: String,
    },
    /// The arguments could not be serialized as JSON; the call was not sent.
    #[error("cannot encode the arguments: {0}")]
    Encode(String),
    /// An answer that is not what the method returns; the text names the method.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// The client was closed (or its background task ended); the call was not sent.
    #[error("the client is closed")]
    Closed,
}

impl RpcError {
    /// The node's error object, if the node answered with one.
    pub fn node_error(&self) -> Option<&ErrorObject> {
        match self {
            RpcError::Node(e) => Some(e),
            _ => None,
        }
    }

    /// The node's message, e.g. `"Execution error: Assert Exception: now <= trx.expiration: "`.
    pub fn node_message(&self) -> Option<&str> {
        self.node_error().map(|e| e.message.as_str())
    }

    /// The fc exception code of a node error: `data.code` when the node sent its exception (older
    /// nodes put `1` in the outer code and the real one only there), else the outer code when it
    /// is not a JSON-RPC code.
    pub fn fc_code(&self) -> Option<i64> {
        let e = self.node_error()?;
        let inner = e.data.as_ref().and_then(|d| d.get("code")).and_then(|c| c.as_i64());
        inner.or((e.code >= 0).then_some(e.code))
    }

    /// The fee paid is below what the node asks (`insufficient_fee`, code 4010007): ask
    /// `get_required_fees` again and re-sign.
    pub fn is_insufficient_fee(&self) -> bool {
        self.fc_code() == Some(code::INSUFFICIENT_FEE) || self.message_contains("insufficient fee")
    }

    /// The node refused to create something that exists, e.g. `Account 'x' already exists.`
    pub fn is_already_exists(&self) -> bool {
        self.message_contains("already exists")
    }

    /// The same transaction is already in the node's database (code 3030001): an earlier
    /// broadcast of it went through.
    pub fn is_duplicate_transaction(&self) -> bool {
        self.fc_code() == Some(code::DUPLICATE_TRANSACTION) || self.message_contains("duplicate transaction")
    }

    /// The node has no such method (JSON-RPC -32601, fc `method_not_found_exception`).
    pub fn is_method_not_found(&self) -> bool {
        match self.node_error() {
            Some(e) => e.code == ErrorObject::METHOD_NOT_FOUND || self.fc_code() == Some(code::METHOD_NOT_FOUND),
            None => false,
        }
    }

    /// Whether sending the same call again cannot do harm whatever the call is: only when the
    /// call certainly never reached the node ([`RpcError::Connect`]).
    ///
    /// After [`RpcError::Disconnected`] or [`RpcError::Timeout`] the node may have executed the
    /// call, so this returns `false`: a read may be retried anyway (see [`Self::is_transient`]);
    /// a broadcast may be retried only with the *same signed transaction*, which is harmless
    /// because the chain rejects a transaction id it already has ([`Self::is_duplicate_transaction`]
    /// then means the first attempt went through). A re-signed transaction with a new expiration
    /// is a different transaction and could be applied twice.
    pub fn retry_safe(&self) -> bool {
        matches!(self, RpcError::Connect(_))
    }

    /// Whether asking again (later, or another node) may succeed: transport failures and HTTP
    /// 5xx/429, not the node's deterministic errors. Whether the retry is *harmless* is
    /// [`Self::retry_safe`]'s question.
    pub fn is_transient(&self) -> bool {
        match self {
            RpcError::Timeout | RpcError::Disconnected | RpcError::Connect(_) => true,
            RpcError::Http { status, .. } => *status >= 500 || *status == 429,
            RpcError::Node(_) | RpcError::Encode(_) | RpcError::Decode(_) | RpcError::Closed => false,
        }
    }

    fn message_contains(&self, needle: &str) -> bool {
        self.node_message()
            .is_some_and(|m| m.to_ascii_lowercase().contains(needle))
    }
}

impl From<ErrorObject> for RpcError {
    fn from(e: ErrorObject) -> Self {
        RpcError::Node(e)
    }
}

/// The URL without user credentials, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fc::FcException;
    use serde_json::json;

    #[test]
    fn classifies_node_errors() {
        let fee = FcException::new(
            code::INSUFFICIENT_FEE,
            "insufficient_fee",
            "insufficient fee",
            "Insufficient Fee Paid",
        )
        .into_execution_error();
        let fee = RpcError::Node(fee);
        assert!(fee.is_insufficient_fee());
        assert_eq!(fee.fc_code(), Some(4_010_007));
        assert!(!fee.is_duplicate_transaction() && !fee.is_already_exists());

        let exists = RpcError::Node(
            FcException::assert("current_account_itr == end()", "Account 'alice' already exists.")
                .into_execution_error(),
        );
        assert!(exists.is_already_exists());
        assert_eq!(exists.fc_code(), Some(code::ASSERT));

        // A 2018 node: outer code 1, the real code only in data.
        let old = RpcError::Node(ErrorObject {
            code: 1,
            message: "duplicate transaction: ...".into(),
            data: Some(json!({"code": 3_030_001})),
        });
        assert!(old.is_duplicate_transaction());
        assert_eq!(old.fc_code(), Some(3_030_001));

        let unknown = RpcError::Node(ErrorObject::method_not_found("nope"));
        assert!(unknown.is_method_not_found());
        assert_eq!(unknown.fc_code(), Some(code::METHOD_NOT_FOUND));
        assert_eq!(unknown.node_message(), Some("Method not found"));
        // Without data, a JSON-RPC code is not an fc code.
        let bare = RpcError::Node(ErrorObject::invalid_request("x"));
        assert_eq!(bare.fc_code(), None);
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("ws://user:pw@node:8090/ws"), "ws://***@node:8090/ws");
        assert_eq!(redact("ws://node:8090/a@b"), "ws://node:8090/a@b");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn retry_advice() {
        assert!(RpcError::Connect("refused".into()).retry_safe());
        for e in [RpcError::Timeout, RpcError::Disconnected] {
            assert!(!e.retry_safe() && e.is_transient(), "{e}");
        }
        assert!(!RpcError::Node(ErrorObject::method_not_found("x")).is_transient());
        let http = |status| RpcError::Http {
            status,
            body: String::new(),
        };
        assert!(http(502).is_transient() && !http(404).is_transient() && !http(502).retry_safe());
        assert!(!RpcError::Closed.is_transient() && !RpcError::Timeout.is_insufficient_fee());
    }
}
