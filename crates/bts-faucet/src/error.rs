//! Why a faucet could not start or stopped serving: the crate's error at its boundary.

use crate::startup::StartupError;
use crate::store::StoreError;
use bts_rpc::RpcError;
use thiserror::Error;

/// A faucet failure from [`crate::Faucet::start`], [`crate::Faucet::serve`] or [`crate::run`].
#[derive(Debug, Error)]
pub enum FaucetError {
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The database could not be opened or migrated.
    #[error("cannot open the database {url}: {source}")]
    Database {
        /// The database URL, password removed.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// A node URL no client can be made for.
    #[error("node {url}: {source}")]
    NodeUrl {
        /// The URL.
        url: String,
        /// Why.
        source: RpcError,
    },
    /// A start-up check refused the configuration or found no node.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The listener failed.
    #[error("cannot serve HTTP: {0}")]
    Serve(std::io::Error),
}

impl FaucetError {
    /// Whether the operator's configuration is at fault (wrong chain, registrar, key, URL),
    /// as opposed to something that may work on a retry (a node or database down).
    pub fn is_configuration(&self) -> bool {
        match self {
            FaucetError::Startup(e) => e.is_configuration(),
            FaucetError::NodeUrl { .. } | FaucetError::Config(_) => true,
            FaucetError::Database { .. } | FaucetError::Serve(_) => false,
        }
    }
}
