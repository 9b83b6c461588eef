//! BitShares JSON-RPC as witness_node speaks it (fc's `websocket_api` dialect): message types for
//! servers, clients and proxies ([`message`]), the node's exceptions ([`fc`]), and clients over
//! WebSocket and HTTP.
//!
//! The same port serves both transports on a node: a WebSocket keeps per-connection API ids and
//! receives callback notices; an HTTP POST carries one request and must name its API as a string.

pub mod fc;
pub mod message;

pub use fc::FcException;
pub use message::{ApiRef, Call, ErrorObject, Id, Incoming, Notice, Request, Response};
