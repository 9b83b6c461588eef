//! The nodes the faucet talks to: one client per configured URL (`http://` or `ws://`), tried in
//! order of preference, failing over to the next on a transport failure.
//!
//! Reads go to the preferred node (the last one that answered) and move on when it does not
//! answer; a node's own error (a rejection) is an answer and is not retried elsewhere. Broadcasts
//! name their node explicitly: whether a broadcast may be repeated, and where, is the registration
//! logic's decision (see `register::submit`), not this module's.

use crate::metrics::Metrics;
use bts_protocol::{SignedTransaction, TimePointSec};
use bts_rpc::{Account, Api, BroadcastConfirmation, HttpClient, HttpOptions, RpcClient, RpcError, WsClient, WsOptions};
use serde_json::value::RawValue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

/// A call in flight on one node.
pub(crate) type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, RpcError>> + Send + 'a>>;

/// One transport to one node, with one timeout.
#[derive(Debug, Clone)]
pub(crate) enum Client {
    // Boxed: the HTTP client is several hundred bytes, the WebSocket variant a few pointers.
    Http(Box<HttpClient>),
    /// Connected on first use (a node that is down at start may come back), then shared.
    Ws {
        url: String,
        connection: Arc<OnceCell<WsClient>>,
        options: WsOptions,
    },
}

impl RpcClient for Client {
    async fn call_raw(
        &self,
        api: bts_rpc::ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> Result<Box<RawValue>, RpcError> {
        match self {
            Client::Http(c) => c.call_raw(api, method, args).await,
            Client::Ws {
                url,
                connection,
                options,
            } => {
                let ws = connection
                    .get_or_try_init(|| WsClient::connect(url, options.clone()))
                    .await?;
                ws.with_call_timeout(options.call_timeout)
                    .call_raw(api, method, args)
                    .await
            }
        }
    }
}

/// One node: a client for reads and one (sharing the connection) for broadcasts, which wait
/// for a block and get a longer timeout.
#[derive(Debug)]
pub(crate) struct Node {
    /// The URL, for logs (node URLs carry no secrets in our configuration).
    pub(crate) url: String,
    reads: Client,
    broadcasts: Client,
}

impl Node {
    fn new(url: &str, read_timeout: Duration, broadcast_timeout: Duration) -> Result<Node, RpcError> {
        let (reads, broadcasts) = if url.starts_with("ws://") {
            let connection = Arc::new(OnceCell::new());
            let options = |call_timeout| WsOptions {
                call_timeout,
                connect_timeout: read_timeout,
                ..WsOptions::default()
            };
            let ws = |timeout| Client::Ws {
                url: url.to_owned(),
                connection: connection.clone(),
                options: options(timeout),
            };
            (ws(read_timeout), ws(broadcast_timeout))
        } else {
            let options = HttpOptions {
                timeout: read_timeout,
                connect_timeout: read_timeout,
                ..HttpOptions::default()
            };
            let http = HttpClient::new(url, options)?;
            let broadcasts = http.with_timeout(broadcast_timeout);
            (Client::Http(Box::new(http)), Client::Http(Box::new(broadcasts)))
        };
        Ok(Node {
            url: url.to_owned(),
            reads,
            broadcasts,
        })
    }

    /// Typed reads on this node.
    pub(crate) fn api(&self) -> Api<&Client> {
        Api::new(&self.reads)
    }
}

/// All configured nodes and which one is preferred.
#[derive(Debug)]
pub(crate) struct Nodes {
    nodes: Vec<Node>,
    preferred: AtomicUsize,
    metrics: Metrics,
}

impl Nodes {
    /// Clients for `urls`; fails only for a URL no client can be made for.
    pub(crate) fn new(
        urls: &[String],
        read_timeout: Duration,
        broadcast_timeout: Duration,
        metrics: Metrics,
    ) -> Result<Nodes, RpcError> {
        let nodes = urls
            .iter()
            .map(|u| Node::new(u, read_timeout, broadcast_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Nodes {
            nodes,
            preferred: AtomicUsize::new(0),
            metrics,
        })
    }

    /// Every node, in configuration order (for start-up checks).
    pub(crate) fn all(&self) -> &[Node] {
        &self.nodes
    }

    /// Node indices starting with the preferred one.
    pub(crate) fn order(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.nodes.len();
        let first = self.preferred.load(Ordering::Relaxed) % n.max(1);
        (0..n).map(move |i| (first + i) % n)
    }

    /// Moves the preference away from `index` after it failed.
    pub(crate) fn demote(&self, index: usize) {
        let n = self.nodes.len().max(1);
        let _ = self
            .preferred
            .compare_exchange(index, (index + 1) % n, Ordering::Relaxed, Ordering::Relaxed);
        self.metrics.failover();
    }

    /// Runs `call` on the preferred node, then on the next ones while the failure is a transport
    /// one. The last transport error is returned when no node answers.
    pub(crate) async fn read<T, F>(&self, what: &'static str, call: F) -> Result<T, RpcError>
    where
        F: for<'a> Fn(Api<&'a Client>) -> Call<'a, T>,
    {
        let mut last = RpcError::Closed;
        for index in self.order().collect::<Vec<_>>() {
            let node = &self.nodes[index];
            match call(node.api()).await {
                Ok(v) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(v);
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(target: "bts_faucet::nodes", node = %node.url, call = what, error = %e, "node did not answer; trying the next");
                    self.metrics.node_error(&e);
                    self.demote(index);
                    last = e;
                }
                Err(e) => {
                    self.metrics.node_error(&e);
                    return Err(e);
                }
            }
        }
        Err(last)
    }

    /// `broadcast_transaction_synchronous` on node `index`: returns when the transaction is in a
    /// block, or with the node's rejection, or with a transport error (then it may or may not
    /// have been applied).
    pub(crate) async fn broadcast(
        &self,
        index: usize,
        tx: &SignedTransaction,
    ) -> Result<BroadcastConfirmation, RpcError> {
        let node = &self.nodes[index];
        let result = Api::new(&node.broadcasts).broadcast_transaction_synchronous(tx).await;
        match &result {
            Ok(c) => {
                self.preferred.store(index, Ordering::Relaxed);
                tracing::info!(target: "bts_faucet::nodes", node = %node.url, tx = %c.id, block = c.block_num, "transaction included");
            }
            Err(e) => {
                self.metrics.node_error(e);
                tracing::warn!(target: "bts_faucet::nodes", node = %node.url, tx = %tx.id(), error = %e, "broadcast failed");
            }
        }
        result
    }

    /// An account (by name or `1.2.N`) and the head block time of the same node, read in that
    /// order: when the head is past a transaction's expiration and the account is absent, the
    /// transaction was not applied and never will be.
    pub(crate) async fn account_and_head(&self, name_or_id: &str) -> Result<(Option<Account>, TimePointSec), RpcError> {
        let key = name_or_id.to_owned();
        self.read("get_accounts", move |api| {
            let key = key.clone();
            Box::pin(async move {
                let head = api.get_dynamic_global_properties().await?.time;
                let account = api.get_accounts(&[&key]).await?.into_iter().next().flatten();
                Ok((account, head))
            })
        })
        .await
    }

    /// An account by name or `1.2.N`.
    pub(crate) async fn account(&self, name_or_id: &str) -> Result<Option<Account>, RpcError> {
        let key = name_or_id.to_owned();
        self.read("get_accounts", move |api| {
            let key = key.clone();
            Box::pin(async move { Ok(api.get_accounts(&[&key]).await?.into_iter().next().flatten()) })
        })
        .await
    }
}
