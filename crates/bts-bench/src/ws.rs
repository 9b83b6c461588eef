//! WebSocket load: request/response throughput over long-lived sessions, and many idle sessions
//! held open to weigh a proxy's memory per connection.

use crate::dial::{Dialer, Stream};
use crate::http::run_workers;
use crate::load::{LOGIN, Window, call_body, is_result, next_call};
use crate::stats::Tally;
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

/// A client session.
pub(crate) type Session = WebSocketStream<Stream>;

/// Loopback source addresses the idle sessions are spread over: each proxied session takes a
/// client port towards the proxy, and one source address has only ~28,000 ephemeral ports.
const SOURCES: u8 = 8;

/// Opens a session through `dialer`.
pub(crate) async fn open(dialer: &Dialer) -> anyhow::Result<Session> {
    handshake(dialer.connect().await?, dialer.ws_url()).await
}

/// Opens a plain session to `addr` from `source` (any 127.x address works on Linux).
async fn open_from(addr: SocketAddr, source: IpAddr) -> anyhow::Result<Session> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream: TcpStream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    handshake(Stream::Plain(stream), Dialer::plain(addr).ws_url()).await
}

/// The WebSocket handshake. Small buffers: 10,000 sessions must weigh little in the bench itself.
async fn handshake(stream: Stream, url: String) -> anyhow::Result<Session> {
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (session, _) = client_async_with_config(url, stream, Some(config)).await?;
    Ok(session)
}

/// Sends `text` and waits for the next text answer; `Ok(true)` if it carries a result.
async fn call(session: &mut Session, text: String) -> anyhow::Result<bool> {
    session.send(Message::text(text)).await?;
    while let Some(message) = session.next().await {
        match message? {
            Message::Text(answer) => return Ok(is_result(answer.as_bytes())),
            Message::Close(_) => anyhow::bail!("closed by the server"),
            _ => {}
        }
    }
    anyhow::bail!("closed by the server")
}

/// Whether `addr` accepts a WebSocket and answers `login`.
pub(crate) async fn probe(dialer: &Dialer) -> bool {
    let attempt = async { call(&mut open(dialer).await.ok()?, LOGIN.to_owned()).await.ok() };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}

/// Request/response throughput: `connections` sessions, each sending its next call when the
/// last is answered, over `window`.
pub(crate) async fn throughput(dialer: Dialer, connections: usize, window: Window) -> anyhow::Result<Tally> {
    run_workers(connections, |_| worker(dialer.clone(), window)).await
}

async fn worker(dialer: Dialer, window: Window) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < window.end {
        let mut session = match open(&dialer).await {
            Ok(s) => s,
            Err(_) => {
                if Instant::now() >= window.start {
                    tally.errors += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        loop {
            let started = Instant::now();
            if started >= window.end {
                break;
            }
            let result = call(&mut session, call_body(next_call())).await;
            let done = Instant::now();
            let counted = window.counts(started, done);
            match result {
                Ok(ok) if counted => tally.record(ok, done - started),
                Ok(_) => {}
                Err(_) => {
                    if counted {
                        tally.errors += 1;
                    }
                    break;
                }
            }
        }
    }
    tally
}

/// Sessions opened and held by [`hold_idle`], and how many could not be.
pub(crate) struct Idle {
    /// The open sessions, each logged in and then silent.
    pub(crate) sessions: Vec<Session>,
    /// Sessions that failed to open or to log in.
    pub(crate) failed: usize,
}

/// Opens `count` sessions to `addr` (at most 200 being set up at once, so no listen backlog
/// overflows), each logging in and waiting for the answer, then left idle.
pub(crate) async fn hold_idle(addr: SocketAddr, count: usize) -> Idle {
    let opened = futures_util::stream::iter(0..count)
        .map(|i| async move {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % usize::from(SOURCES)) as u8));
            let attempt = async {
                let mut session = open_from(addr, source).await.ok()?;
                call(&mut session, LOGIN.to_owned()).await.ok()?.then_some(session)
            };
            tokio::time::timeout(Duration::from_secs(30), attempt)
                .await
                .ok()
                .flatten()
        })
        .buffer_unordered(200)
        .collect::<Vec<_>>()
        .await;
    let sessions: Vec<Session> = opened.into_iter().flatten().collect();
    Idle {
        failed: count - sessions.len(),
        sessions,
    }
}
