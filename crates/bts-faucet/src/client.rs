//! A client of a faucet's HTTP API that sends exactly what bitshares-ui sends
//! (`bts-infra account register` uses it; so can scripts and tests).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::time::Duration;
use thiserror::Error;

/// The largest reply read.
const MAX_REPLY: usize = 1 << 20;

/// Why a registration request got no usable answer.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The faucet URL is not an `http://` URL.
    #[error("{0}")]
    Url(String),
    /// Connecting, sending or reading failed.
    #[error("cannot reach the faucet: {0}")]
    Transport(String),
    /// No answer within the timeout.
    #[error("the faucet did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer is not JSON.
    #[error("the faucet answered HTTP {status} with a body that is not JSON: {start:?}")]
    NotJson {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        start: String,
    },
}

/// The account to register: its name, public keys, and optionally a referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Account name.
    pub name: String,
    /// Owner public key.
    pub owner_key: String,
    /// Active public key.
    pub active_key: String,
    /// Memo public key.
    pub memo_key: String,
    /// Referrer name or `1.2.N`.
    pub referrer: Option<String>,
}

impl NewAccount {
    /// The body bitshares-ui posts (`refcode` null, `referrer` null when absent).
    pub fn body(&self) -> Value {
        json!({ "account": {
            "name": self.name,
            "owner_key": self.owner_key,
            "active_key": self.active_key,
            "memo_key": self.memo_key,
            "refcode": null,
            "referrer": self.referrer,
        }})
    }
}

/// A faucet's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FaucetReply {
    /// The HTTP status (201 on success; errors come with 200, as wallets expect).
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl FaucetReply {
    /// The error message, as bitshares-ui shows it (`error.base[0]`, else `error.remote_ip[0]`).
    pub fn error(&self) -> Option<String> {
        let error = self.body.get("error")?;
        let first = |key: &str| error.get(key)?.get(0)?.as_str().map(str::to_owned);
        Some(
            first("remote_ip")
                .or_else(|| first("base"))
                .unwrap_or_else(|| "unknown error".to_owned()),
        )
    }
}

/// A client for one faucet.
#[derive(Debug, Clone)]
pub struct FaucetClient {
    client: Client<HttpConnector, Full<Bytes>>,
    accounts_url: Uri,
    timeout: Duration,
}

impl FaucetClient {
    /// A client for the faucet at `base` (e.g. `http://127.0.0.1:8080/onboarding`), the value
    /// wallets call `faucet_address`.
    pub fn new(base: &str, timeout: Duration) -> Result<FaucetClient, ClientError> {
        let base = base.trim_end_matches('/');
        if !base.starts_with("http://") {
            return Err(ClientError::Url(format!(
                "{base:?}: only http:// faucet URLs are supported (no TLS client is built in; use a local proxy for https)"
            )));
        }
        let accounts_url = format!("{base}/api/v1/accounts")
            .parse()
            .map_err(|e| ClientError::Url(format!("{base:?} is not a URL: {e}")))?;
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Ok(FaucetClient {
            client,
            accounts_url,
            timeout,
        })
    }

    /// Posts `account` as bitshares-ui does and returns the answer, whatever its status.
    pub async fn register(&self, account: &NewAccount) -> Result<FaucetReply, ClientError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.accounts_url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(account.body().to_string())))
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_REPLY)
                .collect()
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?
                .to_bytes();
            let json = serde_json::from_slice(&body).map_err(|_| ClientError::NotJson {
                status,
                start: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            })?;
            Ok(FaucetReply { status, body: json })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }
}
