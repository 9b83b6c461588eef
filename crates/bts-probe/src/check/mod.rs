//! The checks, made as a wallet makes its calls: a WebSocket session ([`ws`]), one HTTP POST and
//! the faucet's health ([`http`]), each over a fresh connection ([`dial`]) so the figures include
//! what a wallet pays to connect, TLS included; the certificate seen in the handshake becomes the
//! `tls` check.

pub mod dial;
pub mod http;
pub mod ws;

use crate::config::{Endpoint, EndpointKind};
use bts_protocol::ChainId;
use serde::Serialize;
use std::fmt;
use std::time::{Duration, SystemTime};

/// What is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A WebSocket session: connect, login, database API, chain id, dynamic global properties.
    Ws,
    /// One HTTP POST of `get_dynamic_global_properties` (and the chain id).
    Http,
    /// The faucet's `GET /health`.
    Faucet,
    /// The certificate served on the endpoint (from the handshake of its first TLS check).
    Tls,
}

impl Check {
    /// Every check, in the page's order.
    pub const ALL: [Check; 4] = [Check::Ws, Check::Http, Check::Faucet, Check::Tls];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Ws => "ws",
            Check::Http => "http",
            Check::Faucet => "faucet",
            Check::Tls => "tls",
        }
    }

    /// Whether the check counts towards availability (a certificate that expires in a week
    /// still serves wallets: it warns, it does not make the endpoint unavailable).
    pub fn counts_for_availability(self) -> bool {
        self != Check::Tls
    }

    /// The error kinds this check can report.
    pub fn possible_errors(self) -> &'static [ErrorKind] {
        use ErrorKind::*;
        match self {
            Check::Ws | Check::Http => &[
                Connect, Tls, Timeout, HttpStatus, Protocol, NodeError, WrongChain, StaleHead,
            ],
            Check::Faucet => &[Connect, Tls, Timeout, HttpStatus, Protocol, Unhealthy],
            Check::Tls => &[Tls, CertExpiring],
        }
    }

    /// The check named `s`.
    pub fn parse(s: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Why a check failed: a small fixed set, the `result` label of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Name resolution or the TCP connection failed.
    Connect,
    /// The TLS handshake failed.
    Tls,
    /// No complete answer in time.
    Timeout,
    /// An unexpected HTTP status.
    HttpStatus,
    /// An answer no node would send.
    Protocol,
    /// The node answered with an error object.
    NodeError,
    /// Another chain than the configured one.
    WrongChain,
    /// The head block is too old.
    StaleHead,
    /// The faucet says it is not ready.
    Unhealthy,
    /// The certificate expires soon.
    CertExpiring,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::HttpStatus,
        ErrorKind::Protocol,
        ErrorKind::NodeError,
        ErrorKind::WrongChain,
        ErrorKind::StaleHead,
        ErrorKind::Unhealthy,
        ErrorKind::CertExpiring,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Protocol => "protocol",
            ErrorKind::NodeError => "node_error",
            ErrorKind::WrongChain => "wrong_chain",
            ErrorKind::StaleHead => "stale_head",
            ErrorKind::Unhealthy => "unhealthy",
            ErrorKind::CertExpiring => "cert_expiring",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest failure text kept, in characters.
pub const DETAIL_MAX: usize = 300;

/// A failed check: its kind and, for people, what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The kind.
    pub kind: ErrorKind,
    /// What happened, e.g. `chain 39f5e2ed… instead of 4018d784…`.
    pub detail: String,
}

impl Failure {
    /// A failure of `kind`. The words are cut at [`DETAIL_MAX`] characters: they may quote a
    /// remote server's answer, and they are stored every round and shown on a public page.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Failure {
        let mut detail = detail.into();
        if let Some((cut, _)) = detail.char_indices().nth(DETAIL_MAX) {
            detail.truncate(cut);
            detail.push('…');
        }
        Failure { kind, detail }
    }
}

/// The head block an answer showed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Its number.
    pub number: u64,
    /// Wall clock minus its time, in seconds (negative when the node's clock is ahead).
    pub age: f64,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The check.
    pub check: Check,
    /// How long it took when it succeeded.
    pub result: Result<Duration, Failure>,
    /// The head it saw (`ws` and `http`).
    pub head: Option<Head>,
    /// The served certificate's expiry, when a TLS handshake completed.
    pub cert_expiry: Option<SystemTime>,
    /// Whether the check reached the TLS handshake's end (`Some(false)`: the handshake failed).
    pub tls_handshake: Option<bool>,
}

impl Outcome {
    fn from_error(check: Check, e: dial::DialError) -> Outcome {
        Outcome {
            cert_expiry: e.cert_expiry,
            ..Outcome::failed(check, e.failure, e.tls_handshake)
        }
    }

    fn failed(check: Check, failure: Failure, tls_handshake: Option<bool>) -> Outcome {
        Outcome {
            check,
            result: Err(failure),
            head: None,
            cert_expiry: None,
            tls_handshake,
        }
    }
}

/// What every check needs.
#[derive(Clone)]
pub struct Context {
    /// The TLS client (system roots and `ca-file`).
    pub tls: dial::Tls,
    /// The most a check may take.
    pub timeout: Duration,
    /// A certificate closer than this to its expiry is `cert_expiring`.
    pub cert_warn: Duration,
}

