//! One client connection of a node's endpoint, closed after its first HTTP answer as
//! witness_node closes it.
//!
//! witness_node answers an HTTP POST with `HTTP/1.1 200` and no `Connection: close` header, then
//! stops reading and closes the socket a moment later. A client that sends its next request on
//! the connection in that moment (any pooling HTTP/1.1 client) loses it: the node never reads it.
//! The devnet does the same, so our clients meet in tests what they meet in production: after
//! the answer is written the connection reads nothing more, waits [`CLOSE_AFTER`], and closes.
//! Neither `axum::serve` nor hyper's `keep_alive(false)` can do this: both write
//! `Connection: close` into the answer, which would tell the client what witness_node does not.

use axum::Router;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

/// Time between an HTTP answer and the close of its connection: the window in which a client
/// that reuses the connection loses its request. witness_node's close comes from a later turn of
/// its event loop; a few milliseconds make the window as wide as a client's turnaround.
pub(crate) const CLOSE_AFTER: Duration = Duration::from_millis(5);

/// Serves HTTP/1.1 requests, or one upgrade to a WebSocket, on `stream` until the client leaves,
/// `stop` is set, or (without `keep_alive`) the first answer has been written.
pub(crate) async fn serve(stream: TcpStream, app: Router, keep_alive: bool, mut stop: watch::Receiver<bool>) {
    let answered = Arc::new(Notify::new());
    let signal = answered.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let answer = app.clone().oneshot(request.map(axum::body::Body::new));
        let signal = signal.clone();
        async move {
            let response = answer.await?;
            if keep_alive || response.status() == StatusCode::SWITCHING_PROTOCOLS {
                return Ok::<_, std::convert::Infallible>(response);
            }
            // hyper drops the body once its last byte is taken, long after the head was
            // written: the guard, owned by the closure that the body owns, then notifies.
            let guard = NotifyOnDrop(signal);
            Ok(response.map(move |body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _ = &guard;
                    frame
                }))
            }))
        }
    });
    let deaf = Arc::new(AtomicBool::new(false));
    let io = Deafening {
        inner: stream,
        deaf: deaf.clone(),
    };
    let connection = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::select! {
        _ = connection.as_mut() => return,
        () = answered.notified() => {
            deaf.store(true, Ordering::Release);
            // The connection is still driven, so the answer's last bytes are flushed.
            if tokio::time::timeout(CLOSE_AFTER, connection.as_mut()).await.is_ok() {
                return;
            }
            // Closed now: a graceful shutdown could wait forever on a request whose first bytes
            // hyper read before the connection went deaf.
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_AFTER, connection.as_mut()).await;
            return;
        }
        () = stopped => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Notifies when dropped.
struct NotifyOnDrop(Arc<Notify>);

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// A stream that, once `deaf` is set, never has anything more to read: hyper leaves a request
/// that arrives then unread, and the close that follows resets it, as witness_node's does.
struct Deafening {
    inner: TcpStream,
    deaf: Arc<AtomicBool>,
}

impl AsyncRead for Deafening {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.deaf.load(Ordering::Acquire) {
            // No waker is kept: the connection's owner drops it within 2 × CLOSE_AFTER.
            return Poll::Pending;
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Deafening {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
