//! `bts-infra up` and `bts-infra devnet` as an operator runs them: start, serve, stop on SIGTERM.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_rpc::{HttpClient, HttpOptions};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary and reads the one JSON line it prints when it is serving.
fn start(args: &[&str]) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let report = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, report)
}

/// Sends SIGTERM, as `docker stop` does, and returns the exit status. The deadline only turns a
/// process that never stops into a failure instead of a hung test run.
fn stop(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("bts-infra did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn registrar_id(client: &HttpClient) -> String {
    client
        .api()
        .get_account_by_name("faucet")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn up_serves_two_networks_and_stops_cleanly() {
    let (child, report) = start(&["up", "--port", "0", "--json", "--block-interval", "1s"]);
    let networks = report["networks"].as_array().unwrap();
    assert_eq!(networks.len(), 2);
    let mut chain_ids = Vec::new();
    for network in networks {
        assert_eq!(network["nodes"].as_array().unwrap().len(), 2, "{network}");
        for node in network["nodes"].as_array().unwrap() {
            let client = HttpClient::new(node["http"].as_str().unwrap(), HttpOptions::default()).unwrap();
            let chain_id = client.api().get_chain_id().await.unwrap();
            assert_eq!(chain_id.to_string(), network["chain_id"].as_str().unwrap());
            let registrar = client.api().get_account_by_name("faucet").await.unwrap().unwrap();
            assert!(registrar.is_lifetime_member());
        }
        chain_ids.push(network["chain_id"].as_str().unwrap().to_owned());
    }
    assert_ne!(
        chain_ids[0], chain_ids[1],
        "mainnet-like and testnet-like are different chains"
    );
    assert_eq!(networks[1]["prefix"], "TEST");

    // The gateway serves each network on its path, once its first health checks pass.
    let gateway = &report["gateway"];
    let mainnet = HttpClient::new(gateway["mainnet_http"].as_str().unwrap(), HttpOptions::default()).unwrap();
    let testnet_http = gateway["testnet_ws"].as_str().unwrap().replacen("ws://", "http://", 1);
    let testnet = HttpClient::new(&testnet_http, HttpOptions::default()).unwrap();
    for (client, expected) in [(&mainnet, &chain_ids[0]), (&testnet, &chain_ids[1])] {
        let chain_id = loop {
            match client.api().get_chain_id().await {
                Ok(id) => break id,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        assert_eq!(&chain_id.to_string(), expected);
    }

    // The faucet registers on the mainnet-like chain; the account is visible through the gateway.
    let dir = std::env::temp_dir().join(format!("bts-up-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("pw");
    std::fs::write(&pw, "a long passphrase for up-test-1").unwrap();
    let faucet = report["faucet"]["url"].as_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args([
            "account",
            "register",
            "--faucet",
            faucet,
            "--name",
            "up-test-1",
            "--password-file",
        ])
        .arg(&pw)
        .args(["--prefix", "BTS", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let account = mainnet
        .api()
        .get_account_by_name("up-test-1")
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(account.referrer.to_string(), registrar_id(&mainnet).await);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(stop(child).success(), "exit code 0 after SIGTERM");
}

#[tokio::test]
async fn devnet_prints_its_dev_key_and_refuses_a_public_chain_id() {
    let (child, report) = start(&["devnet", "--listen", "127.0.0.1:0", "--prefix", "TEST", "--json"]);
    assert_eq!(report["registrar"]["name"], "faucet");
    assert!(
        report["registrar"]["development_wif"]
            .as_str()
            .unwrap()
            .starts_with('5')
    );
    assert!(
        report["nodes"][0]["ws"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:")
    );
    assert!(stop(child).success());

    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args([
            "devnet",
            "--chain-id",
            "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("public network's chain id"), "{stderr}");
}

/// `GET url` over plain HTTP/1.1, the body as JSON.
fn get_json(url: &str) -> Value {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn up_with_a_data_dir_resumes_its_chains_and_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state").display().to_string();
    let args = [
        "up",
        "--port",
        "0",
        "--json",
        "--block-interval",
        "1s",
        "--data-dir",
        &data,
    ];
    let (child, report) = start(&args);
    let mainnet_node = report["networks"][0]["nodes"][0]["http"].as_str().unwrap().to_owned();
    let node = HttpClient::new(&mainnet_node, HttpOptions::default()).unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "a long passphrase for up-keep-1").unwrap();
    let faucet = report["faucet"]["url"].as_str().unwrap().to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args([
            "account",
            "register",
            "--faucet",
            &faucet,
            "--name",
            "up-keep-1",
            "--password-file",
        ])
        .arg(&pw)
        .args(["--prefix", "BTS", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let head_before = node
        .api()
        .get_dynamic_global_properties()
        .await
        .unwrap()
        .head_block_number;
    assert!(stop(child).success());
    assert!(dir.path().join("state/faucet.sqlite").exists());

    let (child, again) = start(&args);
    for (n, (was, is)) in report["networks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(again["networks"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(was["chain_id"], is["chain_id"], "network {n} is the same chain");
        assert_eq!(
            was["genesis_hash"], is["genesis_hash"],
            "network {n} from the same genesis"
        );
        assert!(is["data_dir"].as_str().unwrap().starts_with(&data), "{is}");
    }
    let node = HttpClient::new(
        again["networks"][0]["nodes"][0]["http"].as_str().unwrap(),
        HttpOptions::default(),
    )
    .unwrap();
    let head_after = node
        .api()
        .get_dynamic_global_properties()
        .await
        .unwrap()
        .head_block_number;
    assert!(
        head_after >= head_before,
        "the chain went on from block {head_before} (now {head_after})"
    );
    assert!(node.api().get_account_by_name("up-keep-1").await.unwrap().is_some());
    // The faucet remembers what it registered before the restart.
    let faucet = again["faucet"]["url"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let stats = tokio::task::spawn_blocking(move || get_json(&format!("{faucet}/api/v1/stats")))
        .await
        .unwrap();
    assert_eq!(stats["accounts"]["registered"], 1, "{stats}");
    assert!(stop(child).success());
}
