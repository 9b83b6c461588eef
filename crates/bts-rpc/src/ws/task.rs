//! The background task of a [`super::WsClient`]: it owns the socket, feeds what the node sends to
//! the routing table ([`super::routes`]), pings, and reconnects with backoff.
//!
//! All state lives in this one task, so there are no locks: callers talk to it through a channel
//! and wait on oneshots. Callers enforce their own timeouts; the task periodically forgets the
//! calls whose caller stopped waiting.

use super::routes::Routes;
use super::{Command, ConnectionStatus, WsOptions};
use crate::error::{RpcError, redact};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, info, warn};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens one WebSocket connection within `timeout`.
pub(super) async fn open(url: &str, timeout: Duration) -> Result<Socket, RpcError> {
    let connecting = tokio_tungstenite::connect_async_with_config(url, None, true);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_elapsed) => Err(RpcError::Connect(format!(
            "{}: no connection within {timeout:?}",
            redact(url)
        ))),
        Ok(Err(e)) => Err(RpcError::Connect(format!("{}: {e}", redact(url)))),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// Why a connection stopped being served.
enum Ended {
    /// The socket failed or the node closed it: reconnect.
    Lost,
    /// The client closed or was dropped: stop, then answer `done` if there is one.
    Closed(Option<oneshot::Sender<()>>),
}

struct Driver {
    url: String,
    options: WsOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Commands that arrived while there was no connection, in order.
    queued: VecDeque<Command>,
    routes: Routes,
    status: watch::Sender<ConnectionStatus>,
}

/// Serves `socket`, then reconnections, until the client is closed or dropped.
pub(super) async fn run(
    url: String,
    options: WsOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    status: watch::Sender<ConnectionStatus>,
    socket: Socket,
) {
    let mut driver = Driver {
        url,
        options,
        commands,
        queued: VecDeque::new(),
        routes: Routes::new(),
        status,
    };
    let mut socket = Some(socket);
    let done = loop {
        let ws = match socket.take() {
            Some(ws) => ws,
            None => match driver.reconnect().await {
                Ok(ws) => ws,
                Err(done) => break done,
            },
        };
        match driver.serve(ws).await {
            Ended::Lost => {
                driver.status.send_modify(|s| s.connected = false);
                driver.routes.fail_in_flight();
            }
            Ended::Closed(done) => break done,
        }
    };
    info!(target: "bts_rpc::ws", url = %redact(&driver.url), "client closed");
    driver.status.send_modify(|s| {
        s.connected = false;
        s.closed = true;
    });
    // Dropping the driver drops every waiting reply, which its caller reads as `Closed`, and every
    // subscriber, which ends its stream.
    drop(driver);
    if let Some(done) = done {
        let _ = done.send(());
    }
}

