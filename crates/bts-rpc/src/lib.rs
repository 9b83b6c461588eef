//! BitShares JSON-RPC as witness_node speaks it (fc's `websocket_api` dialect): message types for
//! servers, clients and proxies ([`message`]), the node's exceptions ([`fc`]), a WebSocket client
//! ([`WsClient`]), an HTTP client ([`HttpClient`]) and typed calls over either ([`Api`]).
//!
//! The same port serves both transports on a node: a WebSocket keeps per-connection API ids and
//! receives callback notices; an HTTP POST carries one request and must name its API as a string.
//! The clients always name APIs (`"database"`, `"network_broadcast"`), so nothing depends on
//! per-connection ids, and both report failures as one [`RpcError`] that keeps the node's error
//! object and says whether a retry is safe.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bts_rpc::RpcError> {
//! use bts_rpc::{WsClient, WsOptions};
//! let node = WsClient::connect("ws://127.0.0.1:8090", WsOptions::default()).await?;
//! let head = node.api().get_dynamic_global_properties().await?;
//! let mut blocks = node.set_block_applied_callback().await?;
//! while let Some(id) = blocks.recv().await {
//!     println!("block {} after head {}", id.block_num(), head.head_block_number);
//! }
//! # Ok(()) }
//! ```

pub mod api;
pub mod error;
pub mod fc;
pub mod http;
pub mod message;
pub mod transport;
pub mod types;
pub mod ws;

pub use api::{Api, RpcClient, is_idempotent};
pub use error::RpcError;
pub use fc::FcException;
pub use http::{HttpClient, HttpOptions};
pub use message::{ApiRef, Call, ErrorObject, Id, Incoming, Notice, Request, Response};
pub use types::{
    Account, Block, BlockHeader, BroadcastConfirmation, ChainParameters, ChainProperties, DynamicGlobalProperties,
    GlobalProperties,
};
pub use ws::{Backoff, BlockApplied, ConnectionStatus, Subscription, WsClient, WsOptions};
