//! `bts-infra registrar` end to end on a devnet whose committee has three members: a fresh
//! account becomes the faucet's registrar (upgrade + owner to the committee, one transaction),
//! the faucet registers with it, its key is rotated by a proposal the members approve, and the
//! faucet registers with the new key. Bad input is refused with exit code 2 and nothing sent.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_devnet::chain::GenesisAccount;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_faucet::{FaucetClient, NewAccount};
use bts_protocol::{Prefix, PrivateKey};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn key(seed: &str) -> PrivateKey {
    PrivateKey::from_seed(seed).unwrap()
}

fn public(seed: &str) -> String {
    key(seed).public_key(Prefix::TEST).to_string()
}

/// A devnet with the accounts the flow needs: `new-registrar` (a basic account with its own
/// owner key), two committee members beside init0 (a majority is 2 of 3) and a fee payer.
async fn devnet() -> Devnet {
    let mut config = config_now(Prefix::TEST);
    let account = |name: &str, owner: &str, active: &str, committee_member: bool| GenesisAccount {
        name: name.into(),
        owner_key: key(owner).public_key(Prefix::TEST),
        active_key: key(active).public_key(Prefix::TEST),
        memo_key: key(active).public_key(Prefix::TEST),
        balance: 2_000_000_000_000,
        lifetime_member: false,
        committee_member,
    };
    config.accounts = vec![
        account("new-registrar", "nr-owner", "nr-active", false),
        account("member-a", "member-a", "member-a", true),
        account("member-b", "member-b", "member-b", true),
        account("payer", "payer", "payer", false),
    ];
    Devnet::start_local("cli-registrar", config, 1, ServerConfig::default())
        .await
        .unwrap()
}

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(format!("bts-infra-registrar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Writes a WIF file for the key of `seed`.
    fn wif(&self, seed: &str) -> String {
        let path = self.0.join(format!("{seed}.wif"));
        std::fs::write(&path, format!("{}\n", key(seed).to_wif())).unwrap();
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    command.args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs `registrar ARGS --node NODE --json`, expecting success; the JSON result.
async fn registrar(node: &str, args: &[&str]) -> Value {
    let mut all = vec!["registrar"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--node", node, "--json"]);
    let out = run(&all).await;
    assert!(
        out.status.success(),
        "{all:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `registrar ARGS --node NODE`, expecting exit code 2; stderr.
async fn refused(node: &str, args: &[&str]) -> String {
    let mut all = vec!["registrar"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--node", node]);
    let out = run(&all).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
    stderr
}

/// Starts `bts-infra faucet` for `registrar` signing with `seed`'s key; the child and its URL.
async fn faucet(devnet: &Devnet, dir: &Path, seed: &str) -> (Child, String) {
    let text = format!(
        "database-url = \"sqlite://{}/faucet.db\"\n\
         [chain]\nid = \"{}\"\nprefix = \"TEST\"\nnodes = [\"{}\"]\n\
         [registrar]\nname = \"new-registrar\"\n\
         [limits]\nip-interval = \"0s\"\nip-per-day = 0\nglobal-per-hour = 0\n",
        dir.display(),
        devnet.network().config().chain_id,
        devnet.nodes()[0].http_url()
    );
    let config = dir.join("faucet.toml");
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args([
            "faucet",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--json",
        ])
        .env("BTS_FAUCET_REGISTRAR_WIF", key(seed).to_wif())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, ready["url"].as_str().unwrap().to_owned())
}

async fn register(faucet: &str, name: &str) -> Value {
    let client = FaucetClient::new(faucet, Duration::from_secs(60)).unwrap();
    let k = public(name);
    let account = NewAccount {
        name: name.into(),
        owner_key: k.clone(),
        active_key: k.clone(),
        memo_key: k,
        referrer: None,
    };
    client.register(&account).await.unwrap().body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_account_becomes_the_registrar_and_its_key_is_rotated_by_the_committee() {
    let devnet = devnet().await;
    let node = devnet.nodes()[0].http_url();
    let dir = Dir::new();
    let faucet_key = public("faucet key 1");

    let before = registrar(
        &node,
        &["status", "--name", "new-registrar", "--faucet-key", &faucet_key],
    )
    .await;
    assert_eq!(before["lifetime_member"], false);
    assert_eq!(before["problems"].as_array().unwrap().len(), 3, "{before}");
    assert!(before["registration_fee"].as_i64().unwrap() > 0);

    // Refusals: each says what to do, and nothing reaches the chain.
    let owner_file = dir.wif("nr-owner");
    let setup = |extra: &[&str]| {
        let mut args = vec![
            "setup",
            "--name",
            "new-registrar",
            "--owner-key-file",
            &owner_file,
            "--active-key",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let no_upgrade = setup(&[&faucet_key, "--broadcast"]);
    assert!(refused(&node, &strs(&no_upgrade)).await.contains("add --upgrade"));
    let bts_key = key("faucet key 1").public_key(Prefix::BTS).to_string();
    let wrong_prefix = setup(&[&bts_key, "--upgrade", "--broadcast"]);
    assert!(
        refused(&node, &strs(&wrong_prefix))
            .await
            .contains("this chain's prefix is TEST")
    );
    let wif = key("faucet key 1").to_wif();
    let pasted_wif = setup(&[&wif, "--upgrade", "--broadcast"]);
    let stderr = refused(&node, &strs(&pasted_wif)).await;
    assert!(
        stderr.contains("is a private key (not shown)") && !stderr.contains(&wif),
        "{stderr}"
    );
    let active_file = dir.wif("nr-active");
    let wrong_owner = [
        "setup",
        "--name",
        "new-registrar",
        "--owner-key-file",
        &active_file,
        "--active-key",
        &faucet_key,
        "--upgrade",
        "--broadcast",
    ];
    assert!(
        refused(&node, &wrong_owner)
            .await
            .contains("is not new-registrar's owner key")
    );
    let missing = ["status", "--name", "no-such-registrar"];
    assert!(refused(&node, &missing).await.contains("does not exist"));
    let unchanged = registrar(&node, &["status", "--name", "new-registrar"]).await;
    assert_eq!(unchanged["owner"], before["owner"]);

    // The dry run shows the transaction for review: upgrade, then update.
    let dry = registrar(&node, &strs(&setup(&[&faucet_key, "--upgrade", "--dry-run"]))).await;
    assert_eq!(
        dry["operations"],
        serde_json::json!(["account_upgrade", "account_update"])
    );
    assert_eq!(
        dry["transaction"]["operations"][1][1]["owner"]["account_auths"][0][0],
        "1.2.0"
    );
    assert_eq!(dry["signed"], false);

    let done = registrar(&node, &strs(&setup(&[&faucet_key, "--upgrade", "--broadcast"]))).await;
    assert!(done["block_num"].as_u64().is_some(), "{done}");
    let after = registrar(
        &node,
        &["status", "--name", "new-registrar", "--faucet-key", &faucet_key],
    )
    .await;
    assert_eq!(after["problems"], serde_json::json!([]), "{after}");
    assert_eq!(after["owned_by"], "committee-account");

    // The faucet registers with it.
    let (first, url) = faucet(&devnet, &dir.0, "faucet key 1").await;
    let body = register(&url, "user-before-1").await;
    assert!(body.get("account").is_some(), "{body}");

    // The key moves by a proposal; two of the three members approve.
    let new_key = public("faucet key 2");
    let payer_file = dir.wif("payer");
    let rotate = [
        "rotate-key",
        "--name",
        "new-registrar",
        "--new-active-key",
        &new_key,
        "--fee-payer",
        "payer",
        "--fee-payer-key-file",
        &payer_file,
        "--broadcast",
    ];
    let proposed = registrar(&node, &rotate).await;
    assert_eq!(proposed["results"][0][1], "1.10.0", "{proposed}");
    let notes = proposed["notes"].to_string();
    assert!(
        notes.contains("--member member-a") && notes.contains("--member init0"),
        "{notes}"
    );
    let a = registrar(&node, &strs(&approve("1.10.0", "member-a", &dir))).await;
    let proposes = a["notes"][0].as_str().unwrap();
    assert!(
        proposes.starts_with("proposal 1.10.0 proposes: [[6,"),
        "the member sees what it approves: {a}"
    );
    assert!(proposes.contains(&new_key), "{a}");
    assert!(a["notes"][1].as_str().unwrap().starts_with("approved by"), "{a}");
    let b = registrar(&node, &strs(&approve("1.10.0", "member-b", &dir))).await;
    assert_eq!(b["notes"][1], "proposal 1.10.0 executed", "{b}");
    let rotated = registrar(&node, &["status", "--name", "new-registrar", "--faucet-key", &new_key]).await;
    assert_eq!(rotated["problems"], serde_json::json!([]), "{rotated}");

    // The old key no longer registers; the faucet restarted with the new key does.
    let body = register(&url, "user-between-1").await;
    assert!(body.get("error").is_some(), "{body}");
    stop(first);
    let (second, url) = faucet(&devnet, &dir.0, "faucet key 2").await;
    let body = register(&url, "user-after-1").await;
    assert!(body.get("account").is_some(), "{body}");
    stop(second);

    // With a review period the proposal executes at its expiration, not on the last approval.
    let back = public("faucet key 1");
    let rotate_back = [
        "rotate-key",
        "--name",
        "new-registrar",
        "--new-active-key",
        &back,
        "--fee-payer",
        "payer",
        "--fee-payer-key-file",
        &payer_file,
        "--expiration",
        "30s",
        "--review-period",
        "8s",
        "--broadcast",
    ];
    let proposed = registrar(&node, &rotate_back).await;
    assert_eq!(proposed["results"][0][1], "1.10.1", "{proposed}");
    registrar(&node, &strs(&approve("1.10.1", "member-a", &dir))).await;
    let b = registrar(&node, &strs(&approve("1.10.1", "member-b", &dir))).await;
    assert!(
        b["notes"][1]
            .as_str()
            .unwrap()
            .contains("it executes at its expiration"),
        "{b}"
    );
    let waiting = registrar(&node, &["status", "--name", "new-registrar", "--faucet-key", &back]).await;
    assert_eq!(waiting["faucet_key_acts"], false, "not before the expiration");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = registrar(&node, &["status", "--name", "new-registrar", "--faucet-key", &back]).await;
        if now["faucet_key_acts"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the approved proposal did not execute at its expiration"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Refused without sending: an owner account that does not exist, a registrar the committee
    // does not own (its owner changes the key directly).
    let no_committee = [
        "status",
        "--name",
        "new-registrar",
        "--owner-account",
        "no-such-committee",
    ];
    assert!(
        refused(&node, &no_committee)
            .await
            .contains("\"no-such-committee\" does not exist")
    );
    let not_owned = [
        "rotate-key",
        "--name",
        "payer",
        "--new-active-key",
        &new_key,
        "--fee-payer",
        "payer",
        "--dry-run",
    ];
    assert!(refused(&node, &not_owned).await.contains("registrar setup"));
    devnet.shutdown().await;
}

/// `registrar approve` of `proposal` by `member`, signed with its key, broadcast.
fn approve(proposal: &str, member: &str, dir: &Dir) -> Vec<String> {
    let file = dir.wif(member);
    [
        "approve",
        "--proposal",
        proposal,
        "--member",
        member,
        "--key-file",
        &file,
        "--broadcast",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}
