//! HTTP JSON-RPC load: a closed loop (each keep-alive connection sends its next call when the
//! last is answered, for peak throughput) and an open loop (calls sent on a fixed schedule, for
//! latency at a chosen load), both on kept connections, and new connections (a TLS handshake and
//! one call each). All use hyper's HTTP/1.1 connection directly, one per worker.

use crate::dial::{Dialer, Stream};
use crate::load::{Call, Window, call_body, is_result, next_call};
use crate::stats::Tally;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// One keep-alive connection to a target.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

/// Why a call did not produce an answer.
enum Failure {
    /// The connection was closed between calls (a keep-alive limit): reconnect, not an error.
    Closed,
    /// The call itself failed.
    Failed,
}

impl Connection {
    async fn open(dialer: &Dialer) -> anyhow::Result<Connection> {
        Connection::over(dialer.connect().await?, dialer).await
    }

    async fn over(stream: Stream, dialer: &Dialer) -> anyhow::Result<Connection> {
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = driver.await;
        });
        Ok(Connection {
            sender,
            host: dialer.addr.to_string(),
        })
    }

    /// Sends `body` and reads the whole answer; `Ok(true)` if it carries a result.
    async fn call(&mut self, body: String) -> Result<bool, Failure> {
        self.sender.ready().await.map_err(|_| Failure::Closed)?;
        let request = Request::post("/")
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| Failure::Failed)?;
        let response = self.sender.send_request(request).await.map_err(|_| Failure::Failed)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| Failure::Failed)?
            .to_bytes();
        Ok(status == StatusCode::OK && is_result(&body))
    }
}

/// Whether `addr` answers a call over HTTP with a result.
pub(crate) async fn probe(dialer: &Dialer) -> bool {
    let attempt = async { Connection::open(dialer).await.ok()?.call(call_body(0)).await.ok() };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}

/// Peak throughput: `connections` closed-loop workers sending `call`s over `window`.
pub(crate) async fn closed_loop(
    dialer: Dialer,
    connections: usize,
    call: Call,
    window: Window,
) -> anyhow::Result<Tally> {
    run_workers(connections, |_| closed_worker(dialer.clone(), call, window)).await
}

async fn closed_worker(dialer: Dialer, call: Call, window: Window) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < window.end {
        let Some(mut connection) = connect(&dialer, window, &mut tally).await else {
            continue;
        };
        loop {
            let started = Instant::now();
            if started >= window.end {
                break;
            }
            let result = connection.call(call.body(next_call())).await;
            let done = Instant::now();
            let counted = window.counts(started, done);
            match result {
                Ok(ok) if counted => tally.record(ok, done - started),
                Ok(_) | Err(Failure::Closed) => {}
                Err(Failure::Failed) => {
                    if counted {
                        tally.errors += 1;
                    }
                }
            }
            if result.is_err() {
                break;
            }
        }
    }
    tally
}

/// Latency at a fixed offered load: `rate` calls per second in all, spread evenly over
/// `connections` workers, each sending on its own schedule whether or not the target keeps up.
///
/// A call whose connection is still busy with the previous one goes out as soon as it is free.
/// Latency is kept both from sending and from when the call was due (see `Tally::from_due_us`).
pub(crate) async fn open_loop(dialer: Dialer, connections: usize, rate: f64, window: Window) -> anyhow::Result<Tally> {
    let interval = Duration::from_secs_f64(connections as f64 / rate.max(1.0));
    run_workers(connections, |i| {
        let offset = interval.mul_f64(i as f64 / connections as f64);
        open_worker(dialer.clone(), window, interval, offset)
    })
    .await
}

async fn open_worker(dialer: Dialer, window: Window, interval: Duration, offset: Duration) -> Tally {
    let mut tally = Tally::default();
    let mut connection = None;
    let mut due = window.begin + offset;
    while due < window.end {
        tokio::time::sleep_until(due.into()).await;
        if connection.is_none() {
            connection = connect(&dialer, window, &mut tally).await;
        }
        if let Some(c) = connection.as_mut() {
            let started = Instant::now();
            let result = c.call(call_body(next_call())).await;
            let done = Instant::now();
            let counted = due >= window.start && done <= window.end;
            match result {
                Ok(ok) if counted => tally.record_due(ok, done - started, done - due),
                Ok(_) => {}
                Err(failure) => {
                    if counted && matches!(failure, Failure::Failed) {
                        tally.errors += 1;
                    }
                    connection = None;
                }
            }
        }
        due += interval;
    }
    tally
}

/// Opens a connection, counting a failure inside the window as an error (and pausing briefly,
/// so a dead target is not hammered with connects).
async fn connect(dialer: &Dialer, window: Window, tally: &mut Tally) -> Option<Connection> {
    match Connection::open(dialer).await {
        Ok(c) => Some(c),
        Err(_) => {
            if Instant::now() >= window.start {
                tally.errors += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            None
        }
    }
}

/// New connections: `connections` workers, each connecting (for a TLS dialer: a handshake, full
/// or resumed as the dialer's configuration allows), sending one call, and closing, over
/// `window`. The latency is the whole of it; the tally counts the resumed handshakes.
pub(crate) async fn new_connections(dialer: Dialer, connections: usize, window: Window) -> anyhow::Result<Tally> {
    run_workers(connections, |_| new_connection_worker(dialer.clone(), window)).await
}

async fn new_connection_worker(dialer: Dialer, window: Window) -> Tally {
    let mut tally = Tally::default();
    loop {
        let started = Instant::now();
        if started >= window.end {
            break;
        }
        let attempt = async {
            let stream = dialer.connect().await.ok()?;
            let resumed = stream.resumed();
            let mut connection = Connection::over(stream, &dialer).await.ok()?;
            let ok = connection.call(call_body(next_call())).await.ok()?;
            Some((ok, resumed))
        };
        let result = attempt.await;
        let done = Instant::now();
        if !window.counts(started, done) {
            continue;
        }
        match result {
            Some((ok, resumed)) => {
                tally.record(ok, done - started);
                tally.resumed += u64::from(ok && resumed);
            }
            None => {
                tally.errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tally
}

/// Runs `count` workers, `worker(i)` the i-th, at once, and merges their tallies; a panicked
/// worker is a bench bug and fails the phase.
pub(crate) async fn run_workers<F, Fut>(count: usize, mut worker: F) -> anyhow::Result<Tally>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Tally> + Send + 'static,
{
    let mut workers = JoinSet::new();
    for i in 0..count {
        workers.spawn(worker(i));
    }
    let mut total = Tally::default();
    while let Some(result) = workers.join_next().await {
        total.merge(result?);
    }
    Ok(total)
}
