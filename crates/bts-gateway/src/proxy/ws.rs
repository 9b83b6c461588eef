//! WebSocket sessions: each client session is pinned to one node; when that node dies or falls
//! out of health, the session moves to another healthy node and the client does not notice.
//!
//! The move: pick another node, connect, replay the session's recipe (login, API ids, callbacks
//! under the client's own callback numbers, market subscriptions, subscribing fetches), then send
//! again every request that was in flight, with the client's numeric API ids translated to the new
//! node's. Answers go back under the client's request ids (the gateway numbers upstream requests
//! itself), notices under the client's callback numbers. If no node can be reached within the
//! failover deadline, the in-flight requests get an error and the connection is closed with code
//! 1013 (try again later), so the client reconnects.
//!
//! The upstream connection is opened on the client's first request: a connected but silent
//! client costs the nodes nothing.

use super::DataPlane;
use super::blocks::{BlockNotices, Step};
use super::recipe::{Effect, Recipe};
use super::upstream::{self, NodeSink, NodeStream};
use super::watched::Watched;
use crate::cache::{self, Key};
use crate::error::ProxyError;
use crate::limits::Slot;
use crate::metrics::{self, CacheResult, Limit, Outcome};
use crate::pool::{Backend, BackendId, Network};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bts_rpc::{ApiRef, Id, Incoming, Request, Response};
use futures_util::SinkExt;
use futures_util::stream::{SplitSink, StreamExt};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as NodeMessage;
use tracing::{debug, info, warn};

