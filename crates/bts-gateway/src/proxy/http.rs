//! HTTP POST JSON-RPC: each request (a batch is split into its requests) is answered from the
//! cache, joined to an identical call in flight, or sent to a healthy node; when that node fails
//! before answering (refused, reset, timeout, 5xx) the request goes to another one.
//!
//! Reads are always retried. Broadcasts are too: the chain rejects a transaction it already has,
//! so a retried broadcast whose answer is "duplicate transaction" was in fact accepted, and for
//! `broadcast_transaction` the gateway answers with the success the client would have got.

use super::{DataPlane, MAX_ATTEMPTS};
use crate::cache::{self, Key, Turn};
use crate::error::ProxyError;
use crate::metrics::{self, CacheResult, Limit, Outcome};
use crate::pool::Network;
use axum::http::StatusCode;
use bts_rpc::{ApiRef, Call, Request, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::value::RawValue;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests of one batch in flight at once.
const BATCH_CONCURRENCY: usize = 8;
/// The most a batch's answers may weigh together.
const MAX_BATCH_ANSWER_BYTES: usize = 32 << 20;

/// Who is asking, and on which network.
pub struct Origin<'a> {
    /// The network the host and path routed to.
    pub network: &'a Arc<Network>,
    /// The client's address (limits, geolocation).
    pub client_ip: IpAddr,
    /// The value of the forwarding header sent to nodes.
    pub forwarded_for: &'a str,
    /// The largest answer taken from a node for one request ([`super::upstream::MAX_ANSWER_BYTES`],
    /// less for a batch's items).
    pub max_answer_bytes: usize,
}

/// An answer for the HTTP client.
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Bytes,
}

impl Answer {
    fn json(status: StatusCode, response: &Response) -> Answer {
        Answer {
            status,
            body: Bytes::from(response.to_json()),
        }
    }

    fn error(e: &ProxyError, request: Option<&Request>) -> Answer {
        Answer::json(e.http_status(), &e.response(request))
    }
}

/// Answers one POST body: one request or a batch.
pub async fn handle_post(dp: &DataPlane, origin: &Origin<'_>, body: Bytes) -> Answer {
    if body.len() > dp.settings.max_message_bytes {
        return Answer::error(&ProxyError::TooLarge(dp.settings.max_message_bytes), None);
    }
    let text = String::from_utf8_lossy(&body);
    if !text.trim_start().starts_with('[') {
        return handle_one(dp, origin, &text, body.clone()).await;
    }
    // witness_node has no batches; the gateway splits them and answers in order.
    let items: Vec<Box<RawValue>> = match serde_json::from_str(&text) {
        Ok(items) => items,
        Err(e) => {
            return Answer::json(
                StatusCode::BAD_REQUEST,
                &Response::unreadable(bts_rpc::ErrorObject::parse_error(&e.to_string())),
            );
        }
    };
    if items.is_empty() {
        let e = bts_rpc::ErrorObject::invalid_request("empty batch");
        return Answer::json(StatusCode::BAD_REQUEST, &Response::unreadable(e));
    }
    let max = dp.settings.max_batch_length;
    if items.len() > max {
        metrics::limited(Limit::BatchLength);
        return Answer::error(&ProxyError::BatchTooLong(items.len(), max), None);
    }
    // A few at a time, in order: a batch is one client's, and must not take every node at once.
    // Each item's answer is bounded so that those in flight together stay within the batch's.
    let item_origin = Origin {
        network: origin.network,
        client_ip: origin.client_ip,
        forwarded_for: origin.forwarded_for,
        max_answer_bytes: origin.max_answer_bytes.min(MAX_BATCH_ANSWER_BYTES / BATCH_CONCURRENCY),
    };
    let origin = &item_origin;
    let mut answers = futures_util::stream::iter(items)
        .map(|item| async move {
            let raw = Bytes::copy_from_slice(item.get().as_bytes());
            handle_one(dp, origin, item.get(), raw).await
        })
        .buffered(BATCH_CONCURRENCY);
    let mut out = Vec::with_capacity(body.len());
    out.push(b'[');
    let mut first = true;
    while let Some(answer) = answers.next().await {
        if !first {
            out.push(b',');
        }
        first = false;
        if out.len() + answer.body.len() > MAX_BATCH_ANSWER_BYTES {
            // The rest is not answered: the client learns where, and splits the batch. Requests
            // already in flight may have been executed, so repeating them is not safe.
            metrics::limited(Limit::MessageSize);
            let e = bts_rpc::ErrorObject {
                code: ProxyError::TooLarge(0).code(),
                message: format!(
                    "the batch's answers reach {MAX_BATCH_ANSWER_BYTES} bytes; this and later requests were not answered \
                     (those already sent to a node may have been executed): split the batch"
                ),
                data: Some(serde_json::json!({ "who": "client", "retry_safe": false, "source": "bts-gateway" })),
            };
            out.extend_from_slice(Response::unreadable(e).to_json().as_bytes());
            break;
        }
        out.extend_from_slice(&answer.body);
    }
    out.push(b']');
    Answer {
        status: StatusCode::OK,
        body: Bytes::from(out),
    }
}

