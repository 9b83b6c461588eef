//! Shared by the devnet's integration tests: starting a devnet on port 0 and finding the peer
//! programs (python-bitshares in `.venv`, bitsharesjs in `peers/js/node_modules`).

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_devnet::chain::ChainConfig;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_protocol::{AccountId, Asset, Operation, Prefix, SignedTransaction, TimePointSec, Transaction, Transfer};
use bts_rpc::{Api, HttpClient, HttpOptions, RpcClient, RpcError, WsClient, WsOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A devnet of `nodes` nodes with one-second blocks, its clock at now, the admin API on.
pub async fn devnet(nodes: usize, prefix: Prefix) -> Devnet {
    let config = config_now(prefix);
    Devnet::start_local("test", config, nodes, ServerConfig::admin())
        .await
        .unwrap()
}

/// A WebSocket client of `url`.
pub async fn ws(url: &str) -> WsClient {
    WsClient::connect(url, WsOptions::default()).await.unwrap()
}

/// An HTTP client of `url`.
pub fn http(url: &str) -> HttpClient {
    HttpClient::new(url, HttpOptions::default()).unwrap()
}

/// A transfer from the registrar to init0, referring to the node's head, as a wallet builds it.
pub async fn transfer(client: &WsClient, amount: i64) -> SignedTransaction {
    transfer_through(&client.api(), amount).await.unwrap()
}

/// [`transfer`] through any client; an error if the node does not answer.
pub async fn transfer_through<C: RpcClient>(api: &Api<C>, amount: i64) -> Result<SignedTransaction, RpcError> {
    let dgp = api.get_dynamic_global_properties().await?;
    let mut op: Operation = Transfer {
        fee: Asset::core(0),
        from: AccountId::new(7).unwrap(),
        to: AccountId::new(6).unwrap(),
        amount: Asset::core(amount),
        memo: None,
        extensions: Default::default(),
    }
    .into();
    let fee = api
        .get_required_fees(std::slice::from_ref(&op), Default::default())
        .await?;
    op.set_fee(fee[0]);
    let chain_id = api.get_chain_id().await?;
    let expiration = TimePointSec(dgp.time.secs() + 30);
    Ok(Transaction::new(&dgp.head_block_id, expiration, vec![op]).sign(&chain_id, &[&ChainConfig::dev_key()]))
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$BTS_PYTHON`, else the workspace's `.venv`, else `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BTS_PYTHON") {
        return p.into();
    }
    let venv = root().join(".venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

/// Runs a peer program to completion off the async runtime; returns its last stdout line as JSON.
/// A failure shows the program's stderr and how to install the peers.
pub async fn run_peer(mut command: Command) -> serde_json::Value {
    let shown = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap();
    let output = output.unwrap_or_else(|e| panic!("cannot run {shown}: {e}; run scripts/test to install the peers"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{shown} failed ({}):\n{stderr}\n{stdout}\n(peers missing? run scripts/test, which installs them)",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{shown} printed {stdout:?}: {e}\n{stderr}"))
}
