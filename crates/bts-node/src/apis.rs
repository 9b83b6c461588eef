//! witness_node's API sets, and the plugins their calls look up: the guard against the 7.0.2
//! shutdown crash (bitshares-core issue 2717).
//!
//! witness_node 7.0.2 looks a plugin up with `application::get_plugin()`, which indexes the plugin
//! map with `operator[]`: asking for a plugin that is not loaded inserts an empty entry, and
//! `shutdown_plugins()` later calls through it. The node then dies (SIGSEGV, status 134 through a
//! launcher) before it writes its object database, and the next start replays the whole chain.
//! In 7.0's `libraries/app/api.cpp` these calls reach `get_plugin` for a plugin that may be missing:
//!
//! - `login_api::custom_operations()` looks up `custom_operations`, and `login_api::debug()`
//!   `debug_witness`; both check the caller's allowed API sets first, so an API set that the
//!   api-access file does not grant never reaches the lookup;
//! - `history_api`'s `get_market_history_buckets`, `get_market_history` and
//!   `get_fill_order_history` look up `market_history`;
//! - `orders_api`'s `get_tracked_groups` and `get_grouped_limit_orders` look up `grouped_orders`.
//!
//! api-access works per API set, so it can close `orders_api` or `custom_operations_api`, but not
//! the market calls of `history_api` without closing account history too. `database_api` asks the
//! application's options, never `get_plugin`, and `history_api::get_account_history` asks whether
//! elasticsearch is enabled before it looks it up (nodes asked for it shut down cleanly). So the
//! rule the launcher enforces is: every API set a client may open has the plugins its calls
//! look up.

use crate::plugins::Plugin;
use crate::spec::SpecError;
use std::collections::BTreeSet;
use std::fmt;

/// An API set of witness_node 7.0.2, as named in an api-access file's `allowed_apis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiSet {
    /// `database_api`.
    Database,
    /// `network_broadcast_api`.
    NetworkBroadcast,
    /// `history_api`: account history, and market history through market_history.
    History,
    /// `block_api`.
    Block,
    /// `network_node_api`: peers.
    NetworkNode,
    /// `crypto_api`.
    Crypto,
    /// `asset_api`.
    Asset,
    /// `orders_api`: grouped limit orders, through grouped_orders.
    Orders,
    /// `debug_api`, through debug_witness.
    Debug,
    /// `custom_operations_api`, through custom_operations.
    CustomOperations,
}

impl ApiSet {
    /// Every API set.
    pub const ALL: [ApiSet; 10] = [
        ApiSet::Database,
        ApiSet::NetworkBroadcast,
        ApiSet::History,
        ApiSet::Block,
        ApiSet::NetworkNode,
        ApiSet::Crypto,
        ApiSet::Asset,
        ApiSet::Orders,
        ApiSet::Debug,
        ApiSet::CustomOperations,
    ];

    /// What anonymous clients may open when there is no api-access file (application.cpp's
    /// default, confirmed on a 7.0.2 node).
    pub const DEFAULT_OPEN: [ApiSet; 5] = [
        ApiSet::Database,
        ApiSet::NetworkBroadcast,
        ApiSet::History,
        ApiSet::Orders,
        ApiSet::CustomOperations,
    ];

    /// The name in `allowed_apis`.
    pub const fn name(self) -> &'static str {
        match self {
            ApiSet::Database => "database_api",
            ApiSet::NetworkBroadcast => "network_broadcast_api",
            ApiSet::History => "history_api",
            ApiSet::Block => "block_api",
            ApiSet::NetworkNode => "network_node_api",
            ApiSet::Crypto => "crypto_api",
            ApiSet::Asset => "asset_api",
            ApiSet::Orders => "orders_api",
            ApiSet::Debug => "debug_api",
            ApiSet::CustomOperations => "custom_operations_api",
        }
    }

    /// The API set called `name`, if witness_node 7.0.2 has one.
    pub fn from_name(name: &str) -> Option<ApiSet> {
        ApiSet::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The plugin this set's calls look up with `get_plugin`, and which calls do (a phrase that
    /// is followed by the plugin's name).
    pub const fn looks_up(self) -> Option<(Plugin, &'static str)> {
        match self {
            ApiSet::History => Some((
                Plugin::MarketHistory,
                "calls get_market_history_buckets, get_market_history and get_fill_order_history look up",
            )),
            ApiSet::Orders => Some((
                Plugin::GroupedOrders,
                "calls get_tracked_groups and get_grouped_limit_orders look up",
            )),
            ApiSet::CustomOperations => Some((Plugin::CustomOperations, "opening looks up")),
            ApiSet::Debug => Some((Plugin::DebugWitness, "opening looks up")),
            ApiSet::Database
            | ApiSet::NetworkBroadcast
            | ApiSet::Block
            | ApiSet::NetworkNode
            | ApiSet::Crypto
            | ApiSet::Asset => None,
        }
    }
}

impl fmt::Display for ApiSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The plugins behind the default API sets: the launcher loads them wherever RPC is on.
pub fn default_api_plugins() -> BTreeSet<Plugin> {
    ApiSet::DEFAULT_OPEN
        .into_iter()
        .filter_map(|set| set.looks_up().map(|(plugin, _)| plugin))
        .collect()
}

/// Checks that every API set in `open` (what any client may open; `access` names where that came
/// from) has the plugin its calls look up among `plugins`. A missing one would let any client
/// crash witness_node 7.0.2 at its next shutdown.
pub fn check_open(open: &BTreeSet<ApiSet>, plugins: &BTreeSet<Plugin>, access: &str) -> Result<(), SpecError> {
    for set in open {
        let Some((plugin, calls)) = set.looks_up() else {
            continue;
        };
        if plugins.contains(&plugin) {
            continue;
        }
        let fix = if plugin == Plugin::DebugWitness {
            "remove debug_api from the api-access file: debug_witness is a plugin for development chains".to_owned()
        } else {
            format!(
                "load {plugin} (leave --plugins out: the launcher loads it whenever RPC is on), or close {set} with an \
                 api-access file in the extra config whose allowed_apis omit it, or turn RPC off"
            )
        };
        return Err(SpecError::new(
            format!(
                "RPC is on and {access} lets clients open {set}, whose {calls} the {plugin} plugin, which \
                 this node does not load: witness_node 7.0.2 then crashes at shutdown before writing its \
                 database (bitshares-core issue 2717), and the next start replays the whole chain"
            ),
            fix,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sets_need_the_three_api_plugins() {
        assert_eq!(
            default_api_plugins(),
            BTreeSet::from([Plugin::MarketHistory, Plugin::GroupedOrders, Plugin::CustomOperations])
        );
        assert_eq!(ApiSet::from_name("orders_api"), Some(ApiSet::Orders));
        assert_eq!(ApiSet::from_name("orders"), None);
    }

    #[test]
    fn a_closed_set_needs_no_plugin() {
        let open = BTreeSet::from([ApiSet::Database, ApiSet::NetworkBroadcast]);
        assert!(check_open(&open, &BTreeSet::new(), "the api-access file").is_ok());
        let open = BTreeSet::from([ApiSet::Database, ApiSet::History]);
        let error = check_open(&open, &BTreeSet::from([Plugin::AccountHistory]), "the default access").unwrap_err();
        assert!(error.problem.contains("history_api"), "{}", error.problem);
        assert!(error.problem.contains("market_history"), "{}", error.problem);
    }
}