/// Answers one request; `raw` is its exact text, forwarded unchanged when nothing is shared.
async fn handle_one(dp: &DataPlane, origin: &Origin<'_>, text: &str, raw: Bytes) -> Answer {
    // Counted before it is read: unreadable requests cost the gateway too.
    let allowed = dp.rate.allow(origin.client_ip);
    let request = match Request::parse(text) {
        Ok(r) => r,
        Err(e) if allowed => return Answer::json(StatusCode::BAD_REQUEST, &Response::unreadable(e)),
        Err(_) => {
            metrics::limited(Limit::Rate);
            return Answer::error(&ProxyError::RateLimited(dp.rate.per_second()), None);
        }
    };
    if !allowed {
        metrics::limited(Limit::Rate);
        origin.network.metrics().request(&request.method, Outcome::Limited, 0.0);
        return Answer::error(&ProxyError::RateLimited(dp.rate.per_second()), Some(&request));
    }
    let call = match request.target() {
        Ok(c) => c,
        Err(e) => return Answer::json(StatusCode::BAD_REQUEST, &Response::err(&request, e)),
    };
    let network = origin.network;
    if network.deny_methods().contains(&call.method) {
        let e = ProxyError::Denied {
            method: call.method.clone(),
            network: network.name().to_owned(),
        };
        return Answer::error(&e, Some(&request));
    }
    let api = api_name(&call);
    if cache::is_immutable(&api, &call.method, &call.args, network.last_irreversible_block()) {
        return cached(dp, origin, (&request, &call, &api), raw).await;
    }
    if cache::is_collapsible(&api, &call.method) {
        return collapsed(dp, origin, (&request, &call, &api), raw).await;
    }
    forward(dp, origin, &call.method, raw)
        .await
        .unwrap_or_else(|e| Answer::error(&e, Some(&request)))
}

/// The API name a call addresses. Over HTTP every POST is a new connection, so only 0
/// (database) and 1 (login) are meaningful numeric ids; others are passed on for the node to
/// refuse.
fn api_name(call: &Call) -> String {
    match &call.api {
        ApiRef::Id(0) => "database".to_owned(),
        ApiRef::Id(1) => "login".to_owned(),
        ApiRef::Id(n) => n.to_string(),
        ApiRef::Name(name) => name.clone(),
    }
}

/// An immutable answer: from the cache, or fetched once and kept.
async fn cached(dp: &DataPlane, origin: &Origin<'_>, parts: (&Request, &Call, &str), raw: Bytes) -> Answer {
    let (request, call, api) = parts;
    let key = Key::new(origin.network.name(), api, &call.method, &call.args);
    if let Some(result) = dp.cache.get(&key) {
        metrics::cache(origin.network.name(), CacheResult::Hit);
        origin.network.metrics().request(&call.method, Outcome::Cached, 0.0);
        return Answer::json(StatusCode::OK, &Response::ok(request, &*result));
    }
    metrics::cache(origin.network.name(), CacheResult::Miss);
    let answer = collapsed(dp, origin, parts, raw).await;
    if let Ok(Response {
        outcome: Ok(result), ..
    }) = serde_json::from_slice::<Response>(&answer.body)
    {
        dp.cache.put(key, Arc::from(result));
    }
    answer
}

