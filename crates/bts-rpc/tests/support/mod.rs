//! A scripted test node that speaks witness_node's dialect over WebSocket and HTTP on one port:
//! it answers the recorded calls of `data/node_answers.json`, and test methods that answer out of
//! order, late or never, send notices, or drop the connection, so client behaviour can be driven
//! and observed without sleeps.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.
#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

pub mod closing;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bts_rpc::message::{ApiRef, Call, ErrorObject, Notice, Request, Response};
use bts_rpc::{FcException, fc};
use serde::Deserialize;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// One recorded call and the node's answer.
#[derive(Debug, Deserialize)]
pub struct Recorded {
    pub source: String,
    pub api: String,
    pub method: String,
    pub params: Value,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<ErrorObject>,
    #[serde(default)]
    pub http_status: Option<u16>,
}

/// The recorded answers of a real witness_node 7.0.2.
pub fn recorded() -> Vec<Recorded> {
    serde_json::from_str(include_str!("../data/node_answers.json")).unwrap()
}

/// The recorded entry for `method` (the first one when there are several).
pub fn recorded_entry(method: &str) -> Recorded {
    recorded().into_iter().find(|r| r.method == method).unwrap()
}

/// What the test node does with one call.
enum Reply {
    /// Answer now (HTTP with this status).
    Now(Result<Value, ErrorObject>, StatusCode),
    /// Answer after a delay.
    Later(Duration, Value),
    /// Hold until `n` gather calls are pending on this connection, then answer all in reverse.
    Gather(usize, Value),
    /// Never answer.
    Never,
    /// Drop the connection without answering.
    Drop,
    /// Stop reading the connection (so pings go unanswered) but keep it open.
    Deaf,
}

enum ConnCommand {
    Send(String),
    Drop,
}

struct Shared {
    answers: Vec<Recorded>,
    connections: Mutex<Vec<mpsc::UnboundedSender<ConnCommand>>>,
    /// Method and arguments of every request received, in order.
    log: watch::Sender<Vec<(String, Value)>>,
    /// WebSocket connections accepted.
    connects: watch::Sender<usize>,
    /// WebSocket connections open now.
    open: watch::Sender<usize>,
}

