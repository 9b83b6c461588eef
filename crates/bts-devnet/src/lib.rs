//! bts-devnet: a small BitShares-compatible chain in one process, served like witness_node.
//!
//! * [`chain`]: the pure chain (state, transaction checks, blocks, database and history API). No IO.
//! * [`network`]: one ordering chain and any number of [`network::Node`]s replicating it, each
//!   with its own endpoint and faults, so a gateway sees a real multi-node network.
//! * [`ledger`]: a node's block records; [`store`]: its data dir (genesis and a crash-safe block
//!   file); [`follow`]: a follower, a node in another process that replicates an upstream node.
//! * [`session`]: a connection's API ids, subscriptions and dispatch; [`server`]: WebSocket and
//!   HTTP on one port; [`faults`]: fault injection; [`launch`]: start and stop a whole network.

pub mod chain;
mod connection;
pub mod faults;
pub mod follow;
pub mod launch;
pub mod ledger;
pub mod network;
pub mod server;
pub mod session;
pub mod store;

pub use launch::{Devnet, Follower, RunningNode, config_now, genesis_now};
pub use server::ServerConfig;
