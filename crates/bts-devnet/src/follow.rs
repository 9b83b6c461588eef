//! A follower: a devnet node in its own process (or host) that replicates another node's chain.
//!
//! It asks its upstream (the producer, or another follower) for the genesis through the devnet
//! API and checks it (chain id, genesis hash), then copies the upstream's block records into its
//! own ledger: by number until it has them all, then as the upstream announces new blocks
//! (`set_block_applied_callback` over WebSocket), with polling as the fallback (and the only way
//! over HTTP). Its [`Node`](crate::network::Node) applies them to its own replica, so it has its
//! own head, which lags when the upstream is slow or gone. Broadcasts go up the chain of
//! upstreams to the producer.
//!
//! An upstream that cannot be reached is waited for, with backoff and a log line per attempt;
//! one that answers but is not a devnet node, or serves another chain (now or after a
//! reconnection), is an error the process exits on.

use crate::chain::ChainConfig;
use crate::ledger::{BlockRecord, Ledger};
use bts_protocol::{Prefix, SignedTransaction, TransactionId};
use bts_rpc::ws::{Backoff, BlockApplied, WsOptions};
use bts_rpc::{ApiRef, ErrorObject, FcException, HttpClient, HttpOptions, RpcError, WsClient};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;
use tracing::{info, warn};

/// The devnet API's name (a devnet extension; witness_node has no such API).
pub const DEVNET_API: &str = "devnet";
/// The most records one `get_block_records` call returns.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// How long a call to the upstream may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Delays between attempts to reach an upstream that does not answer.
const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(200),
    max: Duration::from_secs(5),
};

/// Why a follower cannot follow its upstream. The process exits on it (code 1).
#[derive(Debug, Error)]
pub enum FollowError {
    /// The upstream answered, but not as a devnet node.
    #[error(
        "{url} is not a bts-infra devnet node ({detail}): --follow needs the ws:// or http:// address of a devnet producer or follower"
    )]
    NotDevnet {
        /// The upstream.
        url: String,
        /// What it answered.
        detail: String,
    },
    /// The upstream serves another chain than the one this follower holds.
    #[error(
        "{url} serves another chain ({found}) than this follower's ({ours}): follow a node of the same chain, or start with another --data-dir"
    )]
    OtherChain {
        /// The upstream.
        url: String,
        /// Its chain.
        found: String,
        /// Ours.
        ours: String,
    },
    /// The URL cannot be used.
    #[error("--follow {url}: {detail}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The follower's data dir could not be used or written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The devnet API's `get_genesis` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct GenesisInfo {
    /// The chain id.
    pub chain_id: String,
    /// SHA-256 of `genesis`, hex.
    pub genesis_hash: String,
    /// The public genesis file ([`ChainConfig::to_genesis_json`] without secrets).
    pub genesis: String,
}

impl GenesisInfo {
    /// What a node of `config` answers.
    pub fn of(config: &ChainConfig) -> GenesisInfo {
        GenesisInfo {
            chain_id: config.chain_id.to_string(),
            genesis_hash: config.genesis_hash().to_string(),
            genesis: config.to_genesis_json(false),
        }
    }

    /// The configuration, if the answer is consistent (the hash is the text's, the chain id the
    /// file's); the error says what is not.
    fn check(&self) -> Result<ChainConfig, String> {
        let config = ChainConfig::from_genesis_json(&self.genesis, Prefix::BTS).map_err(|e| e.to_string())?;
        if bts_protocol::Digest::sha256(self.genesis.as_bytes()).to_string() != self.genesis_hash
            || config.genesis_hash().to_string() != self.genesis_hash
        {
            return Err("its genesis does not match its genesis hash".to_owned());
        }
        if config.chain_id.to_string() != self.chain_id {
            return Err("its genesis does not match its chain id".to_owned());
        }
        Ok(config)
    }
}

/// One record as the devnet API serves it.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordJson {
    /// Block number.
    pub num: u32,
    /// [`BlockRecord::to_bytes`] as hex.
    pub raw: String,
}

enum Client {
    Ws(WsClient),
    Http(Box<HttpClient>),
}

/// The node a follower follows: where blocks come from and broadcasts go.
pub struct Upstream {
    url: String,
    client: Client,
}

