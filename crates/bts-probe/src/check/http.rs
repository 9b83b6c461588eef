//! The HTTP checks: one JSON-RPC POST as a wallet without WebSocket sends it (the database API
//! named as a string, a new connection per call, as witness_node closes each after answering),
//! and the faucet's `GET /health`.

use super::dial::{self, Target};
use super::{Check, Context, ErrorKind, Failure, Judge, Outcome};
use bytes::Bytes;
use futures_util::future::{self, Either};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::time::SystemTime;

/// The most of an answer read (a dynamic global properties object is under 1 KiB).
const MAX_BODY: usize = 256 * 1024;

/// `get_dynamic_global_properties` by POST, timed, then `get_chain_id` on another connection.
pub async fn check_api(ctx: &Context, url: &str, judge: &Judge) -> Outcome {
    let target = match Target::parse(url) {
        Ok(t) => t,
        Err(f) => return Outcome::failed(Check::Http, f, None),
    };
    let handshake = target.tls.then_some(true);
    let answer = match post(ctx, &target, "get_dynamic_global_properties").await {
        Ok(a) => a,
        Err(e) => return Outcome::from_error(Check::Http, e),
    };
    let elapsed = answer.elapsed;
    let head = judge.head(&answer.result);
    let chain = post(ctx, &target, "get_chain_id")
        .await
        .map_err(|e| e.failure)
        .and_then(|a| judge.chain(&a.result));
    // A wrong chain says more than a stale head of that chain.
    let result = chain
        .and_then(|()| head.clone().and_then(|h| judge.fresh(&h)))
        .map(|()| elapsed);
    Outcome {
        check: Check::Http,
        head: head.ok(),
        result,
        cert_expiry: answer.cert_expiry,
        tls_handshake: handshake,
    }
}

/// `GET {url}/health`: HTTP 200 with `{"status":"ok"}`.
pub async fn check_faucet(ctx: &Context, url: &str) -> Outcome {
    let target = match Target::parse(&format!("{url}/health")) {
        Ok(t) => t,
        Err(f) => return Outcome::failed(Check::Faucet, f, None),
    };
    let handshake = target.tls.then_some(true);
    let result = match exchange(ctx, &target, Method::GET, Bytes::new()).await {
        Err(e) => return Outcome::from_error(Check::Faucet, e),
        Ok(reply) => reply,
    };
    let body: Option<Value> = serde_json::from_slice(&result.body).ok();
    let verdict = if result.status != StatusCode::OK {
        Err(Failure::new(
            ErrorKind::Unhealthy,
            format!("/health answered HTTP {}", result.status),
        ))
    } else if body.as_ref().is_none_or(|b| b["status"] != "ok") {
        Err(Failure::new(
            ErrorKind::Unhealthy,
            "/health did not say {\"status\":\"ok\"}",
        ))
    } else {
        Ok(result.elapsed)
    };
    Outcome {
        check: Check::Faucet,
        result: verdict,
        head: None,
        cert_expiry: result.cert_expiry,
        tls_handshake: handshake,
    }
}

/// The `result` of a JSON-RPC answer, or its error as a failure.
pub fn result_of(method: &str, mut answer: Value) -> Result<Value, Failure> {
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        let message = error["message"]
            .as_str()
            .unwrap_or("no message")
            .lines()
            .next()
            .unwrap_or("");
        return Err(Failure::new(
            ErrorKind::NodeError,
            format!("{method}: the node answered an error: {message}"),
        ));
    }
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(Failure::new(
            ErrorKind::Protocol,
            format!("{method}: an answer without result or error"),
        )),
    }
}

/// An answered call.
struct Answer {
    result: Value,
    elapsed: std::time::Duration,
    cert_expiry: Option<SystemTime>,
}

