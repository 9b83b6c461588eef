//! A WebSocket client for witness_node: one persistent connection shared by many concurrent calls,
//! callback streams, and reconnection with subscription replay.
//!
//! A background task owns the socket (module `task`). Calls reach it over a channel, get a fresh
//! request id, and wait on a oneshot for the answer with that id, so answers may come in any order.
//! Notices (`{"method":"notice","params":[CB,[...]]}`) go to the subscriber of callback `CB`.
//!
//! When the socket drops, calls in flight fail with [`RpcError::Disconnected`] (the node may or may
//! not have run them); the task reconnects with backoff, sends the subscription calls again with
//! their callback numbers, and then the calls that arrived meanwhile. A call waits for the
//! reconnection at most its timeout. APIs are always named (`"database"`), never numbered, because
//! numeric API ids are per connection and change on reconnect.

mod routes;
mod subscription;
mod task;

pub use subscription::{BlockApplied, Subscription};

use crate::api::{Api, RpcClient, decode, encode_args};
use crate::error::RpcError;
use crate::message::ApiRef;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How a [`WsClient`] connects, waits and reconnects.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// How long a call waits for its answer, including any wait for a reconnection.
    pub call_timeout: Duration,
    /// How long one connection attempt (TCP and WebSocket handshake) may take.
    pub connect_timeout: Duration,
    /// Delays between reconnection attempts.
    pub backoff: Backoff,
    /// Send a WebSocket ping this often, and drop a connection that delivered no frame at all for
    /// two intervals (a half-open TCP connection otherwise looks alive forever). `None`: never.
    pub ping_interval: Option<Duration>,
    /// Notices buffered per subscription; when a subscriber falls this far behind, newer notices
    /// for it are dropped (and logged) so that one slow reader cannot stall the connection.
    pub notice_buffer: usize,
}

impl Default for WsOptions {
    fn default() -> Self {
        WsOptions {
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
            ping_interval: Some(Duration::from_secs(20)),
            notice_buffer: 1024,
        }
    }
}

/// Exponential backoff between reconnection attempts: the first attempt is immediate, then
/// `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the second attempt.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The delay before attempt number `attempt` (0 is the first attempt after a loss).
    pub fn delay(&self, attempt: u32) -> Duration {
        match attempt {
            0 => Duration::ZERO,
            n => self.initial.saturating_mul(1u32 << (n - 1).min(20)).min(self.max),
        }
    }
}

/// The state of a client's connection, as its background task sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionStatus {
    /// Whether a connection is open now.
    pub connected: bool,
    /// Connections made so far: 1 after [`WsClient::connect`], one more per reconnection.
    pub connections: u64,
    /// Whether the client is closed for good.
    pub closed: bool,
}

/// The answer channel of one call.
type Reply = oneshot::Sender<Result<Box<RawValue>, RpcError>>;

/// What a [`WsClient`] asks its background task to do.
#[derive(Debug)]
enum Command {
    /// Send a call and answer `reply`.
    Call {
        api: ApiRef,
        method: String,
        args: Box<RawValue>,
        reply: Reply,
    },
    /// Register `notices` for `callback`, then send the call (and send it again after every
    /// reconnection while the subscriber lives).
    Subscribe {
        api: ApiRef,
        method: String,
        args: Box<RawValue>,
        callback: u64,
        notices: mpsc::Sender<Box<RawValue>>,
        reply: Reply,
    },
    /// Close the connection and end the task; `done` is answered when it has.
    Close { done: oneshot::Sender<()> },
}

impl Command {
    /// Whether the caller stopped waiting (timed out or was cancelled): then the command is not
    /// worth sending.
    fn abandoned(&self) -> bool {
        match self {
            Command::Call { reply, .. } | Command::Subscribe { reply, .. } => reply.is_closed(),
            Command::Close { .. } => false,
        }
    }
}

/// A JSON-RPC client over one persistent WebSocket to a node, shared by concurrent callers.
///
/// Cloning is cheap and shares the connection. The connection ends when the last clone is
/// dropped or on [`WsClient::close`].
#[derive(Debug, Clone)]
pub struct WsClient {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    call_timeout: Duration,
}

#[derive(Debug)]
struct Shared {
    url: String,
    notice_buffer: usize,
    next_callback: AtomicU64,
    status: watch::Receiver<ConnectionStatus>,
}

impl WsClient {
    /// Connects to `url` (`ws://host:port`; `wss://` needs a TLS-terminating proxy for now) and
    /// starts the background task; fails with [`RpcError::Connect`] when the first connection
    /// cannot be made. Must run inside a Tokio runtime.
    pub async fn connect(url: &str, options: WsOptions) -> Result<WsClient, RpcError> {
        let socket = task::open(url, options.connect_timeout).await?;
        let (commands, receiver) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(ConnectionStatus::default());
        let shared = Arc::new(Shared {
            url: url.to_owned(),
            notice_buffer: options.notice_buffer.max(1),
            next_callback: AtomicU64::new(1),
            status,
        });
        let call_timeout = options.call_timeout;
        tokio::spawn(task::run(url.to_owned(), options, receiver, status_tx, socket));
        Ok(WsClient {
            commands,
            shared,
            call_timeout,
        })
    }

