//! HTTP/1.1 POSTs to witness_node and the servers in front of it: the connection policy that
//! every HTTP client of ours shares ([`crate::HttpClient`], the gateway's upstream).
//!
//! witness_node answers an HTTP POST with `HTTP/1.1 200` and no `Connection: close` header, then
//! closes the connection. A client that keeps the connection for its next request (HTTP/1.1's
//! default) writes into a socket the node is closing and loses the request; when that happens
//! before any answer byte, a client cannot tell whether the node read it. So:
//! - by default each POST gets a new connection and says `Connection: close` (as HAProxy's
//!   `http-server-close` does): nothing is ever sent on a connection the node may be closing,
//!   and the node, closing first, keeps the connection's TIME_WAIT on its side;
//! - with `keep_alive` (a server known to keep connections open: the gateway, a proxy, a devnet
//!   node started for benchmarks) connections are pooled, and a POST lost on a kept connection
//!   before its answer began is sent once more on a new connection when it is idempotent.
//!
//! The connections are hyper's HTTP/1.1 client connections, driven inside the task that sends
//! the POST, and pooled here per server. hyper-util's pooled client, which this replaces, hands
//! each request over a channel to a task of its own per connection, often on the other core, and
//! spawns one more task per request to put the connection back: in the gateway's benchmark that
//! was a tenth of its CPU per relayed call, in wake-ups and cross-core traffic.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How long a kept connection may stay idle in the pool: less than the servers' own idle limits
/// (the gateway closes idle connections after its 5 s header read timeout), so that a kept
/// connection is rarely reused just as its server closes it.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// One POST.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    /// Where: an `http://` URI.
    pub uri: &'a Uri,
    /// The JSON body.
    pub body: Bytes,
    /// One more header to send (the gateway's `X-Forwarded-For`).
    pub header: Option<(&'a HeaderName, &'a HeaderValue)>,
    /// Whether the server keeps connections open between requests, so they may be reused.
    pub keep_alive: bool,
    /// Whether the request may be sent twice ([`crate::is_idempotent`]).
    pub idempotent: bool,
    /// The largest answer read.
    pub max_answer_bytes: usize,
}

/// Why a POST got no (whole) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// No connection could be made: the request was not sent.
    Connect(String),
    /// The connection ended before an answer began: the server may or may not have the request.
    BeforeAnswer(String),
    /// The answer broke off.
    InAnswer(String),
    /// The answer is larger than [`Post::max_answer_bytes`].
    TooLarge(usize),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Connect(e) => write!(f, "cannot connect: {e}"),
            PostError::BeforeAnswer(e) => write!(f, "connection lost before the answer: {e}"),
            PostError::InAnswer(e) => write!(f, "connection lost during the answer: {e}"),
            PostError::TooLarge(max) => write!(f, "answer larger than {max} bytes"),
        }
    }
}

/// The connections: a pool for servers that keep them, and none for those that do not.
#[derive(Debug, Clone)]
pub struct Transport {
    pool: Arc<Pool>,
    connect_timeout: Duration,
}

/// A connection with its sending half.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    connection: Connection<TokioIo<TcpStream>, Full<Bytes>>,
}

/// Idle kept connections per server (`host:port`), the newest last; on a single-threaded
/// runtime, per thread (see [`Pool::shard`]).
#[derive(Default)]
struct Pool {
    idle: Mutex<HashMap<Option<ThreadId>, Shard>>,
    max_idle_per_host: usize,
}

