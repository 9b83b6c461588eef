//! `bts-infra faucet` and `bts-infra account register` as an operator runs them, against an
//! in-process devnet: configuration from a file and the environment, the ready line, a
//! registration with password keys, refusals with their exit codes, SIGTERM.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_devnet::chain::ChainConfig;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_protocol::{Prefix, PrivateKey, Role};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

async fn devnet() -> Devnet {
    let config = config_now(Prefix::TEST);
    Devnet::start_local("cli-faucet", config, 1, ServerConfig::default())
        .await
        .unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bts-infra-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A faucet.toml for `devnet`, with its database in `dir`.
fn config_file(devnet: &Devnet, dir: &Path, chain_id: &str) -> PathBuf {
    let node = devnet.nodes()[0].http_url();
    let text = format!(
        "path-prefix = \"/onboarding\"\ndatabase-url = \"sqlite://{}/faucet.db\"\n\
         [chain]\nid = \"{chain_id}\"\nprefix = \"TEST\"\nnodes = [\"{node}\"]\n\
         [registrar]\nname = \"faucet\"\n\
         [limits]\nip-interval = \"0s\"\nip-per-day = 0\nglobal-per-hour = 0\n",
        dir.display()
    );
    let path = dir.join("faucet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn dev_wif() -> String {
    ChainConfig::dev_key().to_wif()
}

fn bts_infra(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    command
        .args(args)
        .env_remove("BTS_FAUCET_REGISTRAR_WIF")
        .env_remove("BTS_PASSWORD")
        .envs(env.iter().copied());
    command
}

/// Runs to completion off the async runtime.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Sends SIGTERM and waits for the exit (the deadline only turns a hang into a failure).
fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "bts-infra faucet did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faucet_serves_account_register_registers_and_sigterm_stops() {
    let devnet = devnet().await;
    let dir = temp_dir("faucet-serve");
    let config = config_file(&devnet, &dir, &devnet.network().config().chain_id.to_string());
    let wif = dev_wif();
    let mut faucet = bts_infra(
        &[
            "faucet",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--json",
        ],
        &[("BTS_FAUCET_REGISTRAR_WIF", &wif)],
    );
    let mut child = faucet.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(ready["registrar"], "faucet");
    assert_eq!(ready["registrar_id"], "1.2.7");
    let url = ready["url"].as_str().unwrap().to_owned();
    assert!(
        ready["prefixed_accounts_url"]
            .as_str()
            .unwrap()
            .ends_with("/onboarding/api/v1/accounts")
    );

    let password_file = dir.join("password");
    std::fs::write(&password_file, "correct horse battery staple\n").unwrap();
    let register = |name: &str| {
        bts_infra(
            &[
                "account",
                "register",
                "--faucet",
                &format!("{url}/onboarding"),
                "--name",
                name,
                "--password-file",
                password_file.to_str().unwrap(),
                "--prefix",
                "TEST",
                "--json",
            ],
            &[],
        )
    };
    let out = output(register("cli-user-1")).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let registered: Value = serde_json::from_slice(&out.stdout).unwrap();
    let active = PrivateKey::from_password("cli-user-1", Role::Active, "correct horse battery staple").unwrap();
    assert_eq!(registered["active_key"], active.public_key(Prefix::TEST).to_string());
    assert_eq!(registered["referrer"], "faucet");
    let node = bts_rpc::HttpClient::new(&devnet.nodes()[0].http_url(), bts_rpc::HttpOptions::default()).unwrap();
    let account = node.api().get_account_by_name("cli-user-1").await.unwrap().unwrap();
    assert_eq!(registered["id"], account.id.to_string());

    let refused = output(register("premiumname")).await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("Only cheap names allowed!"), "{stderr}");

    let (status, stderr) = terminate(child);
    assert!(status.success(), "exit 0 after SIGTERM: {stderr}");
    assert!(!stderr.contains(&wif), "the registrar key never reaches a log");
    std::fs::remove_dir_all(&dir).unwrap();
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_and_refusals_exit_2_and_say_why() {
    let devnet = devnet().await;
    let dir = temp_dir("faucet-refuse");
    let good = devnet.network().config().chain_id.to_string();
    let config = config_file(&devnet, &dir, &good);
    let run = |args: Vec<String>, env: Vec<(&'static str, String)>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        output(bts_infra(&args, &env)).await
    };
    let faucet_args = |file: &Path| {
        vec![
            "faucet".into(),
            "--config".into(),
            file.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ]
    };

    let no_key = run(faucet_args(&config), vec![]).await;
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("BTS_FAUCET_REGISTRAR_WIF"));

    let typo = dir.join("typo.toml");
    std::fs::write(
        &typo,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("ip-per-day", "ip-per-dya"),
    )
    .unwrap();
    let out = run(faucet_args(&typo), vec![("BTS_FAUCET_REGISTRAR_WIF", dev_wif())]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ip-per-dya"));

    // The testnet's chain id with this devnet's node: refused, on the word of the node.
    let wrong = config_file(
        &devnet,
        &dir,
        "39f5e2ede1f8bc1a3a54a7914414e3779e33193f1f5693510e73cb7a87617447",
    );
    let out = run(faucet_args(&wrong), vec![("BTS_FAUCET_REGISTRAR_WIF", dev_wif())]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refuses to start") && stderr.contains("wrong chain"),
        "{stderr}"
    );

    let bad_name = run(
        [
            "account",
            "register",
            "--faucet",
            "http://127.0.0.1:1",
            "--name",
            "Bad_Name",
            "--password",
            "x",
        ]
        .map(String::from)
        .to_vec(),
        vec![],
    )
    .await;
    assert_eq!(bad_name.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
    devnet.shutdown().await;
}
