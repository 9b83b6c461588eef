//! TLS from certificate files: served to real clients (a Rust WebSocket client, bitsharesjs-ws
//! trusting the test root), reloaded when the files change without dropping open connections,
//! refused to old protocol versions and weak suites (checked with Debian's `openssl s_client`),
//! and `[[http-route]]` forwarding through the TLS endpoint.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_proxy;
mod support_tls;
mod support_tls_files;

use axum::http::HeaderMap;
use std::process::{Command, Stdio};
use std::time::Duration;
use support_proxy::root;
use support_tls::{https_request, tls_connect};
use support_tls_files::setup;

const CALL: &str = r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_certificates_reload_without_dropping_open_connections() {
    let s = setup("").await;
    let first = s.gw.wait_serving(None).await;
    assert_eq!(first["source"], "file");
    let tls = tls_connect(s.gw.tls, "127.0.0.1", &s.ca).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async("wss://127.0.0.1/", tls).await.unwrap();
    assert!(support_tls::ws_call(&mut ws, CALL).await.contains("result"));

    // certbot-style renewal: new files from the same CA.
    let old = std::fs::read(s.dir.path().join("server.pem")).unwrap();
    // A key that does not match yet (half-written renewal) is reported, the old one served on.
    let (other_cert, other_key) = {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    std::fs::write(s.dir.path().join("server.pem"), &other_cert).unwrap();
    let failed =
        s.gw.wait_certificate(Duration::from_secs(30), |c| c["last_error"].is_string())
            .await;
    assert!(
        failed["last_error"].as_str().unwrap().contains("does not belong"),
        "{failed}"
    );
    let answer = https_request(s.gw.tls, "127.0.0.1", &s.ca, "POST", "/", CALL)
        .await
        .unwrap();
    assert_eq!(Some(answer.serial.as_str()), first["serial"].as_str());
    // Now the key too: the new pair is served to new connections.
    std::fs::write(s.dir.path().join("server.key"), &other_key).unwrap();
    let second = s.gw.wait_serving(first["serial"].as_str()).await;
    assert!(second["last_error"].is_null(), "{second}");
    let answer = https_request(s.gw.tls, "127.0.0.1", &other_cert, "POST", "/", CALL)
        .await
        .unwrap();
    assert_eq!(Some(answer.serial.as_str()), second["serial"].as_str());
    assert_ne!(old, other_cert.as_bytes());
    // The WebSocket opened before the change is still up.
    assert!(support_tls::ws_call(&mut ws, CALL).await.contains("result"));
    s.gw.shutdown().await;
    s.devnet.shutdown().await;
}

/// Runs `openssl s_client` against `port` with `args`; true when the handshake succeeded.
fn openssl_handshake(port: u16, args: &[&str]) -> bool {
    let out = support_tls_files::s_client(port)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed (scripts/setup-system)");
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("BEGIN CERTIFICATE")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_tls_1_2_and_1_3_with_strong_suites() {
    let s = setup("").await;
    s.gw.wait_serving(None).await;
    let port = s.gw.tls.port();
    // The client offers old versions (security level 0 lets OpenSSL 3 do so): refused.
    let old = "DEFAULT:@SECLEVEL=0";
    let checks = tokio::task::spawn_blocking(move || {
        [
            ("TLS 1.3", openssl_handshake(port, &["-tls1_3"]), true),
            ("TLS 1.2", openssl_handshake(port, &["-tls1_2", "-cipher", old]), true),
            ("TLS 1.1", openssl_handshake(port, &["-tls1_1", "-cipher", old]), false),
            ("TLS 1.0", openssl_handshake(port, &["-tls1", "-cipher", old]), false),
            (
                "CBC suites",
                openssl_handshake(
                    port,
                    &[
                        "-tls1_2",
                        "-cipher",
                        "AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA@SECLEVEL=0",
                    ],
                ),
                false,
            ),
            (
                "RSA key exchange",
                openssl_handshake(port, &["-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384"]),
                false,
            ),
            (
                "3DES and RC4",
                openssl_handshake(port, &["-tls1_2", "-cipher", "DES-CBC3-SHA:RC4-SHA@SECLEVEL=0"]),
                false,
            ),
        ]
    })
    .await
    .unwrap();
    for (what, accepted, expected) in checks {
        assert_eq!(accepted, expected, "{what}: accepted = {accepted}");
    }
    s.gw.shutdown().await;
    s.devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitsharesjs_ws_over_wss_trusting_the_test_root() {
    let s = setup("").await;
    s.gw.wait_serving(None).await;
    let ca_file = s.dir.path().join("ca.pem");
    let chain_id = s.devnet.network().config().chain_id.to_string();
    let mut node = Command::new("node");
    node.arg(root().join("peers/js/devnet_client.js"))
        .args([&format!("wss://127.0.0.1:{}/", s.gw.tls.port()), &chain_id, "BTS", "2"])
        .env("NODE_EXTRA_CA_CERTS", &ca_file);
    let seen = support_proxy::run_peer(node).await;
    assert_eq!(seen["chain_id"], chain_id.as_str(), "{seen}");
    assert_eq!(seen["block_ids"].as_array().unwrap().len(), 2, "{seen}");
    s.gw.shutdown().await;
    s.devnet.shutdown().await;
}

/// A service that answers with what it was sent: method, path, and the forwarding headers.
async fn echo_service() -> std::net::SocketAddr {
    async fn echo(method: axum::http::Method, uri: axum::http::Uri, headers: HeaderMap, body: String) -> String {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        serde_json::json!({
            "method": method.as_str(), "path": uri.to_string(), "body": body,
            "xff": h("x-forwarded-for"), "proto": h("x-forwarded-proto"), "host": h("x-forwarded-host"),
            "connection": h("connection"),
        })
        .to_string()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_routes_forward_a_prefix_with_the_client_address() {
    let service = echo_service().await;
    let s = setup(&format!(
        "[[http-route]]\npath-prefix = \"/onboarding\"\nupstream = \"http://{service}\"\n"
    ))
    .await;
    s.gw.wait_serving(None).await;
    let answer = https_request(
        s.gw.tls,
        "127.0.0.1",
        &s.ca,
        "POST",
        "/onboarding/api/v1/accounts?x=1",
        "{\"a\":1}",
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.head);
    let seen: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/onboarding/api/v1/accounts?x=1");
    assert_eq!(seen["body"], "{\"a\":1}");
    assert_eq!(seen["xff"], "127.0.0.1");
    assert_eq!(seen["proto"], "https");
    assert_eq!(seen["host"], "127.0.0.1");
    // Paths outside the prefix stay JSON-RPC.
    let answer = https_request(s.gw.tls, "127.0.0.1", &s.ca, "POST", "/onboardingx", CALL)
        .await
        .unwrap();
    assert!(answer.body.contains("result"), "{}", answer.body);
    s.gw.shutdown().await;
    s.devnet.shutdown().await;
    // A service that is gone is a 502 that names the route.
    let s = setup("[[http-route]]\npath-prefix = \"/onboarding\"\nupstream = \"http://127.0.0.1:9\"\n").await;
    s.gw.wait_serving(None).await;
    let answer = https_request(s.gw.tls, "127.0.0.1", &s.ca, "GET", "/onboarding/", "")
        .await
        .unwrap();
    assert_eq!(answer.status, 502, "{}", answer.head);
    assert!(answer.body.contains("/onboarding"), "{}", answer.body);
    s.gw.shutdown().await;
    s.devnet.shutdown().await;
}