/// One shard's idle connections by server, each with the time it went idle.
type Shard = HashMap<String, Vec<(Conn, Instant)>>;

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_idle_per_host", &self.max_idle_per_host)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Which idle connections the caller may use. A connection's readiness is reported on the
    /// thread of the runtime it was opened on; the gateway serves on one single-threaded runtime
    /// per core, and a connection used from another of them would have each of its wake-ups
    /// cross cores. So single-threaded runtimes keep their own idle connections; work-stealing
    /// runtimes share theirs.
    fn shard() -> Option<ThreadId> {
        let current_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
        current_thread.then(|| std::thread::current().id())
    }

    /// The newest idle connection to `host` that is still usable, if any.
    fn take(&self, host: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(&Pool::shard())?.get_mut(host)?;
        while let Some((mut conn, since)) = list.pop() {
            if since.elapsed() < POOL_IDLE && conn.usable() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for the next POST to `host`, dropping connections idle too long.
    fn put(&self, host: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let shard = idle.entry(Pool::shard()).or_default();
        let list = match shard.get_mut(host) {
            Some(list) => list,
            None => shard.entry(host.to_owned()).or_default(),
        };
        // Oldest first (each goes in at the end, stamped under the lock, and `take` pops the
        // end): the connections idle too long are a prefix, found without a clock read each.
        let now = Instant::now();
        let stale = list.partition_point(|(_, since)| now.duration_since(*since) >= POOL_IDLE);
        list.drain(..stale);
        if list.len() < self.max_idle_per_host {
            list.push((conn, now));
        }
    }
}

impl Conn {
    /// Whether the connection can take a request now: its server has not closed it (a close
    /// seen while it was idle ends the connection when polled) and it is waiting for one.
    fn usable(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if Pin::new(&mut self.connection).poll(&mut cx).is_ready() {
            return false;
        }
        self.sender.is_ready()
    }
}

impl Transport {
    /// Clients whose connects give up after `connect_timeout`, keeping at most
    /// `max_idle_per_host` idle connections per server for `keep_alive` POSTs.
    pub fn new(connect_timeout: Duration, max_idle_per_host: usize) -> Transport {
        Transport {
            pool: Arc::new(Pool {
                idle: Mutex::default(),
                max_idle_per_host,
            }),
            connect_timeout,
        }
    }

    /// Sends the POST and reads the whole answer. Give it a timeout around it.
    pub async fn post(&self, post: Post<'_>) -> Result<(StatusCode, Bytes), PostError> {
        if !post.keep_alive {
            return self.send(&post, false).await;
        }
        match self.send(&post, true).await {
            // The server may have closed the kept connection while it was idle.
            Err(PostError::BeforeAnswer(e)) if post.idempotent => {
                tracing::debug!(target: "bts_rpc::transport", uri = %post.uri, error = %e, "connection lost before the answer; again on a new one");
                match self.send(&post, false).await {
                    // The first attempt may have arrived: the failure must not say "not sent".
                    Err(PostError::Connect(_)) => Err(PostError::BeforeAnswer(e)),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// One POST: on a kept connection when `pooled` (one from the pool, or a new one kept
    /// afterwards), else on a new connection that asks the server to close it after the answer.
    async fn send(&self, post: &Post<'_>, pooled: bool) -> Result<(StatusCode, Bytes), PostError> {
        let host = post
            .uri
            .authority()
            .ok_or_else(|| PostError::Connect(format!("{} has no host", post.uri)))?
            .as_str();
        let reused = if pooled { self.pool.take(host) } else { None };
        let mut conn = match reused {
            Some(conn) => conn,
            None => self.dial(post.uri).await?,
        };
        let path = post.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = hyper::Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, host)
            .header(CONTENT_TYPE, "application/json");
        if !pooled {
            request = request.header(CONNECTION, "close");
        }
        if let Some((name, value)) = post.header {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(post.body.clone()))
            .map_err(|e| PostError::Connect(e.to_string()))?;
        let exchange = exchange(&mut conn.sender, request, post.max_answer_bytes);
        let answer = drive(exchange, &mut conn.connection).await?;
        if pooled && conn.usable() {
            self.pool.put(host, conn);
        }
        Ok(answer)
    }

    /// A new connection to the URI's server (TCP_NODELAY), within the connect timeout.
    async fn dial(&self, uri: &Uri) -> Result<Conn, PostError> {
        let connect = async {
            let host = uri.host().ok_or_else(|| format!("{uri} has no host"))?;
            let port = uri.port_u16().unwrap_or(80);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => tokio::net::lookup_host((host, port))
                    .await
                    .map_err(|e| format!("cannot resolve {host}: {e}"))?
                    .collect(),
            };
            let mut last = format!("{host} resolves to no address");
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(e) => last = format!("{addr}: {e}"),
                }
            }
            Err(last)
        };
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(PostError::Connect(e)),
            Err(_) => return Err(PostError::Connect(format!("{uri}: connect timed out"))),
        };
        stream
            .set_nodelay(true)
            .map_err(|e| PostError::Connect(e.to_string()))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| PostError::Connect(chain(&e)))?;
        Ok(Conn { sender, connection })
    }
}

/// Sends `request` and reads the whole answer, up to `max` bytes. Needs its connection driven.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
    max: usize,
) -> Result<(StatusCode, Bytes), PostError> {
    poll_fn(|cx| sender.poll_ready(cx))
        .await
        .map_err(|e| PostError::BeforeAnswer(chain(&e)))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| PostError::BeforeAnswer(chain(&e)))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), max)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                PostError::TooLarge(max)
            } else {
                PostError::InAnswer(e.to_string())
            }
        })?
        .to_bytes();
    Ok((status, body))
}

/// Runs `exchange` while driving its connection in the same task, until the exchange ends.
/// When the connection ends first (closed, broken), the exchange ends too: hyper fails what
/// was waiting on it.
async fn drive<F, T>(exchange: F, connection: &mut Connection<TokioIo<TcpStream>, Full<Bytes>>) -> T
where
    F: Future<Output = T>,
{
    let mut exchange = pin!(exchange);
    let mut connection_done = false;
    poll_fn(|cx| {
        if let Poll::Ready(out) = exchange.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if !connection_done && Pin::new(&mut *connection).poll(cx).is_ready() {
            connection_done = true;
            // The connection's end woke what waited on it: look again at once.
            return exchange.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
}

/// An error with its sources: hyper's own message is just "client error (Connect)".
pub(crate) fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