impl Driver {
    /// Reconnects with backoff, holding the commands that arrive meanwhile. `Err` when the client
    /// was closed or dropped instead.
    async fn reconnect(&mut self) -> Result<Socket, Option<oneshot::Sender<()>>> {
        let mut attempt = 0u32;
        loop {
            let delay = self.options.backoff.delay(attempt);
            attempt = attempt.saturating_add(1);
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    command = self.commands.recv() => self.hold(command)?,
                }
            }
            let (url, timeout) = (self.url.clone(), self.options.connect_timeout);
            let connecting = async move { open(&url, timeout).await };
            tokio::pin!(connecting);
            let result = loop {
                tokio::select! {
                    result = &mut connecting => break result,
                    command = self.commands.recv() => self.hold(command)?,
                }
            };
            match result {
                Ok(ws) => return Ok(ws),
                Err(error) => warn!(target: "bts_rpc::ws", attempt, %error, "reconnection failed"),
            }
        }
    }

    /// Keeps a command for the next connection; `Err` when it asks to stop.
    fn hold(&mut self, command: Option<Command>) -> Result<(), Option<oneshot::Sender<()>>> {
        match command {
            None => Err(None),
            Some(Command::Close { done }) => Err(Some(done)),
            Some(command) => {
                self.queued.retain(|c| !c.abandoned());
                self.queued.push_back(command);
                Ok(())
            }
        }
    }

    /// Serves one connection until it is lost or the client closes.
    async fn serve(&mut self, mut ws: Socket) -> Ended {
        info!(target: "bts_rpc::ws", url = %redact(&self.url), subscriptions = self.routes.subscriptions(), "connected");
        self.status.send_modify(|s| {
            s.connected = true;
            s.connections += 1;
        });
        // Subscriptions first, so their streams resume before queued calls are answered.
        if self.replay(&mut ws).await.is_err() {
            return Ended::Lost;
        }
        while let Some(command) = self.queued.pop_front() {
            if let Some(ended) = self.handle(&mut ws, command).await {
                return ended;
            }
        }
        let mut ping = self.options.ping_interval.filter(|p| !p.is_zero()).map(ticker);
        let mut sweep = ticker(self.options.call_timeout.max(Duration::from_millis(100)));
        let mut heard = true;
        loop {
            tokio::select! {
                command = self.commands.recv() => {
                    let Some(command) = command else {
                        close(&mut ws, self.options.connect_timeout).await;
                        return Ended::Closed(None);
                    };
                    if let Some(ended) = self.handle(&mut ws, command).await {
                        return ended;
                    }
                }
                frame = ws.next() => {
                    heard = true;
                    match frame {
                        Some(Ok(Message::Text(text))) => self.routes.dispatch(text.as_str()),
                        Some(Ok(Message::Binary(_))) => debug!(target: "bts_rpc::ws", "ignoring a binary frame"),
                        // tungstenite answers pings itself.
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                        Some(Ok(Message::Close(frame))) => {
                            info!(target: "bts_rpc::ws", ?frame, "the node closed the connection");
                            return Ended::Lost;
                        }
                        Some(Err(error)) => {
                            warn!(target: "bts_rpc::ws", %error, "connection failed");
                            return Ended::Lost;
                        }
                        None => {
                            info!(target: "bts_rpc::ws", "connection ended");
                            return Ended::Lost;
                        }
                    }
                }
                () = tick(ping.as_mut()) => {
                    if !heard {
                        warn!(target: "bts_rpc::ws", "no frame from the node for two ping intervals; reconnecting");
                        return Ended::Lost;
                    }
                    heard = false;
                    if ws.send(Message::Ping(Default::default())).await.is_err() {
                        return Ended::Lost;
                    }
                }
                _ = sweep.tick() => self.routes.sweep(),
            }
        }
    }

    /// Sends every live subscription's call again, with its callback number.
    async fn replay(&mut self, ws: &mut Socket) -> Result<(), ()> {
        for text in self.routes.replays() {
            ws.send(Message::text(text)).await.map_err(|_| ())?;
        }
        Ok(())
    }

    /// Sends one command; `Some` when the connection ended.
    async fn handle(&mut self, ws: &mut Socket, command: Command) -> Option<Ended> {
        if command.abandoned() {
            return None;
        }
        let text = match command {
            Command::Close { done } => {
                close(ws, self.options.connect_timeout).await;
                return Some(Ended::Closed(Some(done)));
            }
            Command::Call {
                api,
                method,
                args,
                reply,
            } => self.routes.call(api, &method, &args, reply),
            Command::Subscribe {
                api,
                method,
                args,
                callback,
                notices,
                reply,
            } => self.routes.subscribe(api, method, args, callback, notices, reply),
        };
        match ws.send(Message::text(text)).await {
            Ok(()) => None,
            Err(error) => {
                warn!(target: "bts_rpc::ws", %error, "sending failed");
                Some(Ended::Lost)
            }
        }
    }
}

/// An interval whose first tick is one period from now.
fn ticker(period: Duration) -> Interval {
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// The next tick, or never when there is no interval.
async fn tick(interval: Option<&mut Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Sends a close frame, waiting at most `timeout` (a peer that does not read must not hold us).
async fn close(ws: &mut Socket, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, ws.close(None)).await;
}