impl Upstream {
    /// Connects to `url` (`ws://` or `http://`), waiting with backoff while it cannot be reached;
    /// `stop` turning true ends the wait with `None`.
    pub async fn connect(url: &str, stop: &mut watch::Receiver<bool>) -> Result<Option<Upstream>, FollowError> {
        let bad = |detail: &str| FollowError::BadUrl {
            url: url.to_owned(),
            detail: detail.to_owned(),
        };
        if url.starts_with("http://") {
            let client = HttpClient::new(url, HttpOptions::default()).map_err(|e| bad(&e.to_string()))?;
            return Ok(Some(Upstream {
                url: url.to_owned(),
                client: Client::Http(Box::new(client.with_timeout(CALL_TIMEOUT))),
            }));
        }
        if !url.starts_with("ws://") {
            return Err(bad("give a ws:// or http:// address (a devnet node serves no TLS)"));
        }
        let options = WsOptions {
            call_timeout: CALL_TIMEOUT,
            connect_timeout: CALL_TIMEOUT,
            backoff: BACKOFF,
            // A frozen upstream answers nothing; two missed intervals drop its connection.
            ping_interval: Some(Duration::from_secs(2)),
            notice_buffer: 64,
        };
        let mut attempt = 0;
        loop {
            match WsClient::connect(url, options.clone()).await {
                Ok(client) => {
                    return Ok(Some(Upstream {
                        url: url.to_owned(),
                        client: Client::Ws(client),
                    }));
                }
                Err(e) if handshake_refused(&e) => return Err(not_devnet(url, &e)),
                Err(e) => {
                    attempt += 1;
                    if !wait_to_retry(url, &e, attempt, stop).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The upstream's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn call(&self, api: &str, method: &str, args: Box<RawValue>) -> Result<Box<RawValue>, RpcError> {
        let api = ApiRef::Name(api.to_owned());
        match &self.client {
            Client::Ws(c) => c.call_raw(api, method, args).await,
            Client::Http(c) => c.call_raw(api, method, args).await,
        }
    }

    /// The upstream's chain, checked; waits with backoff while the upstream cannot be reached
    /// (`None` when `stop` turned true meanwhile).
    pub async fn genesis(&self, stop: &mut watch::Receiver<bool>) -> Result<Option<ChainConfig>, FollowError> {
        let mut attempt = 0;
        loop {
            match self.fetch_genesis().await {
                Ok(info) => {
                    return info.check().map(Some).map_err(|detail| not_devnet(&self.url, &detail));
                }
                Err(e) if unreachable(&e) => {
                    attempt += 1;
                    if !wait_to_retry(&self.url, &e, attempt, stop).await {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(not_devnet(&self.url, &e)),
            }
        }
    }

    async fn fetch_genesis(&self) -> Result<GenesisInfo, RpcError> {
        let raw = self.call(DEVNET_API, "get_genesis", raw_args("[]")).await?;
        serde_json::from_str(raw.get()).map_err(|e| RpcError::Decode(format!("get_genesis: {e}")))
    }

    /// Up to [`MAX_RECORDS_PER_CALL`] records of `chain` from `first` on. The upstream refuses
    /// (a node error) when it runs another chain than `chain`: whatever the transport, records
    /// of another chain are never copied.
    async fn records(&self, first: u32, chain: &ChainConfig) -> Result<Vec<BlockRecord>, RpcError> {
        let args = format!("[{first},{MAX_RECORDS_PER_CALL},\"{}\"]", chain.genesis_hash());
        let raw = self.call(DEVNET_API, "get_block_records", raw_args(&args)).await?;
        let prefix = chain.prefix;
        let records: Vec<RecordJson> =
            serde_json::from_str(raw.get()).map_err(|e| RpcError::Decode(format!("get_block_records: {e}")))?;
        records
            .into_iter()
            .map(|r| {
                let bytes = hex::decode(&r.raw).map_err(|e| RpcError::Decode(format!("block {}: {e}", r.num)))?;
                BlockRecord::from_bytes(&bytes, prefix).map_err(|e| RpcError::Decode(format!("block {}: {e}", r.num)))
            })
            .collect()
    }

    /// Sends a client's transaction up: the upstream's answer (its rejection verbatim), or an
    /// error saying it could not be relayed.
    pub async fn broadcast(&self, tx: &SignedTransaction) -> Result<TransactionId, ErrorObject> {
        let args = serde_json::value::to_raw_value(&(tx,)).expect("transactions serialize");
        match self.call("network_broadcast", "broadcast_transaction", args).await {
            Ok(_) => Ok(tx.id()),
            Err(RpcError::Node(e)) => Err(e),
            Err(e) => {
                let sent = match e {
                    RpcError::Connect(_) | RpcError::Closed => "it was not sent",
                    _ => "it may have reached the upstream",
                };
                Err(FcException::assert(
                    "false",
                    &format!(
                        "this devnet follower could not relay the transaction to its upstream {} ({e}); {sent}",
                        self.url
                    ),
                )
                .into_execution_error())
            }
        }
    }

    /// The WebSocket connections made so far (0 over HTTP): a new one means the upstream may
    /// have been replaced, so its genesis is checked again.
    fn connections(&self) -> u64 {
        match &self.client {
            Client::Ws(c) => c.status().borrow().connections,
            Client::Http(_) => 0,
        }
    }
}

fn raw_args(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).expect("valid JSON")
}

fn not_devnet(url: &str, detail: &dyn std::fmt::Display) -> FollowError {
    FollowError::NotDevnet {
        url: url.to_owned(),
        detail: detail.to_string(),
    }
}

/// A WebSocket handshake the server answered with something else than an upgrade: something
/// listens there, and it is not a node.
fn handshake_refused(e: &RpcError) -> bool {
    matches!(e, RpcError::Connect(text) if text.contains("HTTP error"))
}

/// Errors after which the upstream may answer later: nothing listens (yet), it does not answer
/// in time, or the connection broke.
fn unreachable(e: &RpcError) -> bool {
    matches!(e, RpcError::Connect(_) | RpcError::Timeout | RpcError::Disconnected) && !handshake_refused(e)
}

/// Logs why the upstream cannot be reached and waits before attempt `attempt + 1`; false when
/// `stop` turned true meanwhile.
async fn wait_to_retry(url: &str, e: &RpcError, attempt: u32, stop: &mut watch::Receiver<bool>) -> bool {
    let delay = BACKOFF.delay(attempt).max(BACKOFF.initial);
    warn!(target: "bts_devnet::follow", upstream = %url, attempt, retry_in = ?delay, error = %e, "upstream unreachable; waiting");
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = stop.wait_for(|s| *s) => false,
    }
}

/// Copies the upstream's new blocks into `ledger` until `stop` turns true. Returns an error only
/// for what the follower cannot go on from: an upstream that now serves another chain (checked
/// after every reconnection), or a ledger that cannot be written.
pub async fn sync(
    upstream: Arc<Upstream>,
    config: ChainConfig,
    ledger: Arc<Ledger>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), FollowError> {
    let interval = Duration::from_secs(u64::from(config.block_interval.max(1)));
    // Notices drive a WebSocket follower; polling catches what a lost notice would leave behind.
    let poll = match upstream.client {
        Client::Ws(_) => interval * 3,
        Client::Http(_) => interval / 2,
    };
    let mut checked_connection = upstream.connections();
    let mut notices: Option<BlockApplied> = None;
    let mut failures = 0;
    let mut behind = false;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let step = async {
            if upstream.connections() != checked_connection {
                check_same_chain(&upstream, &config).await?;
                checked_connection = upstream.connections();
            }
            if notices.is_none()
                && let Client::Ws(c) = &upstream.client
            {
                notices = Some(c.set_block_applied_callback().await.map_err(Step::Retry)?);
            }
            copy_new_records(&upstream, &ledger, &config, checked_connection).await
        };
        match step.await {
            Ok(()) => {
                if failures > 0 || behind {
                    info!(target: "bts_devnet::follow", upstream = %upstream.url, head = ledger.head(), "in sync with the upstream again");
                }
                failures = 0;
                behind = false;
            }
            Err(Step::Fatal(e)) => return Err(e),
            Err(Step::Retry(e)) => {
                failures += 1;
                behind = true;
                if !wait_to_retry(&upstream.url, &e, failures, &mut stop).await {
                    return Ok(());
                }
                continue;
            }
        }
        let announced = async {
            match notices.as_mut() {
                Some(n) => {
                    if n.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = announced => {}
            () = tokio::time::sleep(poll) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
}

enum Step {
    Retry(RpcError),
    Fatal(FollowError),
}

async fn check_same_chain(upstream: &Upstream, ours: &ChainConfig) -> Result<(), Step> {
    let info = upstream.fetch_genesis().await.map_err(Step::Retry)?;
    if info.genesis_hash != ours.genesis_hash().to_string() {
        return Err(Step::Fatal(FollowError::OtherChain {
            url: upstream.url.clone(),
            found: format!("chain id {}, genesis hash {}", info.chain_id, info.genesis_hash),
            ours: format!("chain id {}, genesis hash {}", ours.chain_id, ours.genesis_hash()),
        }));
    }
    Ok(())
}

/// Copies records until the upstream has no more. Records that came over a connection whose
/// upstream's genesis was not checked yet (a reconnection during the call) are dropped: the next
/// step checks it first.
async fn copy_new_records(upstream: &Upstream, ledger: &Ledger, chain: &ChainConfig, checked: u64) -> Result<(), Step> {
    loop {
        let records = match upstream.records(ledger.head() + 1, chain).await {
            Ok(records) => records,
            // Refused: most likely another chain answers there now; the check says which.
            Err(e @ RpcError::Node(_)) => {
                check_same_chain(upstream, chain).await?;
                return Err(Step::Retry(e));
            }
            Err(e) => return Err(Step::Retry(e)),
        };
        if upstream.connections() != checked {
            return Err(Step::Retry(RpcError::Disconnected));
        }
        let full = records.len() >= MAX_RECORDS_PER_CALL;
        for record in records {
            ledger.append(record).map_err(|e| match e {
                crate::ledger::AppendError::Store(e) => Step::Fatal(e.into()),
                // The upstream answered records we did not ask for: ask again.
                e @ crate::ledger::AppendError::OutOfOrder { .. } => Step::Retry(RpcError::Decode(e.to_string())),
            })?;
        }
        if !full {
            return Ok(());
        }
    }
}
