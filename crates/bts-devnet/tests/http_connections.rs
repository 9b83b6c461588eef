//! The devnet closes each HTTP connection after one answer, as witness_node 7.0.2 does (see
//! docs/devnet.md): no `Connection: close` header, and a request sent on the connection after the
//! answer is never read. With `http_keep_alive` (for benchmarks) connections stay open.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_protocol::Prefix;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const CALL: &str = r#"{"id":1,"method":"call","params":["database","get_chain_id",[]]}"#;

async fn node(http_keep_alive: bool) -> Devnet {
    let server = ServerConfig {
        http_keep_alive,
        ..ServerConfig::default()
    };
    Devnet::start_local("conn", config_now(Prefix::BTS), 1, server)
        .await
        .unwrap()
}

/// Reads one HTTP answer (head and `Content-Length` body); `Err` when the connection ends
/// first, with how it ended (an end of file is `UnexpectedEof`).
fn read_answer(s: &mut TcpStream) -> Result<(String, String), ErrorKind> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(e.kind()),
        }
        let text = String::from_utf8_lossy(&received);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap();
            if body.len() >= length {
                return Ok((head.to_owned(), body.to_owned()));
            }
        }
    }
}

/// Two calls on one connection, the second sent as soon as the first is answered (as a pooling
/// client does): what each got.
async fn two_calls_on_one_connection(addr: SocketAddr) -> [Result<(String, String), ErrorKind>; 2] {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{CALL}",
            CALL.len()
        );
        s.write_all(request.as_bytes()).unwrap();
        let first = read_answer(&mut s);
        // The write itself may fail once the node has closed.
        let second = s
            .write_all(request.as_bytes())
            .map_err(|e| e.kind())
            .and_then(|()| read_answer(&mut s));
        [first, second]
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_connection_is_closed_after_its_answer_without_a_header_and_the_next_request_is_lost() {
    let devnet = node(false).await;
    let chain_id = devnet.network().config().chain_id.to_string();
    let [first, second] = two_calls_on_one_connection(devnet.nodes()[0].addr).await;
    let (head, body) = first.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("connection:"),
        "no header tells the client: {head}"
    );
    assert!(body.contains(&chain_id), "{body}");
    // The node closes with the request unread: an end of file or a reset, never an answer or a
    // timeout.
    let lost = second.unwrap_err();
    assert!(
        matches!(
            lost,
            ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ),
        "{lost:?}"
    );
}

#[tokio::test]
async fn with_keep_alive_both_calls_are_answered_on_one_connection() {
    let devnet = node(true).await;
    let [first, second] = two_calls_on_one_connection(devnet.nodes()[0].addr).await;
    for answer in [first, second] {
        let (head, body) = answer.unwrap();
        assert!(
            head.starts_with("HTTP/1.1 200") && body.contains("result"),
            "{head}{body}"
        );
    }
}