    /// A handle on the same connection whose calls wait up to `timeout`, e.g. for
    /// `broadcast_transaction_synchronous`, which answers only once the transaction is in a block.
    pub fn with_call_timeout(&self, timeout: Duration) -> WsClient {
        WsClient {
            call_timeout: timeout,
            ..self.clone()
        }
    }

    /// Typed calls over this client.
    pub fn api(&self) -> Api<&WsClient> {
        Api::new(self)
    }

    /// The connection's state, updated as it changes (`wait_for` on it to await a condition).
    pub fn status(&self) -> watch::Receiver<ConnectionStatus> {
        self.shared.status.clone()
    }

    /// The URL this client connects to.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// Calls `method` of `api` with positional `args` (a tuple or array) and returns the raw
    /// result. Errors: the node's error object ([`RpcError::Node`]), [`RpcError::Timeout`],
    /// [`RpcError::Disconnected`], [`RpcError::Closed`], [`RpcError::Encode`].
    pub async fn call(
        &self,
        api: ApiRef,
        method: &str,
        args: &(impl Serialize + ?Sized),
    ) -> Result<Box<RawValue>, RpcError> {
        let args = encode_args(args)?;
        self.call_raw(api, method, args).await
    }

    /// [`WsClient::call`], decoding the result as `T`; a result of another shape is
    /// [`RpcError::Decode`] naming the method.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        api: ApiRef,
        method: &str,
        args: &(impl Serialize + ?Sized),
    ) -> Result<T, RpcError> {
        let raw = self.call(api, method, args).await?;
        decode(method, &raw)
    }

    /// [`WsClient::call`] with arguments that are already JSON.
    pub async fn call_raw(&self, api: ApiRef, method: &str, args: Box<RawValue>) -> Result<Box<RawValue>, RpcError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Call {
            api,
            method: method.to_owned(),
            args,
            reply,
        })?;
        self.wait(answer).await
    }

    /// Subscribes to a callback stream: picks a fresh callback number, builds the arguments with
    /// it (`args(cb)`, e.g. `|cb| (cb,)` for `set_block_applied_callback`), sends the call and,
    /// once the node accepted it, returns the stream of that callback's notice arguments.
    ///
    /// After a reconnection the same call, with the same number, is sent again, so the stream
    /// keeps flowing; notices the node sent while the connection was down are lost. Dropping the
    /// [`Subscription`] stops the replay (the node keeps sending until the connection ends; those
    /// notices are discarded).
    pub async fn subscribe<A: Serialize>(
        &self,
        api: ApiRef,
        method: &str,
        args: impl FnOnce(u64) -> A,
    ) -> Result<Subscription, RpcError> {
        let callback = self.shared.next_callback.fetch_add(1, Ordering::Relaxed);
        let args = encode_args(&args(callback))?;
        let (notices, receiver) = mpsc::channel(self.shared.notice_buffer);
        let (reply, answer) = oneshot::channel();
        self.send(Command::Subscribe {
            api,
            method: method.to_owned(),
            args,
            callback,
            notices,
            reply,
        })?;
        self.wait(answer).await?;
        Ok(Subscription::new(callback, receiver))
    }

    /// `database.set_block_applied_callback(cb)`: the id of every block the node applies.
    pub async fn set_block_applied_callback(&self) -> Result<BlockApplied, RpcError> {
        let subscription = self
            .subscribe(crate::api::database(), "set_block_applied_callback", |cb| (cb,))
            .await?;
        Ok(BlockApplied::new(subscription))
    }

    /// Closes the connection and ends the background task; pending and later calls fail with
    /// [`RpcError::Closed`]. Returns when the task has ended.
    pub async fn close(&self) {
        let (done, ended) = oneshot::channel();
        if self.commands.send(Command::Close { done }).is_ok() {
            // An error means the task ended before answering: closed either way.
            let _ = ended.await;
        }
    }

    fn send(&self, command: Command) -> Result<(), RpcError> {
        self.commands.send(command).map_err(|_| RpcError::Closed)
    }

    async fn wait(
        &self,
        answer: oneshot::Receiver<Result<Box<RawValue>, RpcError>>,
    ) -> Result<Box<RawValue>, RpcError> {
        match tokio::time::timeout(self.call_timeout, answer).await {
            Err(_elapsed) => Err(RpcError::Timeout),
            // The task dropped the reply without answering: it has ended.
            Ok(Err(_dropped)) => Err(RpcError::Closed),
            Ok(Ok(outcome)) => outcome,
        }
    }
}

impl RpcClient for WsClient {
    fn call_raw(
        &self,
        api: ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send {
        WsClient::call_raw(self, api, method, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let delays: Vec<u128> = (0..7).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [0, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }
}
