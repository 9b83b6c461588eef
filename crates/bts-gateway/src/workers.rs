//! The serving threads: one single-threaded tokio runtime per core, each running whole
//! connections, so a request, its WebSocket session and its upstream connection are handled on
//! one thread from accept to answer.
//!
//! On a work-stealing runtime a connection's task, the node connection it drives and the timers
//! they share were polled from whichever thread woke first: wake-ups crossed cores, and the one
//! timer wheel was shared under a lock. Measured with `bts-bench gateway`, serving on one thread
//! per core instead cut the CPU per relayed call (see crates/bts-bench/README.md). The control
//! plane (health probes, reloads, ACME) stays on the caller's runtime; accepted connections are
//! handed to the threads in turn.

use std::io;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// How long a stopping thread lets its remaining tasks (WebSocket sessions closing with a close
/// frame after the drain) finish before its runtime drops them.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// The serving threads, stopped when dropped.
pub(crate) struct Workers {
    threads: Vec<(Handle, Option<oneshot::Sender<()>>)>,
    next: usize,
}

impl Workers {
    /// Starts `count` threads (at least one).
    pub(crate) fn start(count: usize) -> io::Result<Workers> {
        let mut threads = Vec::new();
        for i in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("bts-gateway-{i}"))
                .spawn(move || serve_until(runtime, stopped))?;
            threads.push((handle, Some(stop)));
        }
        Ok(Workers { threads, next: 0 })
    }

    /// The next thread's runtime, in turn.
    pub(crate) fn next(&mut self) -> &Handle {
        self.next = (self.next + 1) % self.threads.len();
        &self.threads[self.next].0
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, stop) in &mut self.threads {
            if let Some(stop) = stop.take() {
                let _ = stop.send(());
            }
        }
    }
}

/// A thread's life: serve until told to stop, then let the tasks left finish, for a while.
fn serve_until(runtime: tokio::runtime::Runtime, stopped: oneshot::Receiver<()>) {
    runtime.block_on(async move {
        let _ = stopped.await;
        let deadline = Instant::now() + FINISH_TIMEOUT;
        let metrics = Handle::current().metrics();
        while metrics.num_alive_tasks() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

/// Moves an accepted connection to the runtime that polls it: registered with the accepting
/// runtime's reactor, its readiness would be reported on that runtime's thread.
pub(crate) fn detach(stream: TcpStream) -> io::Result<std::net::TcpStream> {
    stream.into_std()
}

/// The connection again, registered with the current runtime's reactor.
pub(crate) fn attach(stream: std::net::TcpStream) -> io::Result<TcpStream> {
    TcpStream::from_std(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn connections_go_to_the_threads_in_turn_and_stopping_lets_tasks_finish() {
        let mut workers = Workers::start(2).unwrap();
        let mut names = Vec::new();
        for _ in 0..4 {
            let name = workers
                .next()
                .spawn(async { std::thread::current().name().map(str::to_owned) })
                .await
                .unwrap();
            names.push(name.unwrap());
        }
        assert_eq!(
            names,
            ["bts-gateway-1", "bts-gateway-0", "bts-gateway-1", "bts-gateway-0"]
        );

        // A task still running when the gateway stops (a WebSocket sending its close frame)
        // finishes on its thread.
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        workers.next().spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            flag.store(true, Ordering::SeqCst);
        });
        drop(workers);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !finished.load(Ordering::SeqCst) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(finished.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_connection_moves_to_the_runtime_that_serves_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut b = [0u8; 5];
            s.read_exact(&mut b).await.unwrap();
            b
        });
        let (accepted, _) = listener.accept().await.unwrap();
        let stream = detach(accepted).unwrap();
        let mut workers = Workers::start(1).unwrap();
        workers
            .next()
            .spawn(async move {
                use tokio::io::AsyncWriteExt;
                attach(stream).unwrap().write_all(b"hello").await.unwrap();
            })
            .await
            .unwrap();
        assert_eq!(&client.await.unwrap(), b"hello");
    }
}