/// How long a session may look for a new node before it gives up and closes.
const FAILOVER_DEADLINE: Duration = Duration::from_secs(15);
/// How long dialing one node may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a connection refused for an oversized message is held open after the close frame.
const LINGER: Duration = Duration::from_secs(1);
/// A client that does not take a message for this long is dropped.
const CLIENT_SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// What a session needs from the connection that opened it.
pub struct SessionCtx {
    /// The shared data plane.
    pub dp: Arc<DataPlane>,
    /// The network the host and path routed to.
    pub network: Arc<Network>,
    /// The client's address.
    pub client_ip: IpAddr,
    /// Forwarding header value for nodes.
    pub forwarded_for: String,
    /// The connection's place in the limits (freed when the session ends).
    pub slot: Slot,
    /// Turns true when the gateway shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// A request the gateway sent upstream and has not seen answered.
enum Pending {
    /// A client's request.
    Client(Box<ClientRequest>),
    /// A replayed recipe call; for API ids, the name whose id the answer holds; `watch` for a
    /// subscribing fetch (its answer shows what changed during the move).
    Replay { api_name: Option<String>, watch: bool },
    /// The headers of blocks applied while the session moved (see `blocks.rs`).
    Fill,
}

/// A client's request in flight: enough to answer it under the client's id, and to send it
/// again on another node.
struct ClientRequest {
    id: Id,
    jsonrpc: Option<String>,
    api: ApiRef,
    method: String,
    args: Box<RawValue>,
    effect: Option<Effect>,
    cache_key: Option<Key>,
    sent: Instant,
    resent: bool,
}

/// The current upstream connection.
struct Link {
    backend: Arc<Backend>,
    sink: NodeSink,
    stream: NodeStream,
    eligible: watch::Receiver<bool>,
}

enum Event {
    Client(String),
    ClientGone,
    /// The client's message is over `max-message-bytes`.
    ClientTooLarge,
    Upstream(String),
    UpstreamLost(&'static str),
    Nothing,
    Shutdown,
}

struct Session {
    ctx: SessionCtx,
    recipe: Recipe,
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    link: Option<Link>,
    blocks: BlockNotices,
    watched: Watched,
}

type ClientSink = SplitSink<WebSocket, Message>;

/// Runs a client session until either side closes or the gateway shuts down.
pub async fn run(socket: WebSocket, ctx: SessionCtx) {
    metrics::ws_session_opened(ctx.network.name());
    let network = ctx.network.clone();
    let (mut client_tx, mut client_rx) = socket.split();
    let mut shutdown = ctx.shutdown.clone();
    let stopped = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    let mut s = Session {
        ctx,
        recipe: Recipe::default(),
        pending: BTreeMap::new(),
        next_id: 1,
        link: None,
        blocks: BlockNotices::default(),
        watched: Watched::default(),
    };
    loop {
        let event = tokio::select! {
            m = client_rx.next() => match m {
                Some(Ok(Message::Text(t))) => Event::Client(t.to_string()),
                // witness_node answers a binary frame like a text one (in a text frame).
                Some(Ok(Message::Binary(b))) => Event::Client(String::from_utf8_lossy(&b).into_owned()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Event::Nothing,
                Some(Err(e)) if is_too_large(&e) => Event::ClientTooLarge,
                Some(Ok(Message::Close(_)) | Err(_)) | None => Event::ClientGone,
            },
            e = upstream_event(&mut s.link) => e,
            () = &mut stopped => Event::Shutdown,
        };
        // The handlers' futures are boxed: held inline, the largest (a connect, a failover with
        // its replays) would size every idle session's task by itself.
        let out = match event {
            Event::Client(text) => Box::pin(s.on_client_message(&text)).await,
            Event::Upstream(text) => Box::pin(s.on_node_message(&text)).await,
            Event::UpstreamLost(reason) => match Box::pin(s.failover(reason)).await {
                Ok(()) => Vec::new(),
                Err(e) => {
                    let goodbye = s.fail_pending(&e);
                    let _ = send_all(&mut client_tx, goodbye).await;
                    close(&mut client_tx, 1013, "no healthy node available; reconnect later").await;
                    break;
                }
            },
            Event::Nothing => continue,
            Event::ClientGone => break,
            Event::ClientTooLarge => {
                let max = s.ctx.dp.settings.max_message_bytes;
                metrics::limited(Limit::MessageSize);
                let refusal = ProxyError::TooLarge(max).response(None).to_json();
                let _ = send_all(&mut client_tx, vec![refusal]).await;
                close(&mut client_tx, 1009, "message too large").await;
                // The rest of the message may still be coming, and the stream cannot be read after
                // its error: closing at once with bytes unread would reset the connection and
                // could discard the close frame on its way. Hold the socket a moment first.
                tokio::time::sleep(LINGER).await;
                break;
            }
            Event::Shutdown => {
                close(&mut client_tx, 1001, "gateway shutting down").await;
                break;
            }
        };
        if send_all(&mut client_tx, out).await.is_err() {
            break;
        }
    }
    if let Some(mut link) = s.link.take() {
        let _ = link.sink.close().await;
    }
    metrics::ws_session_closed(network.name());
}

/// Whether a read failed because the message or a frame is over the size limit.
fn is_too_large(e: &axum::Error) -> bool {
    use std::error::Error as _;
    use tokio_tungstenite::tungstenite::Error;
    e.source()
        .and_then(|e| e.downcast_ref::<Error>())
        .is_some_and(|e| matches!(e, Error::Capacity(_)))
}

/// The next thing the upstream side has for us; never completes without a link.
async fn upstream_event(link: &mut Option<Link>) -> Event {
    let Some(link) = link else {
        return std::future::pending().await;
    };
    tokio::select! {
        m = link.stream.next() => match m {
            Some(Ok(NodeMessage::Text(t))) => Event::Upstream(t.to_string()),
            Some(Ok(NodeMessage::Close(_)) | Err(_)) | None => Event::UpstreamLost("connection lost"),
            Some(Ok(_)) => Event::Nothing,
        },
        () = out_of_health(&mut link.eligible) => Event::UpstreamLost("node out of health"),
    }
}

/// Completes when the backend is no longer eligible (or was removed by a reload).
async fn out_of_health(eligible: &mut watch::Receiver<bool>) {
    let _ = eligible.wait_for(|ok| !*ok).await;
}

async fn send_all(client: &mut ClientSink, out: Vec<String>) -> Result<(), ()> {
    for text in out {
        match tokio::time::timeout(CLIENT_SEND_TIMEOUT, client.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => {}
            _ => return Err(()),
        }
    }
    Ok(())
}

async fn close(client: &mut ClientSink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), client.send(Message::Close(Some(frame)))).await;
}

impl Session {
    /// A message from the client: answered here (errors, cache) or sent to the node.
    async fn on_client_message(&mut self, text: &str) -> Vec<String> {
        let request = match Request::parse(text) {
            Ok(r) => r,
            Err(e) => return vec![Response::unreadable(e).to_json()],
        };
        let dp = &self.ctx.dp;
        let network = &self.ctx.network;
        if !dp.rate.allow(self.ctx.client_ip) {
            metrics::limited(Limit::Rate);
            return vec![
                ProxyError::RateLimited(dp.rate.per_second())
                    .response(Some(&request))
                    .to_json(),
            ];
        }
        let call = match request.target() {
            Ok(c) => c,
            Err(e) => return vec![Response::err(&request, e).to_json()],
        };
        if network.deny_methods().contains(&call.method) {
            let e = ProxyError::Denied {
                method: call.method.clone(),
                network: network.name().to_owned(),
            };
            return vec![e.response(Some(&request)).to_json()];
        }
        let api = self.recipe.api_name(&call.api).unwrap_or_else(|| call.api.to_string());
        let mut cache_key = None;
        if cache::is_immutable(&api, &call.method, &call.args, network.last_irreversible_block()) {
            let key = Key::new(network.name(), &api, &call.method, &call.args);
            if let Some(hit) = dp.cache.get(&key) {
                metrics::cache(network.name(), CacheResult::Hit);
                network.metrics().request(&call.method, Outcome::Cached, 0.0);
                return vec![Response::ok(&request, &*hit).to_json()];
            }
            metrics::cache(network.name(), CacheResult::Miss);
            cache_key = Some(key);
        }
        let n = self.next_id();
        let effect = self.recipe.effect_of(&call);
        self.pending.insert(
            n,
            Pending::Client(Box::new(ClientRequest {
                id: request.id.clone(),
                jsonrpc: request.jsonrpc.clone(),
                api: call.api,
                method: call.method,
                args: call.args,
                effect,
                cache_key,
                sent: Instant::now(),
                resent: false,
            })),
        );
        if self.link.is_none() {
            // The first request opens the upstream connection; `connect` sends what is pending.
            if let Err(e) = self.connect(Vec::new(), false).await {
                self.pending.remove(&n);
                return vec![e.response(Some(&request)).to_json()];
            }
            return Vec::new();
        }
        if self.send_pending(n).await.is_err() {
            return match self.failover("send failed").await {
                Ok(()) => Vec::new(),
                Err(e) => self.fail_pending(&e),
            };
        }
        Vec::new()
    }

