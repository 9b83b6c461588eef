//! `bts-infra gateway` as an operator runs it: a config file, SIGHUP and the admin endpoint
//! re-read it without dropping connections, SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_protocol::Prefix;
use bts_rpc::{WsClient, WsOptions};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

async fn devnet(nodes: usize) -> Devnet {
    let config = config_now(Prefix::BTS);
    Devnet::start_local("test", config, nodes, ServerConfig::default())
        .await
        .unwrap()
}

fn config(listen: SocketAddr, chain_id: &str, backends: &[String]) -> String {
    let mut text = format!(
        "[server]\nlisten = \"{listen}\"\n[health]\ninterval = \"300ms\"\n\n[[network]]\nname = \"mainnet\"\nchain-id = \"{chain_id}\"\npaths = [\"/\"]\n"
    );
    for url in backends {
        text.push_str(&format!("[[network.backend]]\nurl = \"{url}\"\n"));
    }
    text
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn http(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    (
        r[9..12].parse().unwrap(),
        r.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned(),
    )
}

fn backends_in_status(addr: SocketAddr) -> usize {
    let (_, body) = http(
        addr,
        "GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let status: Value = serde_json::from_str(&body).unwrap();
    status["networks"][0]["backends"].as_array().map_or(0, Vec::len)
}

/// Waits for a condition the gateway reaches on its own (the deadline only turns a hang into a
/// failure).
fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_on_sighup_and_admin_endpoint_and_stop_on_sigterm() {
    let devnet = devnet(2).await;
    let chain_id = devnet.network().config().chain_id.to_string();
    let urls: Vec<String> = devnet.nodes().iter().map(|n| n.ws_url()).collect();
    let dir = std::env::temp_dir().join(format!("bts-gateway-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    let addr = free_port();
    std::fs::write(&file, config(addr, &chain_id, &urls[..1])).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["gateway", "--config"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the gateway to serve", || {
        std::net::TcpStream::connect(addr).is_ok() && backends_in_status(addr) == 1
    });
    // A WebSocket session through the gateway stays open across the reloads.
    let client = WsClient::connect(&format!("ws://{addr}/"), WsOptions::default())
        .await
        .unwrap();
    let mut blocks = client.set_block_applied_callback().await.unwrap();
    blocks.recv().await.unwrap();
    let connections = client.status().borrow().connections;

    std::fs::write(&file, config(addr, &chain_id, &urls)).unwrap();
    signal(&child, "-HUP");
    eventually("SIGHUP to add the second backend", || backends_in_status(addr) == 2);

    std::fs::write(&file, config(addr, &chain_id, &urls[1..])).unwrap();
    let (status, body) = http(
        addr,
        "POST /admin/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(backends_in_status(addr), 1);

    // A broken file is refused and the running configuration kept.
    std::fs::write(&file, "[[network]]\nname = 5\n").unwrap();
    let (status, body) = http(
        addr,
        "POST /admin/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("network[0].name") || body.contains("name"),
        "the error names the key: {body}"
    );
    assert_eq!(backends_in_status(addr), 1);

    // The session survived (its node may have been removed: then it moved), and still gets blocks.
    blocks.recv().await.unwrap();
    assert_eq!(
        client.status().borrow().connections,
        connections,
        "the client never reconnected"
    );

    signal(&child, "-TERM");
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the gateway did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    std::fs::remove_dir_all(&dir).unwrap();
    devnet.shutdown().await;
}

#[test]
fn a_bad_config_file_is_an_input_error_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("bts-gateway-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(&file, "[[network]]\nname = \"m\"\nchain-id = \"nope\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["gateway", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chain-id"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
