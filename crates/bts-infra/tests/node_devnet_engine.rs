//! `bts-infra node run --engine devnet`: the launcher runs a devnet node from the same node spec
//! as witness_node would get (a producer that is also a seed, and an API node that names it as
//! its seed node), with the readiness probe, SIGTERM and restarts as the images use them.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_protocol::{Prefix, PrivateKey};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `bts-infra node run --engine devnet` (from the environment, as the image sets it) with `args`;
/// returns once the node serves (its first report line).
fn node_run(args: &[String]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["node", "run", "--network", "testnet", "--allow-root"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("BTS_NODE_ENGINE", "devnet")
        .env("BTS_NODE_DEVNET_BLOCK_INTERVAL", "1s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    if !line.contains("development chain") {
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        panic!("node run did not start: {line:?}\n{err}");
    }
    child
}

/// `node ready` for the devnet engine; its exit code and output.
fn ready(rpc: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["node", "ready", "--network", "testnet", "--rpc", rpc, "--json"])
        .env("BTS_NODE_ENGINE", "devnet")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// SIGTERM, as `docker stop` sends; the exit code.
fn stop(mut child: Child) -> i32 {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap().code().unwrap()
}

fn key_file(dir: &Path) -> String {
    let key = PrivateKey::from_seed("a devnet-engine witness").unwrap();
    let path = dir.join("keys");
    std::fs::write(
        &path,
        format!("[\"{}\",\"{}\"]\n", key.public_key(Prefix::TEST), key.to_wif()),
    )
    .unwrap();
    path.display().to_string()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_producer_and_an_api_node_from_node_specs() {
    let dir = tempfile::tempdir().unwrap();
    let (p2p, rpc, api_rpc) = (free_port(), free_port(), free_port());
    let keys = key_file(dir.path());
    let producer_args = |data: &str| {
        let mut a = strings(&["--mode", "producer,seed", "--witness-id", "1.6.1", "--key-file", &keys]);
        a.extend(strings(&["--p2p-endpoint", &format!("127.0.0.1:{p2p}")]));
        a.extend(strings(&[
            "--rpc-endpoint",
            &format!("127.0.0.1:{rpc}"),
            "--data-dir",
            data,
        ]));
        a
    };
    let producer_dir = dir.path().join("producer").display().to_string();
    let producer = node_run(&producer_args(&producer_dir));
    let api_dir = dir.path().join("api").display().to_string();
    let api_args = strings(&[
        "--mode",
        "api",
        "--seed-node",
        &format!("127.0.0.1:{p2p}"),
        "--rpc-endpoint",
        &format!("127.0.0.1:{api_rpc}"),
        "--data-dir",
        &api_dir,
    ]);
    let api = node_run(&api_args);

    // Both are ready on the testnet's devnet chain (never the public testnet's).
    for port in [rpc, api_rpc] {
        let (code, out) = ready(&format!("http://127.0.0.1:{port}/"));
        assert_eq!(code, 0, "{out}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let devnet_id = bts_devnet::chain::ChainConfig::devnet_chain_id(Prefix::TEST).to_string();
        assert_eq!(report["chain_id"], devnet_id.as_str(), "{report}");
    }
    assert!(
        dir.path().join("api/blocks.log").exists(),
        "the spec's data dir holds the chain"
    );

    // SIGTERM stops both cleanly; started again, they resume from their data dirs.
    assert_eq!(stop(api), 0);
    assert_eq!(stop(producer), 0);
    let producer = node_run(&producer_args(&producer_dir));
    let api = node_run(&api_args);
    let (code, out) = ready(&format!("http://127.0.0.1:{api_rpc}/"));
    assert_eq!(code, 0, "{out}");
    assert_eq!(stop(api), 0);
    assert_eq!(stop(producer), 0);
}

#[test]
fn an_api_node_without_a_seed_node_is_told_what_to_give() {
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["node", "run", "--network", "testnet", "--mode", "api", "--allow-root"])
        .args(["--engine", "devnet", "--rpc-endpoint", "127.0.0.1:18090", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a seed node to follow"), "{stderr}");
    assert!(stderr.contains("--seed-node"), "{stderr}");
}
