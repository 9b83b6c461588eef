//! Typed calls of the database and network_broadcast APIs, over any client ([`RpcClient`]).
//!
//! Every call names its API (`"database"`, `"network_broadcast"`): numeric API ids are per
//! connection (and HTTP makes a connection per call), names work everywhere.

use crate::error::RpcError;
use crate::message::ApiRef;
use crate::types::{
    Account, Block, BlockHeader, BroadcastConfirmation, ChainProperties, DynamicGlobalProperties, GlobalProperties,
    RequiredFee,
};
use bts_protocol::{Asset, AssetId, ChainId, ObjectId, Operation, SignedTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use std::future::Future;
use std::sync::Arc;

/// A transport that can make one call: [`crate::WsClient`], [`crate::HttpClient`], or a
/// reference or `Arc` to one.
pub trait RpcClient: Send + Sync {
    /// Calls `method` of `api` with `args` (a JSON array) and returns the raw result.
    fn call_raw(
        &self,
        api: ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send;
}

impl<C: RpcClient> RpcClient for &C {
    fn call_raw(
        &self,
        api: ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send {
        (**self).call_raw(api, method, args)
    }
}

impl<C: RpcClient> RpcClient for Arc<C> {
    fn call_raw(
        &self,
        api: ApiRef,
        method: &str,
        args: Box<RawValue>,
    ) -> impl Future<Output = Result<Box<RawValue>, RpcError>> + Send {
        (**self).call_raw(api, method, args)
    }
}

/// The database API, by name.
pub fn database() -> ApiRef {
    ApiRef::Name("database".to_owned())
}

/// The network_broadcast API, by name.
pub fn network_broadcast() -> ApiRef {
    ApiRef::Name("network_broadcast".to_owned())
}

/// Whether calling `method` twice does no more than calling it once: every method of the node's
/// APIs but the broadcasts (`broadcast_transaction*`, `broadcast_block`), which the second time
/// meet the first and answer "duplicate transaction". A client may repeat an idempotent call
/// whose answer it lost without asking whether the node got it.
pub fn is_idempotent(method: &str) -> bool {
    !method.starts_with("broadcast_")
}

/// The history API, by name.
pub fn history() -> ApiRef {
    ApiRef::Name("history".to_owned())
}

/// The arguments of a method without parameters: `[]` (`()` would be `null`).
const NO_ARGS: &[(); 0] = &[];

/// Serializes call arguments.
pub(crate) fn encode_args(args: &(impl Serialize + ?Sized)) -> Result<Box<RawValue>, RpcError> {
    serde_json::value::to_raw_value(args).map_err(|e| RpcError::Encode(e.to_string()))
}

/// Decodes a result as `T`; a mismatch is [`RpcError::Decode`] naming the method.
pub(crate) fn decode<T: DeserializeOwned>(method: &str, raw: &RawValue) -> Result<T, RpcError> {
    serde_json::from_str(raw.get()).map_err(|e| RpcError::Decode(format!("{method}: {e}")))
}

/// Typed calls over a client `C`: `Api::new(&client).get_chain_id().await`.
#[derive(Debug, Clone)]
pub struct Api<C> {
    client: C,
}

impl<C: RpcClient> Api<C> {
    /// Typed calls over `client`.
    pub fn new(client: C) -> Api<C> {
        Api { client }
    }

    /// The client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// Calls `api.method(args...)` and decodes the result as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        api: ApiRef,
        method: &str,
        args: &(impl Serialize + ?Sized),
    ) -> Result<T, RpcError> {
        let args = encode_args(args)?;
        let raw = self.client.call_raw(api, method, args).await?;
        decode(method, &raw)
    }

    /// `get_chain_id`: the chain this node follows.
    pub async fn get_chain_id(&self) -> Result<ChainId, RpcError> {
        self.call(database(), "get_chain_id", NO_ARGS).await
    }

    /// `get_chain_properties`: the chain id and the parameters fixed at genesis.
    pub async fn get_chain_properties(&self) -> Result<ChainProperties, RpcError> {
        self.call(database(), "get_chain_properties", NO_ARGS).await
    }

    /// `get_config`: the node's compiled-in constants (`GRAPHENE_ADDRESS_PREFIX`, ...).
    pub async fn get_config(&self) -> Result<Value, RpcError> {
        self.call(database(), "get_config", NO_ARGS).await
    }

    /// `get_global_properties`: chain parameters, fee schedule, active witnesses.
    pub async fn get_global_properties(&self) -> Result<GlobalProperties, RpcError> {
        self.call(database(), "get_global_properties", NO_ARGS).await
    }

    /// `get_dynamic_global_properties`: head block, time, last irreversible block.
    pub async fn get_dynamic_global_properties(&self) -> Result<DynamicGlobalProperties, RpcError> {
        self.call(database(), "get_dynamic_global_properties", NO_ARGS).await
    }

    /// `get_account_by_name`: the account, or `None` when no account has this name.
    pub async fn get_account_by_name(&self, name: &str) -> Result<Option<Account>, RpcError> {
        self.call(database(), "get_account_by_name", &(name,)).await
    }

    /// `lookup_account_names`: one entry per name, `None` for names without an account.
    pub async fn lookup_account_names(&self, names: &[&str]) -> Result<Vec<Option<Account>>, RpcError> {
        self.call(database(), "lookup_account_names", &(names,)).await
    }

    /// `get_accounts` (without subscribing): one entry per name or `1.2.x` id, `None` for those
    /// that do not exist.
    pub async fn get_accounts(&self, names_or_ids: &[&str]) -> Result<Vec<Option<Account>>, RpcError> {
        self.call(database(), "get_accounts", &(names_or_ids, false)).await
    }

    /// `get_objects` (without subscribing): one entry per id, `None` for those that do not exist.
    pub async fn get_objects(&self, ids: &[ObjectId]) -> Result<Vec<Option<Value>>, RpcError> {
        self.call(database(), "get_objects", &(ids, false)).await
    }

    /// `get_required_fees`: the fee of each operation, in `asset`, as the node computes it from
    /// the operation's real size. For a proposal the node also lists the inner operations' fees;
    /// only the proposal's own fee is returned.
    pub async fn get_required_fees(&self, ops: &[Operation], asset: AssetId) -> Result<Vec<Asset>, RpcError> {
        let fees: Vec<RequiredFee> = self.call(database(), "get_required_fees", &(ops, asset)).await?;
        if fees.len() != ops.len() {
            return Err(RpcError::Decode(format!(
                "get_required_fees: {} fees for {} operations",
                fees.len(),
                ops.len()
            )));
        }
        Ok(fees.into_iter().map(|f| f.0).collect())
    }

    /// `get_block_header`: the header of block `num`, or `None` past the head.
    pub async fn get_block_header(&self, num: u32) -> Result<Option<BlockHeader>, RpcError> {
        self.call(database(), "get_block_header", &(num,)).await
    }

    /// `get_block`: block `num` with its transactions, or `None` past the head.
    pub async fn get_block(&self, num: u32) -> Result<Option<Block>, RpcError> {
        self.call(database(), "get_block", &(num,)).await
    }

    /// `network_broadcast.broadcast_transaction`: returns once the node accepted the transaction
    /// into its pending state (it is not in a block yet). Rejections are the node's errors.
    pub async fn broadcast_transaction(&self, tx: &SignedTransaction) -> Result<(), RpcError> {
        let _: Value = self.call(network_broadcast(), "broadcast_transaction", &(tx,)).await?;
        Ok(())
    }

    /// `network_broadcast.broadcast_transaction_synchronous`: returns once the transaction is in
    /// a block, which can take a few block intervals: use a client with a timeout to match
    /// ([`crate::WsClient::with_call_timeout`], [`crate::HttpClient::with_timeout`]).
    pub async fn broadcast_transaction_synchronous(
        &self,
        tx: &SignedTransaction,
    ) -> Result<BroadcastConfirmation, RpcError> {
        self.call(network_broadcast(), "broadcast_transaction_synchronous", &(tx,))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HttpClient, WsClient};

    fn assert_send<T: Send>(_: &T) {}

    /// The futures of typed calls can be spawned on a multi-threaded runtime.
    #[test]
    fn call_futures_are_send() {
        fn check(ws: &WsClient, http: &HttpClient, tx: &SignedTransaction) {
            assert_send(&ws.api().get_dynamic_global_properties());
            assert_send(&ws.api().broadcast_transaction_synchronous(tx));
            assert_send(&http.api().get_required_fees(&[], AssetId::CORE));
            assert_send(&Api::new(Arc::new(http)).get_chain_id());
            assert_send(&ws.subscribe(database(), "set_subscribe_callback", |cb| (cb, false)));
            assert_send(&ws.set_block_applied_callback());
        }
        let _ = check;
    }

    #[test]
    fn methods_without_parameters_send_an_empty_array() {
        assert_eq!(encode_args(NO_ARGS).unwrap().get(), "[]");
        assert_eq!(encode_args(&("nathan",)).unwrap().get(), r#"["nathan"]"#);
    }
}
