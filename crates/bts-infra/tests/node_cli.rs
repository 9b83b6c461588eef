//! `bts-infra node render` and `node ready` as an operator runs them: the three spec sources and
//! their precedence, the printed and written output, refusals with exit code 2, and the readiness
//! probe's exit codes against devnet nodes (fresh, frozen, wrong chain).

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_devnet::faults::FaultChange;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_protocol::{ChainId, Prefix};
use bts_rpc::{HttpClient, HttpOptions, WsClient, WsOptions};
use expect_test::expect;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// What one run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `bts-infra node ARGS` with only `env` set (and PATH).
fn node(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .arg("node")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The same, off the async runtime (the devnet serves on it meanwhile).
async fn node_async(args: Vec<String>, env: Vec<(String, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        node(&args, &env)
    })
    .await
    .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("node-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn render_prints_a_config_whose_first_lines_are_the_command() {
    let run = node(
        &[
            "render",
            "--network",
            "testnet",
            "--mode",
            "api",
            "--rpc-endpoint",
            "0.0.0.0:8091",
            "--data-dir",
            "/var/lib/bitshares",
        ],
        &[("BTS_NODE_HISTORY", "low"), ("BTS_NODE_TRACK_ACCOUNT", "1.2.17")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    expect![[r##"
        # Command line: witness_node --data-dir /var/lib/bitshares
        # File: /var/lib/bitshares/config.ini
        # witness_node 7.0 config rendered by bts-infra node: testnet api, history low.
        # `bts-infra node run` rewrites this file at every start: change the spec, not this file.

        # RPC is on: market_history, grouped_orders and custom_operations back the APIs any client may
        # open. witness_node 7.0.2 crashes at shutdown, before writing its database, once a client has
        # asked for the API of a plugin it does not load (bitshares-core issue 2717).
        plugins = account_history market_history grouped_orders api_helper_indexes custom_operations

        # P2P: not a seed, so outbound connections only (no listening socket).
        p2p-accept-incoming-connections = false

        # RPC (WebSocket and HTTP), reachable from other hosts too.
        rpc-endpoint = 0.0.0.0:8091

        # History low: per account, the last 100 operations, and every operation of the latest
        # min-blocks-to-keep blocks (30000, about 25 hours at 3-second blocks), up to
        # max-ops-per-acc-by-min-blocks (1000) operations in all.
        partial-operations = true
        max-ops-per-account = 100
        min-blocks-to-keep = 30000
        max-ops-per-acc-by-min-blocks = 1000
        track-account = "1.2.17"
    "##]]
    .assert_eq(&run.stdout);
}

#[test]
fn the_spec_file_the_environment_and_flags_are_layered_in_that_order() {
    let dir = scratch("layers");
    let spec = dir.join("node.toml");
    std::fs::write(
        &spec,
        "network = \"mainnet\"\nmode = \"api\"\nhistory = \"full\"\nrpc-endpoint = \"0.0.0.0:8090\"\n",
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    let run = node(
        &["render", "--json", "--history", "low"],
        &[
            ("BTS_NODE_SPEC", spec),
            ("BTS_NODE_HISTORY", "none"),
            ("BTS_NODE_RPC_ENDPOINT", "0.0.0.0:9000"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["summary"], "mainnet api, history low",
        "the flag wins over the variable and the file"
    );
    assert_eq!(report["spec"]["rpc"], "0.0.0.0:9000", "the variable wins over the file");
    assert_eq!(
        report["command"],
        serde_json::json!(["witness_node", "--data-dir", "witness_node_data_dir"])
    );
    assert!(
        report["config_ini"]
            .as_str()
            .unwrap()
            .contains("\nrpc-endpoint = 0.0.0.0:9000\n")
    );
}

#[test]
fn render_out_writes_a_private_config_and_the_command_line() {
    let dir = scratch("out");
    let out = dir.join("rendered");
    let run = node(
        &[
            "render",
            "--network",
            "mainnet",
            "--mode",
            "seed",
            "--out",
            out.to_str().unwrap(),
            "--witness-node",
            "/opt/bts/witness_node",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("mainnet seed, history none: wrote "),
        "{}",
        run.stdout
    );
    let mode = std::fs::metadata(out.join("config.ini")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(out.join("command-line")).unwrap(),
        "/opt/bts/witness_node --data-dir witness_node_data_dir\n"
    );
    assert!(
        run.stdout.ends_with(
            "witness_node reads config.ini from its --data-dir; copy it to witness_node_data_dir/config.ini\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn render_out_into_the_data_directory_says_there_is_nothing_to_copy() {
    let dir = scratch("out-data-dir");
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    // The same directory, once as given and once through a `..` detour.
    for out in [data.to_owned(), format!("{data}/../data")] {
        let run = node(
            &[
                "render",
                "--network",
                "mainnet",
                "--mode",
                "seed",
                "--data-dir",
                data,
                "--out",
                &out,
            ],
            &[],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout
                .ends_with(&format!("{out} is the data directory: witness_node reads config.ini there (`node run` rewrites it at every start)\n")),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("copy it"), "{}", run.stdout);
    }
}

#[test]
fn refusals_exit_2_with_what_to_change() {
    let cases = [
        node(
            &[
                "render",
                "--network",
                "mainnet",
                "--mode",
                "producer",
                "--witness-id",
                "1.6.5",
            ],
            &[],
        ),
        node(
            &["render", "--mode", "api", "--rpc-endpoint", "0.0.0.0:8090"],
            &[("BTS_NODE_NETWORK", "mainnet"), ("BTS_NODE_HISTORY", "es")],
        ),
        node(
            &["render", "--network", "mainnet", "--mode", "api"],
            &[("BTS_NODE_TRACK_ACOUNT", "1.2.17")],
        ),
        node(
            &[
                "run",
                "--network",
                "mainnet",
                "--mode",
                "producer",
                "--witness-id",
                "1.6.5",
                "--key-file",
                "/nonexistent/keys",
            ],
            &[],
        ),
    ];
    let shown: Vec<String> = cases
        .iter()
        .map(|run| {
            assert_eq!(run.code, 2, "{}", run.stderr);
            assert!(run.stdout.is_empty(), "{}", run.stdout);
            run.stderr.clone()
        })
        .collect();
    expect![[r#"
        error: a block producer needs its signing key: a file with one ["PUBLIC_KEY","WIF"] pair per line (e.g. a mounted secret)
        hint: set --key-file (or BTS_NODE_KEY_FILE, or key-file in the spec file)
        ---
        error: history es needs the Elasticsearch URL (e.g. http://elasticsearch:9200/)
        hint: set --es-url (or BTS_NODE_ES_URL, or es-url in the spec file)
        ---
        error: BTS_NODE_TRACK_ACOUNT is not a node setting
        hint: did you mean BTS_NODE_TRACK_ACCOUNT? Rename or unset BTS_NODE_TRACK_ACOUNT
        ---
        error: --key-file /nonexistent/keys cannot be read (No such file or directory (os error 2)); witness_node would exit ("Failed to load private key file")
        hint: mount the key file there, or fix the path
    "#]]
    .assert_eq(&shown.join("---\n"));
}

/// A one-node devnet with one-second blocks and its admin faults, on 127.0.0.1:0.
async fn devnet(nodes: usize) -> Devnet {
    let config = config_now(Prefix::BTS);
    Devnet::start_local("node-cli", config, nodes, ServerConfig::admin())
        .await
        .unwrap()
}

fn ready_args(url: &str, more: &[&str]) -> Vec<String> {
    ["ready", "--rpc", url]
        .iter()
        .chain(more)
        .map(|s| (*s).to_owned())
        .collect()
}

#[tokio::test]
async fn ready_exits_0_only_for_a_fresh_node_on_the_expected_chain() {
    let devnet = devnet(2).await;
    let chain_id = devnet.network().config().chain_id.to_string();
    let (live, frozen) = (&devnet.nodes()[0], &devnet.nodes()[1]);

    let fresh = node_async(ready_args(&live.ws_url(), &["--chain-id", &chain_id]), vec![]).await;
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    let ready_line = format!("ready: http://{}/ on chain {chain_id}, head block ", live.addr);
    assert!(
        fresh.stdout.starts_with(&ready_line),
        "a ws:// URL is probed over HTTP: {}",
        fresh.stdout
    );

    // Frozen: its head stays while the live node makes three more blocks (>= 3 s at one-second slots).
    frozen.node.faults().apply(&FaultChange {
        frozen: Some(true),
        ..FaultChange::default()
    });
    let frozen_at = HttpClient::new(&frozen.http_url(), HttpOptions::default())
        .unwrap()
        .api()
        .get_dynamic_global_properties()
        .await
        .unwrap()
        .head_block_number;
    // The client must live as long as its subscription.
    let live_ws = WsClient::connect(&live.ws_url(), WsOptions::default()).await.unwrap();
    let mut blocks = live_ws.set_block_applied_callback().await.unwrap();
    while blocks.recv().await.unwrap().block_num() < frozen_at + 3 {}
    let lagging = node_async(
        ready_args(&frozen.http_url(), &["--max-head-age", "1s", "--json"]),
        vec![],
    )
    .await;
    assert_eq!(lagging.code, 1, "{}", lagging.stderr);
    assert!(
        lagging
            .stderr
            .starts_with(&format!("error: not ready: head block {frozen_at} is ")),
        "{}",
        lagging.stderr
    );
    let report: Value = serde_json::from_str(&lagging.stdout).unwrap();
    assert_eq!(report["ready"], false);

    // Wrong chain: --network comes from the environment, as in the image's HEALTHCHECK.
    let env = vec![("BTS_NODE_NETWORK".to_owned(), "mainnet".to_owned())];
    let wrong = node_async(ready_args(&live.http_url(), &[]), env).await;
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .starts_with("error: not ready: wrong chain: the node is on another chain"),
        "{}",
        wrong.stderr
    );
    assert!(wrong.stdout.is_empty());
    devnet.shutdown().await;
}

#[tokio::test]
async fn ready_finds_this_hosts_node_from_the_node_spec() {
    let devnet = devnet(1).await;
    let node = &devnet.nodes()[0];
    node.node.faults().apply(&FaultChange {
        chain_id: Some(Some(ChainId::MAINNET)),
        ..FaultChange::default()
    });
    // As in the image: the network in the spec file, the RPC endpoint in the environment.
    let spec = scratch("ready-spec").join("node.toml");
    std::fs::write(&spec, "network = \"mainnet\"\nmode = \"api\"\n").unwrap();
    let endpoint = format!("0.0.0.0:{}", node.addr.port());
    let env = vec![
        ("BTS_NODE_SPEC".to_owned(), spec.display().to_string()),
        ("BTS_NODE_RPC_ENDPOINT".to_owned(), endpoint),
    ];
    let run = node_async(vec!["ready".to_owned()], env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "ready: http://127.0.0.1:{} on chain {}",
            node.addr.port(),
            ChainId::MAINNET
        )),
        "{}",
        run.stdout
    );
    devnet.shutdown().await;
}
