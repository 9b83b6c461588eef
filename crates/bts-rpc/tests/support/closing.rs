//! An HTTP JSON-RPC node written on raw sockets, for the one behaviour no HTTP library will
//! produce on purpose: connections that end without warning.
//!
//! `answers_per_connection` requests are answered on each connection, every answer with HTTP/1.1
//! 200 and no `Connection` header, as witness_node writes them. Then, on [`After::Close`], the
//! connection is closed at once (witness_node's behaviour with 1); on [`After::DropNext`] it stays
//! open until the next request has arrived, which is then dropped unanswered (a kept connection
//! that a server closed while the client was reusing it). Each answer is
//! `{"id":<the request's id>,"result":"answer <n>"}`, `n` counting over all connections.

use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long [`After::Close`] waits between the answer and the close.
pub const CLOSE_DELAY: Duration = Duration::from_millis(20);

/// What happens once a connection has had its answers.
#[derive(Debug, Clone, Copy)]
pub enum After {
    /// The node closes it shortly after the last answer, without reading on: a client that
    /// sends its next request on it in the meantime loses it, as with witness_node, whose close
    /// comes a little after its answer.
    Close,
    /// The node waits for one more request and closes without answering it.
    DropNext,
}

/// The running node; it stops with the test's runtime.
pub struct ClosingNode {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl ClosingNode {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(answers_per_connection: usize, after: After) -> ClosingNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let node = ClosingNode {
            addr: listener.local_addr().unwrap(),
            connections: Arc::default(),
            dropped: Arc::default(),
        };
        let (connections, dropped) = (node.connections.clone(), node.dropped.clone());
        let answered = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let (answered, dropped) = (answered.clone(), dropped.clone());
                tokio::spawn(serve(stream, answers_per_connection, after, answered, dropped));
            }
        });
        node
    }

    pub fn http_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests read and left unanswered so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: TcpStream,
    answers: usize,
    after: After,
    answered: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
) {
    let mut buffer = Vec::new();
    for _ in 0..answers {
        let Some(body) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        let id = serde_json::from_slice::<Value>(&body).map_or(Value::Null, |v| v["id"].clone());
        let n = answered.fetch_add(1, Ordering::SeqCst) + 1;
        let json = serde_json::json!({ "id": id, "result": format!("answer {n}") }).to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            json.len()
        );
        if stream.write_all(format!("{head}{json}").as_bytes()).await.is_err() {
            return;
        }
    }
    match after {
        After::Close => tokio::time::sleep(CLOSE_DELAY).await,
        After::DropNext => {
            if read_request(&mut stream, &mut buffer).await.is_some() {
                dropped.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// Reads one request (head and `Content-Length` body) and returns its body; `None` at the end of
/// the connection. Bytes of a next request stay in `buffer`.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buffer.len() >= end + 4 + length {
                let body = buffer[end + 4..end + 4 + length].to_vec();
                buffer.drain(..end + 4 + length);
                return Some(body);
            }
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}
