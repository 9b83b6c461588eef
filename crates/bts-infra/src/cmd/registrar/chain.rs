//! The registrar commands' view of a node: connect by URL (`ws://`, `wss://`, `http://`,
//! `https://`), read what they need, build transactions with the node's fees and TaPoS, and
//! broadcast one, waiting for its block.

use crate::error::InputError;
use bts_protocol::{
    AccountId, Asset, AssetId, Authority, ChainId, Operation, Prefix, PrivateKey, PublicKey, SignedTransaction,
    TimePointSec, Transaction,
};
use bts_rpc::api::database;
use bts_rpc::{
    Account, Api, BroadcastConfirmation, ChainParameters, HttpClient, HttpOptions, RpcClient, RpcError, WsClient,
    WsOptions,
};
use serde_json::Value;
use serde_json::value::RawValue;
use std::time::Duration;

/// How long a transaction may wait for its block before it expires (the node allows a day).
const EXPIRES_IN: u32 = 120;

/// A WebSocket or HTTP connection to one node.
enum Client {
    Ws(WsClient),
    Http(Box<HttpClient>),
}

impl RpcClient for Client {
    async fn call_raw(
        &self,
        api: bts_rpc::ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> Result<Box<RawValue>, RpcError> {
        match self {
            Client::Ws(c) => c.call_raw(api, method, args).await,
            Client::Http(c) => c.call_raw(api, method, args).await,
        }
    }
}

/// One node and the chain it follows.
pub(super) struct Chain {
    api: Api<Client>,
    url: String,
    pub(super) chain_id: ChainId,
    pub(super) prefix: Prefix,
    pub(super) parameters: ChainParameters,
}

impl Chain {
    /// Connects and reads the chain id, address prefix and parameters. Broadcasts wait for a
    /// block, so calls may take up to `timeout`.
    pub(super) async fn connect(url: &str, timeout: Duration) -> anyhow::Result<Chain> {
        let client = if url.starts_with("ws://") || url.starts_with("wss://") {
            let options = WsOptions {
                call_timeout: timeout,
                ..WsOptions::default()
            };
            Client::Ws(
                WsClient::connect(url, options)
                    .await
                    .map_err(|e| InputError::new(format!("--node {url}: {e}")))?,
            )
        } else if url.starts_with("http://") || url.starts_with("https://") {
            let options = HttpOptions {
                timeout,
                ..HttpOptions::default()
            };
            Client::Http(Box::new(
                HttpClient::new(url, options).map_err(|e| InputError::new(format!("--node {url}: {e}")))?,
            ))
        } else {
            return Err(InputError::new(format!("--node {url:?} is not a node URL"))
                .hint("give the node's ws://, wss://, http:// or https:// address")
                .into());
        };
        let api = Api::new(client);
        let unreachable = |e: RpcError| InputError::new(format!("the node at {url} does not answer: {e}"));
        let chain_id = api.get_chain_id().await.map_err(unreachable)?;
        let config = api.get_config().await.map_err(unreachable)?;
        let prefix = config["GRAPHENE_ADDRESS_PREFIX"]
            .as_str()
            .and_then(|p| Prefix::new(p).ok())
            .ok_or_else(|| InputError::new(format!("the node at {url} names no address prefix in get_config")))?;
        let parameters = api.get_global_properties().await.map_err(unreachable)?.parameters;
        Ok(Chain {
            api,
            url: url.to_owned(),
            chain_id,
            prefix,
            parameters,
        })
    }

    /// An account by name or id; a clear error when there is none.
    pub(super) async fn account(&self, name_or_id: &str, role: &str) -> anyhow::Result<Account> {
        let found = self.api.get_accounts(&[name_or_id]).await?;
        found.into_iter().next().flatten().ok_or_else(|| {
            InputError::new(format!(
                "{role} {name_or_id:?} does not exist on the chain at {}",
                self.url
            ))
            .hint("check the name (and that --node is a node of the chain you mean)")
            .into()
        })
    }

    /// An account's core balance, in satoshis.
    pub(super) async fn balance(&self, id: AccountId) -> anyhow::Result<i64> {
        let balances: Vec<Asset> = self
            .api
            .call(database(), "get_account_balances", &(id, [AssetId::CORE]))
            .await?;
        Ok(balances.first().map_or(0, |b| b.amount))
    }

    /// Any objects, `None` for those that do not exist.
    pub(super) async fn objects(&self, ids: &[bts_protocol::ObjectId]) -> anyhow::Result<Vec<Option<Value>>> {
        Ok(self.api.get_objects(ids).await?)
    }

