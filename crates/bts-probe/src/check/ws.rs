//! The WebSocket check, the calls bitsharesjs-ws makes when a wallet opens: `login` on API 1,
//! `database` for the database API's number, then `get_chain_id` and
//! `get_dynamic_global_properties` on that number, one after the other.

use super::dial::{self, Target};
use super::{Context, ErrorKind, Failure, Judge, Outcome};
use crate::check::Check;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

/// The largest WebSocket message read.
const MAX_MESSAGE: usize = 64 * 1024;

/// Runs the check against `url`.
pub async fn check(ctx: &Context, url: &str, judge: &Judge) -> Outcome {
    let target = match Target::parse(url) {
        Ok(t) => t,
        Err(f) => return Outcome::failed(Check::Ws, f, None),
    };
    let connection = match dial::connect(&ctx.tls, &target, ctx.timeout).await {
        Ok(c) => c,
        Err(e) => return Outcome::from_error(Check::Ws, e),
    };
    let handshake = target.tls.then_some(true);
    let cert_expiry = connection.cert_expiry;
    let started = connection.started;
    // The head is kept even when it is stale: its age is what the operator needs to see.
    let head = run_session(connection.io, url, judge).await;
    let result = match &head {
        Ok(h) => judge.fresh(h).map(|()| started.elapsed()),
        Err(f) => Err(f.clone()),
    };
    Outcome {
        check: Check::Ws,
        head: head.ok(),
        result,
        cert_expiry,
        tls_handshake: handshake,
    }
}

async fn run_session(io: Box<dyn dial::Io>, url: &str, judge: &Judge) -> Result<super::Head, Failure> {
    // A node's answers to these calls are under 2 KiB; a server sending more is not a node.
    let limits = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (socket, _) = tokio_tungstenite::client_async_with_config(url, io, Some(limits))
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(response) => Failure::new(
                ErrorKind::HttpStatus,
                format!("the WebSocket upgrade was answered with HTTP {}", response.status()),
            ),
            e => Failure::new(ErrorKind::Protocol, format!("WebSocket handshake: {e}")),
        })?;
    let mut session = Session { socket, next_id: 0 };
    session.call(json!(1), "login", json!(["", ""])).await?;
    let database = session.call(json!(1), "database", json!([])).await?;
    if !database.is_u64() {
        return Err(Failure::new(
            ErrorKind::Protocol,
            format!("database answered {database}, not an API number"),
        ));
    }
    judge.chain(&session.call(database.clone(), "get_chain_id", json!([])).await?)?;
    let head = judge.head(
        &session
            .call(database, "get_dynamic_global_properties", json!([]))
            .await?,
    )?;
    let _ = session.socket.close(None).await;
    Ok(head)
}

/// One WebSocket and its request ids.
struct Session {
    socket: tokio_tungstenite::WebSocketStream<Box<dyn dial::Io>>,
    next_id: u64,
}

impl Session {
    /// Sends one call and waits for its answer, skipping notices.
    async fn call(&mut self, api: Value, method: &str, params: Value) -> Result<Value, Failure> {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": "call", "params": [api, method, params]}).to_string();
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| Failure::new(ErrorKind::Protocol, format!("sending {method}: {e}")))?;
        let closed = || {
            Failure::new(
                ErrorKind::Protocol,
                format!("the connection closed before answering {method}"),
            )
        };
        loop {
            let message = self
                .socket
                .next()
                .await
                .ok_or_else(closed)?
                .map_err(|e| Failure::new(ErrorKind::Protocol, format!("reading the answer to {method}: {e}")))?;
            let text = match message {
                Message::Text(t) => t,
                Message::Close(_) => return Err(closed()),
                _ => continue,
            };
            let answer: Value = serde_json::from_str(&text)
                .map_err(|_| Failure::new(ErrorKind::Protocol, format!("{method}: the answer is not JSON")))?;
            // Notices (subscriptions) carry no id of ours.
            if answer["id"].as_u64() == Some(id) {
                return super::http::result_of(method, answer);
            }
        }
    }
}
