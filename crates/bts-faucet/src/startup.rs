//! Start-up checks: the faucet refuses to start rather than register on the wrong chain or with a
//! registrar that cannot pay. Each refusal says what is wrong and what to change.

use crate::config::FaucetConfig;
use crate::nodes::Nodes;
use crate::register::Referrer;
use bts_protocol::{ChainId, Prefix};
use bts_rpc::RpcError;
use thiserror::Error;

/// Why the faucet refused to start.
#[derive(Debug, Error)]
pub enum StartupError {
    /// No configured node answered.
    #[error("no node answered ({errors}): check chain.nodes and that the nodes (or the gateway) are up")]
    NoNode {
        /// Each node's failure.
        errors: String,
    },
    /// A node follows another chain.
    #[error(
        "node {url} follows chain {found}, not {expected} (chain.id): refusing to register accounts on the wrong chain"
    )]
    WrongChain {
        /// The node.
        url: String,
        /// Its chain id.
        found: ChainId,
        /// The configured one.
        expected: ChainId,
    },
    /// The nodes use another address prefix.
    #[error("the nodes use the address prefix {found}, not {expected} (chain.prefix): keys would not parse there")]
    WrongPrefix {
        /// The nodes' prefix.
        found: String,
        /// The configured one.
        expected: Prefix,
    },
    /// The registrar account does not exist.
    #[error("the registrar account {name:?} does not exist on this chain (registrar.name)")]
    NoRegistrar {
        /// The configured name.
        name: String,
    },
    /// The registrar is not a lifetime member.
    #[error(
        "the registrar {name:?} is not a lifetime member: only lifetime members may register accounts \
         (upgrade it with account_upgrade, or configure another registrar)"
    )]
    NotLifetimeMember {
        /// The registrar.
        name: String,
    },
    /// The configured key cannot sign for the registrar.
    #[error(
        "the registrar key (public key {public_key}) cannot sign for {name:?}: its active authority needs weight \
         {threshold} and this key has {weight}; give the faucet the registrar's active key (registrar.key-file or \
         the key environment variable)"
    )]
    KeyMismatch {
        /// The registrar.
        name: String,
        /// The public key of the configured private key.
        public_key: String,
        /// The key's weight in the active authority (0: absent).
        weight: u16,
        /// The authority's threshold.
        threshold: u32,
    },
    /// A node answered something unexpected during the checks.
    #[error("start-up check failed: {0}")]
    Rpc(#[from] RpcError),
}

impl StartupError {
    /// Whether the operator's configuration is wrong (rather than the network being down).
    pub fn is_configuration(&self) -> bool {
        !matches!(self, StartupError::NoNode { .. } | StartupError::Rpc(_))
    }
}

/// Runs every check; returns the registrar account.
pub(crate) async fn check(nodes: &Nodes, config: &FaucetConfig) -> Result<Referrer, StartupError> {
    check_chain_ids(nodes, config.chain_id).await?;
    let node_config = nodes
        .read("get_config", |api| Box::pin(async move { api.get_config().await }))
        .await?;
    if let Some(found) = node_config.get("GRAPHENE_ADDRESS_PREFIX").and_then(|p| p.as_str())
        && found != config.prefix.as_str()
    {
        return Err(StartupError::WrongPrefix {
            found: found.to_owned(),
            expected: config.prefix,
        });
    }
    let Some(registrar) = nodes.account(&config.registrar).await? else {
        return Err(StartupError::NoRegistrar {
            name: config.registrar.clone(),
        });
    };
    if !registrar.is_lifetime_member() {
        return Err(StartupError::NotLifetimeMember { name: registrar.name });
    }
    let public_key = config.registrar_key.public_key(config.prefix);
    let weight = registrar.active.key_auths.get(&public_key).copied().unwrap_or(0);
    let threshold = registrar.active.weight_threshold;
    if u32::from(weight) < threshold {
        return Err(StartupError::KeyMismatch {
            name: registrar.name,
            public_key: public_key.to_string(),
            weight,
            threshold,
        });
    }
    tracing::info!(target: "bts_faucet::startup", registrar = %registrar.name, id = %registrar.id, key = %public_key, "registrar checked: lifetime member, key in its active authority");
    Ok(Referrer {
        id: registrar.id,
        name: registrar.name,
    })
}

/// Every node that answers must follow `expected`; at least one must answer.
async fn check_chain_ids(nodes: &Nodes, expected: ChainId) -> Result<(), StartupError> {
    let mut errors = Vec::new();
    for node in nodes.all() {
        match node.api().get_chain_id().await {
            Ok(found) if found == expected => {}
            Ok(found) => {
                return Err(StartupError::WrongChain {
                    url: node.url.clone(),
                    found,
                    expected,
                });
            }
            Err(e) => {
                tracing::warn!(target: "bts_faucet::startup", node = %node.url, error = %e, "node did not answer at start; it is tried again on use");
                errors.push(format!("{}: {e}", node.url));
            }
        }
    }
    if errors.len() == nodes.all().len() {
        return Err(StartupError::NoNode {
            errors: errors.join("; "),
        });
    }
    Ok(())
}