/// A read that identical concurrent reads share. The leader forwards the client's own bytes;
/// the answer is parsed for sharing only when someone joined.
async fn collapsed(
    dp: &DataPlane,
    origin: &Origin<'_>,
    (request, call, api): (&Request, &Call, &str),
    raw: Bytes,
) -> Answer {
    let key = Key::new(origin.network.name(), api, &call.method, &call.args);
    match dp.flight.join(key) {
        Turn::Lead(leader) => {
            let answer = forward(dp, origin, &call.method, raw).await;
            let followers = leader.finish();
            if !followers.is_empty() {
                let shared = match &answer {
                    Ok(a) if a.status == StatusCode::OK => match serde_json::from_slice::<Response>(&a.body) {
                        Ok(Response {
                            outcome: Ok(result), ..
                        }) => Ok(Arc::from(result)),
                        _ => Err(()),
                    },
                    _ => Err(()),
                };
                followers.send(&shared);
            }
            answer.unwrap_or_else(|e| Answer::error(&e, Some(request)))
        }
        Turn::Follow(rx) => {
            metrics::cache(origin.network.name(), CacheResult::Collapsed);
            match cache::follow(rx).await {
                Ok(result) => Answer::json(StatusCode::OK, &Response::ok(request, &*result)),
                Err(()) => forward(dp, origin, &call.method, raw)
                    .await
                    .unwrap_or_else(|e| Answer::error(&e, Some(request))),
            }
        }
    }
}

/// Sends `body` to healthy nodes until one answers. On failure the error says whether the request
/// may have reached a node.
async fn forward(dp: &DataPlane, origin: &Origin<'_>, method: &str, body: Bytes) -> Result<Answer, ProxyError> {
    let network = origin.network;
    let mut tried = Vec::new();
    let mut last: Option<super::upstream::UpstreamFailure> = None;
    // Whether any node tried may have received the request: the last failure alone does not say
    // (a broadcast sent to one node, then refused by the next).
    let mut maybe_sent = false;
    let idempotent = bts_rpc::is_idempotent(method);
    let forwarded = axum::http::HeaderValue::from_str(origin.forwarded_for).ok();
    // `request-timeout` is the whole budget, retries included.
    let budget = dp.settings.request_timeout;
    let deadline = Instant::now() + budget;
    while tried.len() < MAX_ATTEMPTS {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            last = Some(super::upstream::UpstreamFailure::Timeout);
            break;
        }
        let Some(backend) = network.pick(origin.client_ip, &tried) else {
            break;
        };
        tried.push(backend.id());
        let others = (MAX_ATTEMPTS - tried.len()).min(network.eligible_count().saturating_sub(tried.len()));
        let attempt_timeout = attempt_timeout(remaining, others);
        let _in_flight = backend.begin();
        let started = Instant::now();
        let post = bts_rpc::transport::Post {
            uri: backend.http_uri(),
            body: body.clone(),
            header: forwarded.as_ref().map(|v| (&dp.settings.forward_header, v)),
            keep_alive: backend.http_keep_alive(),
            idempotent,
            max_answer_bytes: origin.max_answer_bytes,
        };
        // A node the health checks declare out while it holds the request (hung, frozen, on
        // another chain) will not answer in time: the request goes elsewhere at once instead of
        // waiting out its timeout. A cordoned or removed node is drained, not cut.
        let result = tokio::select! {
            result = dp.http.post(post, attempt_timeout) => result,
            () = declared_unhealthy(&backend) => Err(super::upstream::UpstreamFailure::Broken(
                "the node was declared out of health while it held the request".to_owned(),
            )),
        };
        let elapsed = started.elapsed();
        match result {
            Ok((status, answer)) if !status.is_server_error() => {
                backend.observe(elapsed, true);
                let outcome = if is_node_error(&answer) {
                    Outcome::NodeError
                } else {
                    Outcome::Ok
                };
                backend.metrics().request(method, outcome, elapsed.as_secs_f64());
                let answer = duplicate_is_success(method, tried.len() > 1, answer);
                return Ok(Answer { status, body: answer });
            }
            Ok((status, _)) => last = Some(super::upstream::UpstreamFailure::Status(status)),
            Err(failure) => last = Some(failure),
        }
        maybe_sent |= last.as_ref().is_some_and(super::upstream::UpstreamFailure::maybe_sent);
        backend.observe(elapsed, false);
        backend.metrics().upstream(elapsed.as_secs_f64());
        metrics::retry(network.name());
    }
    let error = match last {
        None => ProxyError::NoBackend {
            network: network.name().to_owned(),
        },
        Some(super::upstream::UpstreamFailure::Timeout) => ProxyError::Timeout {
            after: budget,
            idempotent,
        },
        Some(f) => ProxyError::Upstream {
            detail: f.describe(),
            maybe_sent,
            idempotent,
        },
    };
    let outcome = match error {
        ProxyError::NoBackend { .. } => Outcome::NoBackend,
        ProxyError::Timeout { .. } => Outcome::Timeout,
        _ => Outcome::UpstreamError,
    };
    network.metrics().request(method, outcome, 0.0);
    Err(error)
}