    /// A message from the node: an answer (back under the client's id) or a notice (as is, but
    /// block-applied notices are kept complete and unrepeated across moves).
    async fn on_node_message(&mut self, text: &str) -> Vec<String> {
        let response = match Incoming::parse(text) {
            Ok(Incoming::Notice(n)) => {
                if self.recipe.subscribe_callback().as_ref() == Some(&n.callback) {
                    self.watched.saw(&n.args);
                }
                if self.recipe.block_applied_callback().as_ref() != Some(&n.callback) {
                    return vec![text.to_owned()];
                }
                return match self.blocks.on_notice(&n.args, text) {
                    Step::Send(out) => out,
                    Step::Fetch(numbers) => self.fetch_headers(&n.callback, numbers).await,
                };
            }
            Ok(Incoming::Response(r)) => r,
            Err(e) => {
                debug!(target: "bts_gateway::ws", error = %e, "unreadable message from a node");
                return Vec::new();
            }
        };
        let Some(n) = response.id.as_u64() else {
            return Vec::new();
        };
        match self.pending.remove(&n) {
            Some(Pending::Client(request)) => {
                let ClientRequest {
                    id,
                    jsonrpc,
                    method,
                    effect,
                    cache_key,
                    sent,
                    resent,
                    ..
                } = *request;
                let elapsed = sent.elapsed();
                let backend = self.link.as_ref().map(|l| l.backend.clone());
                let mut outcome = response.outcome;
                if let Some(b) = &backend {
                    b.observe(elapsed, true);
                    let label = if outcome.is_ok() {
                        Outcome::Ok
                    } else {
                        Outcome::NodeError
                    };
                    b.metrics().request(&method, label, elapsed.as_secs_f64());
                }
                if let Ok(result) = &outcome {
                    if let Some(effect) = effect {
                        match &effect {
                            Effect::Watch(..) => self.watched.saw(result),
                            Effect::Cancel => self.watched.clear(),
                            Effect::Callback(m, _) if m == "set_subscribe_callback" => self.watched.clear(),
                            _ => {}
                        }
                        self.recipe.apply(effect, result);
                    }
                    if let Some(key) = cache_key {
                        self.ctx.dp.cache.put(key, Arc::from(result.clone()));
                    }
                }
                if resent && method == "broadcast_transaction" && is_duplicate(&outcome) {
                    // The first node took it before it died: that is the success the client asked for.
                    outcome = Ok(bts_rpc::message::to_raw(&serde_json::Value::Null));
                }
                vec![Response { id, jsonrpc, outcome }.to_json()]
            }
            Some(Pending::Fill) => {
                let callback = self.recipe.block_applied_callback().unwrap_or_default();
                self.blocks
                    .on_headers(&callback, response.outcome.as_ref().ok().map(|r| &**r))
            }
            Some(Pending::Replay { api_name, watch }) => {
                match (&response.outcome, api_name) {
                    (Ok(result), _) if watch => {
                        // What changed while the session moved, as the node would have notified it.
                        let changed = self.watched.changed(result);
                        if let (false, Some(cb)) = (changed.is_empty(), self.recipe.subscribe_callback()) {
                            let args = [serde_json::Value::Array(changed)];
                            return vec![bts_rpc::Notice::new(cb, &args).to_json()];
                        }
                    }
                    (Ok(result), Some(name)) => self.recipe.replayed_api_id(&name, result),
                    (Err(e), _) => {
                        warn!(target: "bts_gateway::ws", error = %e, "a replayed call failed on the new node")
                    }
                    _ => {}
                }
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Asks the node for the headers a fill needs; if that cannot be sent, releases what the
    /// fill held.
    async fn fetch_headers(&mut self, callback: &serde_json::Value, numbers: Vec<u32>) -> Vec<String> {
        let n = self.next_id();
        let args = bts_rpc::message::to_raw(&[numbers]);
        let request = Request::call(n, bts_rpc::api::database(), "get_block_header_batch", &args);
        let text = serde_json::to_string(&request).expect("a request serializes");
        let sent = match self.link.as_mut() {
            Some(link) => link.sink.send(NodeMessage::Text(text.into())).await.is_ok(),
            None => false,
        };
        if sent {
            self.pending.insert(n, Pending::Fill);
            Vec::new()
        } else {
            self.blocks.on_headers(callback, None)
        }
    }

    fn next_id(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n
    }

    /// Sends pending request `n` on the current link, its API translated for that node.
    async fn send_pending(&mut self, n: u64) -> Result<(), ()> {
        let Some(Pending::Client(request)) = self.pending.get(&n) else {
            return Ok(());
        };
        let upstream = Request::call(n, self.recipe.translate(&request.api), &request.method, &request.args);
        let text = serde_json::to_string(&upstream).expect("a request serializes");
        let link = self.link.as_mut().ok_or(())?;
        link.sink.send(NodeMessage::Text(text.into())).await.map_err(|_| ())
    }

    /// Moves the session to another node.
    async fn failover(&mut self, reason: &'static str) -> Result<(), ProxyError> {
        let old = self.link.take();
        let avoid: Vec<BackendId> = old.iter().map(|l| l.backend.id()).collect();
        if let Some(l) = &old {
            info!(target: "bts_gateway::ws", network = self.ctx.network.name(), from = l.backend.ws_url(), reason, "moving session");
        }
        drop(old);
        // Replayed calls died with the old connection; client requests are sent again.
        self.pending.retain(|_, p| matches!(p, Pending::Client(_)));
        for p in self.pending.values_mut() {
            if let Pending::Client(request) = p {
                request.resent = true;
            }
        }
        self.blocks.moved();
        let result = self.connect(avoid, true).await;
        metrics::ws_failover(self.ctx.network.name(), result.is_ok());
        result
    }

    /// Connects to a healthy node (not one in `avoid` while others exist), replays the recipe and
    /// sends every pending request. Keeps trying until the failover deadline.
    async fn connect(&mut self, avoid: Vec<BackendId>, failing_over: bool) -> Result<(), ProxyError> {
        let deadline = Instant::now()
            + if failing_over {
                FAILOVER_DEADLINE
            } else {
                DIAL_TIMEOUT * 2
            };
        let mut tried = avoid.clone();
        loop {
            // A reload replaces networks: look ours up again, so new backends count and removed
            // ones do not.
            match self.ctx.dp.gateway.network(self.ctx.network.name()) {
                Some(current) => self.ctx.network = current,
                None => {
                    return Err(ProxyError::NoRoute(format!(
                        "network {} (removed by a reload)",
                        self.ctx.network.name()
                    )));
                }
            }
            let picked = self.ctx.network.pick(self.ctx.client_ip, &tried);
            let Some(backend) = picked else {
                if Instant::now() >= deadline {
                    return Err(ProxyError::NoBackend {
                        network: self.ctx.network.name().to_owned(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                tried.clone_from(&avoid);
                continue;
            };
            tried.push(backend.id());
            let header = (&self.ctx.dp.settings.forward_header, self.ctx.forwarded_for.as_str());
            match upstream::dial(backend.ws_url(), header, DIAL_TIMEOUT).await {
                Ok(socket) => {
                    let (sink, stream) = socket.split();
                    let eligible = backend.eligible();
                    self.link = Some(Link {
                        backend,
                        sink,
                        stream,
                        eligible,
                    });
                    if self.bring_up().await.is_ok() {
                        return Ok(());
                    }
                    self.link = None;
                }
                Err(e) => {
                    debug!(target: "bts_gateway::ws", node = backend.ws_url(), error = e.describe(), "dial failed");
                    backend.observe(DIAL_TIMEOUT, false);
                }
            }
        }
    }

    /// On a fresh link: the recipe, then the pending client requests in their original order.
    async fn bring_up(&mut self) -> Result<(), ()> {
        self.recipe.new_upstream();
        for replay in self.recipe.replay() {
            let n = self.next_id();
            let text = serde_json::to_string(&Request::call(n, replay.api, &replay.method, &replay.args))
                .expect("a request serializes");
            let watch = Recipe::is_watching(&replay.method);
            self.pending.insert(
                n,
                Pending::Replay {
                    api_name: replay.api_name,
                    watch,
                },
            );
            let link = self.link.as_mut().ok_or(())?;
            link.sink.send(NodeMessage::Text(text.into())).await.map_err(|_| ())?;
        }
        let clients: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Client(_)))
            .map(|(n, _)| *n)
            .collect();
        for n in clients {
            self.send_pending(n).await?;
        }
        Ok(())
    }

    /// Error answers for every client request still waiting, when the session gives up. A
    /// waiting broadcast may have reached the lost node, so its error never says it is safe to
    /// repeat, whatever `e` says of the session.
    fn fail_pending(&mut self, e: &ProxyError) -> Vec<String> {
        std::mem::take(&mut self.pending)
            .into_values()
            .filter_map(|p| match p {
                Pending::Client(request) => {
                    let mut error = e.to_error_object();
                    if let Some(data) = error.data.as_mut()
                        && !bts_rpc::is_idempotent(&request.method)
                    {
                        data["retry_safe"] = serde_json::Value::Bool(false);
                    }
                    Some(
                        Response {
                            id: request.id,
                            jsonrpc: request.jsonrpc,
                            outcome: Err(error),
                        }
                        .to_json(),
                    )
                }
                Pending::Replay { .. } | Pending::Fill => None,
            })
            .collect()
    }
}

fn is_duplicate(outcome: &Result<Box<RawValue>, bts_rpc::ErrorObject>) -> bool {
    matches!(outcome, Err(e) if e.code == bts_rpc::fc::code::DUPLICATE_TRANSACTION
        || e.message.contains("duplicate transaction"))
}