async fn post(ctx: &Context, target: &Target, method: &str) -> Result<Answer, dial::DialError> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": ["database", method, []]});
    let reply = exchange(ctx, target, Method::POST, Bytes::from(body.to_string())).await?;
    let fail = |failure| dial::DialError {
        failure,
        tls_handshake: target.tls.then_some(true),
        cert_expiry: reply.cert_expiry,
    };
    if reply.status != StatusCode::OK && reply.status != StatusCode::BAD_REQUEST {
        return Err(fail(Failure::new(
            ErrorKind::HttpStatus,
            format!("POST answered HTTP {}", reply.status),
        )));
    }
    let answer: Value = serde_json::from_slice(&reply.body).map_err(|_| {
        fail(Failure::new(
            ErrorKind::Protocol,
            format!("{method}: the answer is not JSON"),
        ))
    })?;
    let result = result_of(method, answer).map_err(fail)?;
    Ok(Answer {
        result,
        elapsed: reply.elapsed,
        cert_expiry: reply.cert_expiry,
    })
}

/// A whole HTTP exchange.
struct Reply {
    status: StatusCode,
    body: Bytes,
    elapsed: std::time::Duration,
    cert_expiry: Option<SystemTime>,
}

async fn exchange(ctx: &Context, target: &Target, method: Method, body: Bytes) -> Result<Reply, dial::DialError> {
    let connection = dial::connect(&ctx.tls, target, ctx.timeout).await?;
    let (started, cert_expiry) = (connection.started, connection.cert_expiry);
    let failed = connection.error(Failure::new(ErrorKind::Protocol, String::new()));
    let fail = |kind, detail: String| dial::DialError {
        failure: Failure::new(kind, detail),
        ..failed
    };
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(connection.io))
        .await
        .map_err(|e| fail(ErrorKind::Protocol, format!("HTTP: {e}")))?;
    let drive = async move {
        let _ = driver.await;
    };
    let content_type = if method == Method::POST {
        "application/json"
    } else {
        "text/plain"
    };
    let request = Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header(hyper::header::HOST, target.authority.as_str())
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::USER_AGENT, "bts-infra-probe")
        .body(Full::new(body))
        .map_err(|e| fail(ErrorKind::Protocol, e.to_string()))?;
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| fail(ErrorKind::Protocol, format!("HTTP request: {e}")))?;
        let status = response.status();
        let limited = http_body_util::Limited::new(response.into_body(), MAX_BODY);
        let body = limited
            .collect()
            .await
            .map_err(|e| fail(ErrorKind::Protocol, format!("reading the HTTP answer: {e}")))?
            .to_bytes();
        Ok::<_, dial::DialError>((status, body))
    };
    // The connection is driven here, beside the exchange; once it ends (the server closes after
    // answering), the exchange finishes with what was read or fails.
    let (status, body) = match future::select(std::pin::pin!(exchange), std::pin::pin!(drive)).await {
        Either::Left((result, _)) => result?,
        Either::Right(((), exchange)) => exchange.await?,
    };
    Ok(Reply {
        status,
        body,
        elapsed: started.elapsed(),
        cert_expiry,
    })
}

/// `GET url` answered with HTTP 200 and JSON: that JSON.
pub async fn get_json(ctx: &Context, url: &str) -> Result<Value, Failure> {
    let body = get(ctx, url).await?;
    serde_json::from_slice(&body).map_err(|_| Failure::new(ErrorKind::Protocol, format!("{url}: not JSON")))
}

/// `GET url` answered with HTTP 200 and UTF-8 text: that text.
pub async fn get_text(ctx: &Context, url: &str) -> Result<String, Failure> {
    let body = get(ctx, url).await?;
    String::from_utf8(body.to_vec()).map_err(|_| Failure::new(ErrorKind::Protocol, format!("{url}: not UTF-8")))
}

async fn get(ctx: &Context, url: &str) -> Result<Bytes, Failure> {
    let target = Target::parse(url)?;
    // Bounded like every check: a server that accepts and never answers must not stop a round.
    let reply = tokio::time::timeout(ctx.timeout, exchange(ctx, &target, Method::GET, Bytes::new()))
        .await
        .map_err(|_| Failure::new(ErrorKind::Timeout, format!("{url}: no answer within {:?}", ctx.timeout)))?
        .map_err(|e| e.failure)?;
    if reply.status != StatusCode::OK {
        return Err(Failure::new(
            ErrorKind::HttpStatus,
            format!("{url} answered HTTP {}", reply.status),
        ));
    }
    Ok(reply.body)
}