/// How long one attempt may wait, with `remaining` of the request's budget left and `others`
/// more nodes it could still go to: half of what is left while another node remains (so a hung
/// node costs half the budget and the next one still has time), all of it for the last one.
/// With the default 10 s and three nodes: 5 s, 2.5 s, 2.5 s.
fn attempt_timeout(remaining: Duration, others: usize) -> Duration {
    if others == 0 { remaining } else { remaining / 2 }
}

/// Completes when `backend`'s health checks declare it out; never for a cordon or a removal (a
/// drain lets requests in flight finish). Health is read from the backend's flag at each change
/// of its eligibility, so a stale value of the watch never cuts a request.
async fn declared_unhealthy(backend: &crate::pool::Backend) {
    let mut eligible = backend.eligible();
    loop {
        if !backend.is_healthy() {
            return;
        }
        if eligible.changed().await.is_err() {
            // The backend is gone with its sender: nothing will change any more.
            return std::future::pending().await;
        }
    }
}

/// Whether a node's answer is an error object, without parsing it: the node writes `"error":` or
/// `"result":` right after the id, so the first of the two keys decides, and a result holding an
/// object with an `error` key is still a result (JSON escapes the quotes of a string, so the text
/// cannot appear inside one). A result's key is found in its first bytes: an answer of megabytes
/// is not scanned.
fn is_node_error(answer: &[u8]) -> bool {
    match memchr::memmem::find(answer, b"\"result\":") {
        Some(at) => memchr::memmem::find(&answer[..at], b"\"error\":").is_some(),
        None => memchr::memmem::find(answer, b"\"error\":").is_some(),
    }
}

/// A retried `broadcast_transaction` that the chain calls a duplicate was accepted by the first
/// attempt: answer with the success (`null`) the client would have had.
fn duplicate_is_success(method: &str, retried: bool, answer: Bytes) -> Bytes {
    if !retried || method != "broadcast_transaction" {
        return answer;
    }
    match serde_json::from_slice::<Response>(&answer) {
        Ok(Response {
            id,
            jsonrpc,
            outcome: Err(e),
        }) if e.code == bts_rpc::fc::code::DUPLICATE_TRANSACTION || e.message.contains("duplicate transaction") => {
            let ok = Response {
                id,
                jsonrpc,
                outcome: Ok(bts_rpc::message::to_raw(&serde_json::Value::Null)),
            };
            Bytes::from(ok.to_json())
        }
        _ => answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_by_the_attempts() {
        let budget = Duration::from_secs(10);
        let first = attempt_timeout(budget, 2);
        let second = attempt_timeout(budget - first, 1);
        let third = attempt_timeout(budget - first - second, 0);
        assert_eq!([first, second, third].map(|d| d.as_millis()), [5000, 2500, 2500]);
        assert_eq!(attempt_timeout(budget, 0), budget, "one node: all of it");
    }

    #[test]
    fn node_errors_are_told_from_results_by_the_first_key() {
        assert!(is_node_error(
            br#"{"id":1,"jsonrpc":"2.0","error":{"code":1,"message":"x"}}"#
        ));
        assert!(is_node_error(
            br#"{"id":1,"error":{"code":1,"message":"no result here"}}"#
        ));
        assert!(!is_node_error(br#"{"id":1,"jsonrpc":"2.0","result":[{"id":"1.2.0"}]}"#));
        // A result holding an object with an `error` key is still a result.
        assert!(!is_node_error(br#"{"id":1,"result":[{"op":{"error":"x"}}]}"#));
        assert!(!is_node_error(br#"{"id":1,"result":null}"#));
    }

    #[test]
    fn a_retried_duplicate_broadcast_is_a_success() {
        let dup = Bytes::from_static(
            br#"{"id":4,"error":{"code":3030001,"message":"Execution error: duplicate transaction: Transaction 'x' is already in the database"}}"#,
        );
        let out = duplicate_is_success("broadcast_transaction", true, dup.clone());
        assert_eq!(&out[..], br#"{"id":4,"result":null}"#);
        assert_eq!(
            duplicate_is_success("broadcast_transaction", false, dup.clone()),
            dup,
            "first try: the client's own duplicate"
        );
        assert_eq!(duplicate_is_success("get_objects", true, dup.clone()), dup);
    }
}
