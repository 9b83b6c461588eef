//! The binary with TLS from a local ACME server (pebble): `bts-infra up --tls-port`, where the
//! API and the faucet answer over TLS on one endpoint and a registration goes through it, and
//! `bts-infra gateway --config` with external account binding.

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

/// `bts-infra gateway --config` with ACME from a CA that requires external account binding
/// (as ZeroSSL does): the HMAC key comes from the environment; without it the gateway refuses to
/// start and names the variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_binary_with_external_account_binding() {
    let (kid, key) = (
        "kid-1",
        "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
    );
    let (plain, tls_port) = (free_port(), free_port());
    let pebble = Pebble::start_with_eab(free_port(), tls_port, Some((kid, key))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\nlisten = \"127.0.0.1:{plain}\"\n[tls]\nlisten = \"127.0.0.1:{tls_port}\"\n[tls.acme]\n\
             domains = [\"{NAME}\"]\ndirectory = \"{}\"\ndirectory-ca = \"{}\"\nstate-dir = \"{}\"\neab-kid = \"{kid}\"\n\
             [[network]]\nname = \"mainnet\"\nchain-id = \"4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8\"\n\
             [[network.backend]]\nurl = \"ws://127.0.0.1:9\"\n",
            pebble.directory,
            pebble.https_ca.display(),
            dir.path().join("acme").display()
        ),
    )
    .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["gateway", "--config"])
        .arg(&file)
        .env_remove("BTS_ACME_EAB_HMAC_KEY")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("BTS_ACME_EAB_HMAC_KEY"), "{stderr}");
    assert!(!stderr.contains(key));

    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["gateway", "--config"])
        .arg(&file)
        .env("BTS_ACME_EAB_HMAC_KEY", key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match https_request(addr, NAME, &pebble.root_pem, "GET", "/health", "").await {
            Ok(a) if a.status == 200 => break,
            other => assert!(Instant::now() < deadline, "{:?}", other.map(|a| a.head)),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().unwrap().success());
}
