//! Hostile clients over the TLS listener and through `[[http-route]]` forwarding, with a good
//! client served alongside: slow and flooding handshakes are cut at the header read timeout and
//! counted, an oversized TLS record ends its connection at once, renegotiation is refused, and a
//! routed service (the faucet under `/onboarding`) only ever gets whole bodies within the limits.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;
mod support_tls;
mod support_tls_files;

use axum::routing::post;
use bts_gateway::config::HttpRoute;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support_proxy::{config_for, devnet, gateway, limited, raw_http};
use support_tls::https_get;
use support_tls_files::setup_with;

/// Reads until the peer ends the connection; how long that took (10 s at most).
fn time_to_end(s: &mut std::net::TcpStream) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_flooding_handshakes_are_cut_while_a_good_client_is_served() {
    let s = setup_with("", |c| c.limits.header_read_timeout = Duration::from_millis(500)).await;
    let before = limited(s.gw.plain, "handshake_timeout").await;
    let tls = s.gw.tls;
    // 100 connections: half say nothing, half start a 16 KiB handshake record and stop.
    let mut idle = Vec::new();
    for i in 0..100 {
        let mut c = std::net::TcpStream::connect(tls).unwrap();
        if i % 2 == 1 {
            c.write_all(&[0x16, 0x03, 0x01, 0x40, 0x00]).unwrap();
        }
        idle.push(c);
    }
    // Meanwhile a good client completes its handshake and is answered.
    let good = https_get(tls, "localhost", &s.ca, "/health").await.unwrap();
    assert_eq!(good.status, 200, "{}", good.head);
    let ends = tokio::task::spawn_blocking(move || idle.iter_mut().map(time_to_end).collect::<Vec<_>>())
        .await
        .unwrap();
    let longest = ends.iter().max().unwrap();
    assert!(
        *longest < Duration::from_secs(5),
        "every one cut near the timeout: {longest:?}"
    );
    assert!(limited(s.gw.plain, "handshake_timeout").await >= before + 100);
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_tls_record_ends_its_connection_at_once() {
    // A long header timeout: the connection must end because of the record, not the clock.
    let s = setup_with("", |c| c.limits.header_read_timeout = Duration::from_secs(30)).await;
    let tls = s.gw.tls;
    let took = tokio::task::spawn_blocking(move || {
        let mut c = std::net::TcpStream::connect(tls).unwrap();
        // A handshake record announcing 20 KiB: more than TLS allows (16 KiB + 2 KiB).
        let mut record = vec![0x16, 0x03, 0x03, 0x50, 0x00];
        record.extend(std::iter::repeat_n(0u8, 0x5000));
        let _ = c.write_all(&record);
        time_to_end(&mut c)
    })
    .await
    .unwrap();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let good = https_get(s.gw.tls, "localhost", &s.ca, "/health").await.unwrap();
    assert_eq!(good.status, 200);
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renegotiation_is_refused() {
    let s = setup_with("", |_| {}).await;
    let port = s.gw.tls.port();
    // `R` asks openssl s_client to renegotiate (TLS 1.2 only; 1.3 has no renegotiation).
    let output = tokio::task::spawn_blocking(move || {
        let mut child = support_tls_files::s_client(port)
            .arg("-tls1_2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl is installed (scripts/setup-system)");
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let _ = stdin.write_all(b"R\n");
        std::thread::sleep(Duration::from_millis(1500));
        drop(stdin);
        let _ = child.kill();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("RENEGOTIATING"), "the attempt was made: {text}");
    assert!(text.to_ascii_lowercase().contains("no renegotiation"), "{text}");
    let good = https_get(s.gw.tls, "localhost", &s.ca, "/health").await.unwrap();
    assert_eq!(good.status, 200);
    s.gw.shutdown().await;
}

/// A service that counts the requests it got, answering each with its body's length.
async fn counting_service() -> (SocketAddr, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let app = axum::Router::new().route(
        "/onboarding/api/v1/accounts",
        post(move |body: String| {
            count.fetch_add(1, Ordering::SeqCst);
            async move { body.len().to_string() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_service_only_gets_whole_bodies_within_the_limits() {
    let devnet = devnet(1).await;
    let (service, seen) = counting_service().await;
    let mut config = config_for(&devnet);
    config.limits.body_read_timeout = Duration::from_millis(500);
    config.limits.max_message_bytes = 4096;
    config.http_routes = vec![HttpRoute {
        path_prefix: "/onboarding".into(),
        hosts: Vec::new(),
        upstream: format!("http://{service}"),
        strip_prefix: false,
    }];
    let gw = gateway(config).await;
    let post = |body: &str| {
        format!(
            "POST /onboarding/api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let (status, body) = raw_http(gw.addr, post(r#"{"account":{"name":"alice-1"}}"#)).await;
    assert_eq!((status, body.as_str()), (200, "30"));
    let (status, _) = raw_http(gw.addr, post(&"x".repeat(5000))).await;
    assert_eq!(status, 413);
    // A body that trickles: headers, then nothing more.
    let addr = gw.addr;
    let status = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let head = "POST /onboarding/api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
        s.write_all(head.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.get(9..12).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0)
    })
    .await
    .unwrap();
    assert_eq!(status, 408);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "only the whole, small body reached the service"
    );
    gw.shutdown().await;
}