    /// The fee of each operation now (fee scaling included).
    pub(super) async fn fees(&self, ops: &[Operation]) -> anyhow::Result<Vec<Asset>> {
        Ok(self.api.get_required_fees(ops, AssetId::CORE).await?)
    }

    /// `ops` with the node's fees set, in a transaction referring to the head block.
    pub(super) async fn transaction(&self, mut ops: Vec<Operation>) -> anyhow::Result<Transaction> {
        set_fees(self, &mut ops).await?;
        let head = self.api.get_dynamic_global_properties().await?;
        Ok(Transaction::new(
            &head.head_block_id,
            head.time.saturating_add(EXPIRES_IN),
            ops,
        ))
    }

    /// The chain's time (the head block's).
    pub(super) async fn now(&self) -> anyhow::Result<TimePointSec> {
        Ok(self.api.get_dynamic_global_properties().await?.time)
    }

    pub(super) fn sign(&self, tx: Transaction, keys: &[&PrivateKey]) -> SignedTransaction {
        tx.sign(&self.chain_id, keys)
    }

    /// Broadcasts and waits for the block that includes it.
    pub(super) async fn broadcast(&self, tx: &SignedTransaction) -> anyhow::Result<BroadcastConfirmation> {
        self.api
            .broadcast_transaction_synchronous(tx)
            .await
            .map_err(|e| anyhow::anyhow!("the node at {} refused the transaction: {e}", self.url))
    }

    /// A public key given on the command line, which must carry this chain's prefix.
    pub(super) fn public_key(&self, text: &str, flag: &str) -> Result<PublicKey, InputError> {
        // The text is never echoed: a private key pasted here by mistake must not reach a log.
        let key = PublicKey::parse_any_prefix(text.trim()).map_err(|_| {
            if PrivateKey::from_wif(text.trim()).is_ok() {
                InputError::new(format!("{flag} is a private key (not shown): give its public key"))
                    .hint("`bts-infra key show` prints the public key of a WIF; keep the WIF itself secret")
            } else {
                InputError::new(format!("{flag} is not a public key"))
                    .hint("give a public key such as BTS6MRy... with the chain's prefix")
            }
        })?;
        if key.prefix() != self.prefix {
            return Err(InputError::new(format!(
                "{flag} {key} is a key for prefix {}, but this chain's prefix is {}",
                key.prefix(),
                self.prefix
            ))
            .hint(format!(
                "write the key with {} (the same key, another prefix)",
                self.prefix
            )));
        }
        Ok(key)
    }

    /// The name of an account, or its id when the name cannot be read.
    pub(super) async fn name_of(&self, id: AccountId) -> String {
        match self.api.get_accounts(&[&id.to_string()]).await {
            Ok(found) => found.into_iter().next().flatten().map_or(id.to_string(), |a| a.name),
            Err(_) => id.to_string(),
        }
    }
}

/// Sets each operation's fee from `get_required_fees`; a proposal's operations get theirs first
/// (the node charges a proposal by its size, fees included).
async fn set_fees(chain: &Chain, ops: &mut [Operation]) -> anyhow::Result<()> {
    for op in ops.iter_mut() {
        if let Operation::ProposalCreate(p) = op {
            let mut inner: Vec<Operation> = p.proposed_ops.iter().map(|w| w.op.clone()).collect();
            Box::pin(set_fees(chain, &mut inner)).await?;
            for (w, op) in p.proposed_ops.iter_mut().zip(inner) {
                w.op = op;
            }
        }
    }
    let fees = chain.fees(ops).await?;
    for (op, fee) in ops.iter_mut().zip(fees) {
        op.set_fee(fee);
    }
    Ok(())
}

/// Whether `key` alone satisfies `auth` (its weight reaches the threshold).
pub(super) fn key_satisfies(auth: &Authority, key: &PublicKey) -> bool {
    auth.key_auths
        .get(key)
        .is_some_and(|w| u32::from(*w) >= auth.weight_threshold)
}

/// Whether `account` alone satisfies `auth`.
pub(super) fn account_satisfies(auth: &Authority, account: AccountId) -> bool {
    auth.account_auths
        .get(&account)
        .is_some_and(|w| u32::from(*w) >= auth.weight_threshold)
}

/// A core amount for people: `12.34567 BTS`.
pub(super) fn amount(satoshis: i64, prefix: Prefix) -> String {
    let sign = if satoshis < 0 { "-" } else { "" };
    let v = satoshis.unsigned_abs();
    format!("{sign}{}.{:05} {prefix}", v / 100_000, v % 100_000)
}
