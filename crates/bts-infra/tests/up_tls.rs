//! `bts-infra up --tls-port` with a certificate from a local ACME server (pebble): the API and
//! the faucet answer over TLS on one endpoint, and a registration made through it arrives with
//! the client's address.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

#[path = "../../bts-gateway/tests/support_tls/mod.rs"]
mod support_tls;

use bts_protocol::{Prefix, PrivateKey, Role};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support_tls::{Pebble, free_port, https_request};

const NAME: &str = "gw.example.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_api_and_faucet_over_tls_with_a_certificate_from_pebble() {
    let tls_port = free_port();
    let pebble = Pebble::start(free_port(), tls_port).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["up", "--port", "0", "--nodes", "1", "--block-interval", "1s", "--json"])
        .args(["--tls-port", &tls_port.to_string(), "--tls-domain", NAME])
        .args(["--acme-directory", &pebble.directory])
        .arg("--acme-ca")
        .arg(&pebble.https_ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(report["gateway"]["mainnet_wss"], format!("wss://{NAME}:{tls_port}/"));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();

    // The certificate arrives, and the API answers under it.
    let call = r#"{"id":1,"method":"call","params":[0,"get_chain_id",[]]}"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match https_request(addr, NAME, &pebble.root_pem, "POST", "/", call).await {
            Ok(a) if a.body.contains("result") => break,
            other => assert!(Instant::now() < deadline, "{:?}", other.map(|a| a.body)),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A registration as bitshares-ui posts it, through the TLS endpoint under /onboarding.
    let keys = Role::ALL.map(|r| {
        PrivateKey::from_password("tls-user-1", r, "a long passphrase")
            .unwrap()
            .public_key(Prefix::BTS)
            .to_string()
    });
    let body = serde_json::json!({"account": {"name": "tls-user-1", "owner_key": keys[0],
        "active_key": keys[1], "memo_key": keys[2], "refcode": null, "referrer": null}});
    let answer = https_request(
        addr,
        NAME,
        &pebble.root_pem,
        "POST",
        "/onboarding/api/v1/accounts",
        &body.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 201, "{}\n{}", answer.head, answer.body);
    assert!(answer.body.contains("tls-user-1"), "{}", answer.body);

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "bts-infra did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}