/// A running test node.
pub struct TestNode {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl TestNode {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> TestNode {
        TestNode::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on `addr` (to come back on the port of a stopped node).
    pub async fn start_on(addr: SocketAddr) -> TestNode {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            answers: recorded(),
            connections: Mutex::new(Vec::new()),
            log: watch::Sender::new(Vec::new()),
            connects: watch::Sender::new(0),
            open: watch::Sender::new(0),
        });
        let app = Router::new()
            .route("/", get(upgrade).post(http))
            .route(
                "/proxy-error",
                post(|| async { (StatusCode::BAD_GATEWAY, "upstream unavailable") }),
            )
            .with_state(shared.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestNode { addr, shared, server }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends `{"method":"notice","params":[callback,args]}` on every open connection.
    pub fn notify(&self, callback: u64, args: Value) {
        let text = Notice::new(callback.into(), &args).to_json();
        for conn in self.shared.connections.lock().unwrap().iter() {
            let _ = conn.send(ConnCommand::Send(text.clone()));
        }
    }

    /// Drops every open WebSocket connection without a close frame.
    pub fn drop_connections(&self) {
        for conn in self.shared.connections.lock().unwrap().drain(..) {
            let _ = conn.send(ConnCommand::Drop);
        }
    }

    /// Stops listening and drops every connection; returns the address to start on again.
    pub async fn stop(mut self) -> SocketAddr {
        self.drop_connections();
        self.server.abort();
        let _ = (&mut self.server).await;
        self.addr
    }

    /// Waits until `n` calls of `method` have arrived (on any connection).
    pub async fn wait_calls(&self, method: &str, n: usize) {
        let mut log = self.shared.log.subscribe();
        log.wait_for(|log| log.iter().filter(|(m, _)| m == method).count() >= n)
            .await
            .unwrap();
    }

    /// Waits until `n` WebSocket connections have been accepted in all.
    pub async fn wait_connects(&self, n: usize) {
        self.shared.connects.subscribe().wait_for(|c| *c >= n).await.unwrap();
    }

    /// Waits until exactly `n` WebSocket connections are open.
    pub async fn wait_open(&self, n: usize) {
        self.shared.open.subscribe().wait_for(|c| *c == n).await.unwrap();
    }

    /// The arguments of every call of `method` received, in order.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        let log = self.shared.log.borrow();
        log.iter()
            .filter(|(m, _)| m == method)
            .map(|(_, a)| a.clone())
            .collect()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.server.abort();
        for conn in self.shared.connections.lock().unwrap().drain(..) {
            let _ = conn.send(ConnCommand::Drop);
        }
    }
}

/// Decides the answer to one call.
fn dispatch(shared: &Shared, call: &Call) -> Reply {
    let args: Value = serde_json::from_str(call.args.get()).unwrap_or(Value::Null);
    let api = match &call.api {
        ApiRef::Name(name) => name.clone(),
        ApiRef::Id(id) => id.to_string(),
    };
    let candidates: Vec<&Recorded> = shared.answers.iter().filter(|r| r.method == call.method).collect();
    if let Some(first) = candidates.first() {
        let Some(r) = candidates.iter().find(|r| r.api == api && r.params == args) else {
            let detail = format!(
                "{} called on API {api} with {args}; recorded: API {} with {}",
                call.method, first.api, first.params
            );
            return Reply::Now(Err(ErrorObject::invalid_request(&detail)), StatusCode::BAD_REQUEST);
        };
        let status = StatusCode::from_u16(r.http_status.unwrap_or(200)).unwrap();
        let outcome = match &r.error {
            Some(e) => Err(e.clone()),
            None => Ok(r.result.clone().unwrap_or(Value::Null)),
        };
        return Reply::Now(outcome, status);
    }
    let ok = |v: Value| Reply::Now(Ok(v), StatusCode::OK);
    match call.method.as_str() {
        "echo" => ok(args),
        "sleep" => Reply::Later(Duration::from_millis(args[0].as_u64().unwrap_or(0)), args[1].clone()),
        "gather" => Reply::Gather(args[0].as_u64().unwrap_or(1) as usize, args[1].clone()),
        "never" => Reply::Never,
        "drop" => Reply::Drop,
        "deaf" => Reply::Deaf,
        "fail" => Reply::Now(
            Err(FcException::assert("false", "scripted failure").into_execution_error()),
            StatusCode::OK,
        ),
        "set_refused_callback" => Reply::Now(
            Err(FcException::assert("false", "no subscriptions here").into_execution_error()),
            StatusCode::OK,
        ),
        m if m.starts_with("set_") && m.ends_with("_callback") => ok(Value::Null),
        m => Reply::Now(Err(ErrorObject::method_not_found(m)), StatusCode::BAD_REQUEST),
    }
}

/// Parses a request and logs its method; an unreadable one gets the node's error text.
fn receive(shared: &Shared, text: &str) -> Result<(Request, Call), Response> {
    let request = Request::parse(text).map_err(Response::unreadable)?;
    let call = request.target().map_err(|e| Response::err(&request, e))?;
    let args = serde_json::from_str(call.args.get()).unwrap_or(Value::Null);
    shared.log.send_modify(|log| log.push((call.method.clone(), args)));
    Ok((request, call))
}

fn answer(request: &Request, outcome: Result<Value, ErrorObject>) -> String {
    match outcome {
        Ok(v) => Response::ok(request, &v).to_json(),
        Err(e) => Response::err(request, e).to_json(),
    }
}

async fn http(State(shared): State<Arc<Shared>>, body: String) -> impl IntoResponse {
    let (request, call) = match receive(&shared, &body) {
        Ok(parsed) => parsed,
        Err(unreadable) => return (StatusCode::BAD_REQUEST, unreadable.to_json()),
    };
    match dispatch(&shared, &call) {
        Reply::Now(outcome, status) => (status, answer(&request, outcome)),
        Reply::Later(delay, v) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, answer(&request, Ok(v)))
        }
        Reply::Never => std::future::pending().await,
        Reply::Gather(..) | Reply::Drop | Reply::Deaf => (
            StatusCode::BAD_REQUEST,
            answer(&request, Err(ErrorObject::invalid_request("WebSocket only"))),
        ),
    }
}

async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(move |socket| serve_ws(socket, shared))
}

async fn serve_ws(socket: WebSocket, shared: Arc<Shared>) {
    shared.open.send_modify(|c| *c += 1);
    shared.connects.send_modify(|c| *c += 1);
    converse(socket, &shared).await;
    shared.open.send_modify(|c| *c -= 1);
}

async fn converse(mut socket: WebSocket, shared: &Shared) {
    let (commands, mut inbox) = mpsc::unbounded_channel();
    shared.connections.lock().unwrap().push(commands.clone());
    let mut gathered: Vec<String> = Vec::new();
    loop {
        let text = tokio::select! {
            command = inbox.recv() => match command {
                Some(ConnCommand::Send(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(ConnCommand::Drop) | None => return,
            },
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return,
            },
        };
        let (request, call) = match receive(shared, text.as_str()) {
            Ok(parsed) => parsed,
            Err(unreadable) => {
                let _ = socket.send(Message::Text(unreadable.to_json().into())).await;
                continue;
            }
        };
        let out = match dispatch(shared, &call) {
            Reply::Now(outcome, _) => vec![answer(&request, outcome)],
            Reply::Later(delay, v) => {
                let (commands, text) = (commands.clone(), answer(&request, Ok(v)));
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = commands.send(ConnCommand::Send(text));
                });
                vec![]
            }
            Reply::Gather(n, v) => {
                gathered.push(answer(&request, Ok(v)));
                if gathered.len() < n {
                    continue;
                }
                gathered.drain(..).rev().collect()
            }
            Reply::Never => vec![],
            Reply::Drop => return,
            Reply::Deaf => {
                // Keep the socket open without reading it (no pongs, no answers) until dropped.
                while let Some(command) = inbox.recv().await {
                    if matches!(command, ConnCommand::Drop) {
                        return;
                    }
                }
                return;
            }
        };
        for text in out {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
    }
}

/// The fc code of the scripted failure, for assertions.
pub const FAIL_CODE: i64 = fc::code::ASSERT;