/// Runs every check of `endpoint` (its WebSocket and HTTP checks at once), then derives the `tls`
/// check from the first handshake. `now` is the wall clock at the round's start.
pub async fn endpoint(ctx: &Context, endpoint: &Endpoint, now: SystemTime) -> Vec<Outcome> {
    let mut outcomes = match &endpoint.kind {
        EndpointKind::Api {
            ws,
            http,
            chain_id,
            max_head_age,
        } => {
            let judge = Judge {
                chain_id: *chain_id,
                max_head_age: *max_head_age,
                now,
            };
            let ws_check = async {
                match ws {
                    Some(url) => Some(bounded(ctx, Check::Ws, ws::check(ctx, url, &judge)).await),
                    None => None,
                }
            };
            let http_check = async {
                match http {
                    Some(url) => Some(bounded(ctx, Check::Http, http::check_api(ctx, url, &judge)).await),
                    None => None,
                }
            };
            let (a, b) = tokio::join!(ws_check, http_check);
            a.into_iter().chain(b).collect()
        }
        EndpointKind::Faucet { url } => vec![bounded(ctx, Check::Faucet, http::check_faucet(ctx, url)).await],
    };
    if endpoint.uses_tls()
        && let Some(tls) = tls_outcome(&outcomes, now, ctx.cert_warn)
    {
        outcomes.push(tls);
    }
    outcomes
}

/// Bounds a check by the timeout.
async fn bounded(ctx: &Context, check: Check, f: impl Future<Output = Outcome>) -> Outcome {
    match tokio::time::timeout(ctx.timeout, f).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::failed(
            check,
            Failure::new(ErrorKind::Timeout, format!("no answer within {:?}", ctx.timeout)),
            None,
        ),
    }
}

/// The `tls` check from the other checks' handshakes: a failed handshake is a `tls` failure, a
/// certificate closer to its end than `warn` is `cert_expiring`; no handshake reached, no check.
fn tls_outcome(outcomes: &[Outcome], now: SystemTime, warn: Duration) -> Option<Outcome> {
    let done = outcomes.iter().find(|o| o.tls_handshake == Some(true));
    let Some(done) = done else {
        let failed = outcomes.iter().find(|o| o.tls_handshake == Some(false))?;
        let detail = match &failed.result {
            Err(f) => f.detail.clone(),
            Ok(_) => "the handshake failed".to_owned(),
        };
        return Some(Outcome::failed(
            Check::Tls,
            Failure::new(ErrorKind::Tls, detail),
            Some(false),
        ));
    };
    let expiry = done.cert_expiry?;
    let left = expiry.duration_since(now).unwrap_or_default();
    let result = if left < warn {
        Err(Failure::new(
            ErrorKind::CertExpiring,
            format!(
                "the certificate expires at {} (in {}): renew it",
                humantime::format_rfc3339_seconds(expiry),
                humantime::format_duration(Duration::from_secs(left.as_secs() / 3600 * 3600))
            ),
        ))
    } else {
        Ok(Duration::ZERO)
    };
    Some(Outcome {
        check: Check::Tls,
        result,
        head: None,
        cert_expiry: Some(expiry),
        tls_handshake: Some(true),
    })
}

/// How an API answer is judged.
pub struct Judge {
    /// The chain it must be.
    pub chain_id: ChainId,
    /// The oldest acceptable head.
    pub max_head_age: Duration,
    /// The wall clock at the round's start.
    pub now: SystemTime,
}

impl Judge {
    /// Checks a `get_chain_id` answer.
    pub fn chain(&self, answer: &serde_json::Value) -> Result<(), Failure> {
        let got = answer
            .as_str()
            .ok_or_else(|| Failure::new(ErrorKind::Protocol, format!("get_chain_id answered {answer}")))?;
        if got == self.chain_id.to_string() {
            Ok(())
        } else {
            Err(Failure::new(
                ErrorKind::WrongChain,
                format!("serves chain {got}, not the configured {}", self.chain_id),
            ))
        }
    }

    /// The head a `get_dynamic_global_properties` answer shows.
    pub fn head(&self, answer: &serde_json::Value) -> Result<Head, Failure> {
        let bad = || {
            Failure::new(
                ErrorKind::Protocol,
                "get_dynamic_global_properties lacks head_block_number or time",
            )
        };
        let number = answer["head_block_number"].as_u64().ok_or_else(bad)?;
        let time = answer["time"].as_str().ok_or_else(bad)?;
        let at = humantime::parse_rfc3339(&format!("{time}Z")).map_err(|_| bad())?;
        let age = match self.now.duration_since(at) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        Ok(Head { number, age })
    }

    /// Whether `head` is young enough.
    pub fn fresh(&self, head: &Head) -> Result<(), Failure> {
        if head.age > self.max_head_age.as_secs_f64() {
            return Err(Failure::new(
                ErrorKind::StaleHead,
                format!(
                    "head block {} is {:.0} s old (more than max-head-age {} s): the node behind it stopped or lags",
                    head.number,
                    head.age,
                    self.max_head_age.as_secs()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
