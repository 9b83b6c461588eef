//! witness_node's plugins: which ones a node's modes imply, and the checks on an explicit list
//! that witness_node itself would only fail at start-up (or never report at all).

use crate::spec::{HistoryLevel, SpecError};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// A plugin of witness_node 7.0.2. The order is the one `plugins =` is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plugin {
    /// Block production.
    Witness,
    /// Account history kept in the node's memory.
    AccountHistory,
    /// Account history kept in Elasticsearch.
    Elasticsearch,
    /// Market history (candles, tickers).
    MarketHistory,
    /// Grouped limit orders (the orders API).
    GroupedOrders,
    /// Indexes the API needs; witness_node refuses to serve RPC without it.
    ApiHelperIndexes,
    /// The custom_operations API.
    CustomOperations,
    /// Objects exported to Elasticsearch.
    EsObjects,
    /// A JSON dump of the state at a block or time.
    Snapshot,
    /// Follows a trusted node over RPC instead of P2P.
    DelayedNode,
    /// Development-chain block production with arbitrary keys.
    DebugWitness,
}

impl Plugin {
    /// Every plugin.
    pub const ALL: [Plugin; 11] = [
        Plugin::Witness,
        Plugin::AccountHistory,
        Plugin::Elasticsearch,
        Plugin::MarketHistory,
        Plugin::GroupedOrders,
        Plugin::ApiHelperIndexes,
        Plugin::CustomOperations,
        Plugin::EsObjects,
        Plugin::Snapshot,
        Plugin::DelayedNode,
        Plugin::DebugWitness,
    ];

    /// The name witness_node knows it by.
    pub const fn name(self) -> &'static str {
        match self {
            Plugin::Witness => "witness",
            Plugin::AccountHistory => "account_history",
            Plugin::Elasticsearch => "elasticsearch",
            Plugin::MarketHistory => "market_history",
            Plugin::GroupedOrders => "grouped_orders",
            Plugin::ApiHelperIndexes => "api_helper_indexes",
            Plugin::CustomOperations => "custom_operations",
            Plugin::EsObjects => "es_objects",
            Plugin::Snapshot => "snapshot",
            Plugin::DelayedNode => "delayed_node",
            Plugin::DebugWitness => "debug_witness",
        }
    }

    /// The plugin called `name`, if witness_node 7.0.2 has one.
    pub fn from_name(name: &str) -> Option<Plugin> {
        Plugin::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a node's modes need from its plugin list.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// Block producer.
    pub producer: bool,
    /// Seed (listens for peers).
    pub seed: bool,
    /// API node.
    pub api: bool,
    /// The history level.
    pub history: HistoryLevel,
    /// Whether an RPC endpoint is configured.
    pub rpc: bool,
}

impl Needs {
    /// The plugins these modes imply: the producer's, the history level's, and with RPC on
    /// api_helper_indexes and the plugins behind the default API sets.
    pub fn implied(&self) -> BTreeSet<Plugin> {
        let mut plugins = BTreeSet::new();
        if self.producer {
            plugins.insert(Plugin::Witness);
        }
        match self.history {
            HistoryLevel::None => {}
            HistoryLevel::Low | HistoryLevel::Full => {
                plugins.insert(Plugin::AccountHistory);
            }
            HistoryLevel::Es => {
                plugins.insert(Plugin::Elasticsearch);
            }
        }
        // Wherever RPC is on, any client may open the default API sets, and a call into one whose
        // plugin is missing crashes witness_node 7.0.2 at shutdown (crate::apis). An API node
        // always serves RPC, so this covers it too.
        if self.rpc {
            plugins.insert(Plugin::ApiHelperIndexes);
            plugins.extend(crate::apis::default_api_plugins());
        }
        plugins
    }

    /// Checks an explicit plugin list (`--plugins`, named `given_as` in messages) against these
    /// needs and witness_node's own rules, and returns it as a set.
    pub fn check(&self, names: &[String], given_as: &str) -> Result<BTreeSet<Plugin>, SpecError> {
        let mut plugins = BTreeSet::new();
        for name in names {
            let plugin = Plugin::from_name(name).ok_or_else(|| unknown(name, given_as))?;
            plugins.insert(plugin);
        }
        if plugins.contains(&Plugin::AccountHistory) && plugins.contains(&Plugin::Elasticsearch) {
            return Err(SpecError::new(
                format!(
                    "{given_as} loads both account_history and elasticsearch: witness_node exits at start \
                     (\"Plugin conflict: Cannot load both account_history plugin and elasticsearch plugin\")"
                ),
                "keep the one --history chooses: account_history for low|full, elasticsearch for es",
            ));
        }
        self.check_required(&plugins, given_as)?;
        self.check_unwanted(&plugins, given_as)?;
        Ok(plugins)
    }

    fn check_required(&self, plugins: &BTreeSet<Plugin>, given_as: &str) -> Result<(), SpecError> {
        if self.rpc && !plugins.contains(&Plugin::ApiHelperIndexes) {
            return Err(SpecError::new(
                format!(
                    "RPC is on but {given_as} lacks api_helper_indexes: witness_node exits at start \
                     (\"If this is an API node, please enable api_helper_indexes plugin.\")"
                ),
                "add api_helper_indexes to the plugins, or turn RPC off with --rpc-endpoint off",
            ));
        }
        let required = [
            (self.producer, Plugin::Witness, "--mode producer"),
            (
                matches!(self.history, HistoryLevel::Low | HistoryLevel::Full),
                Plugin::AccountHistory,
                "--history low|full",
            ),
            (self.history == HistoryLevel::Es, Plugin::Elasticsearch, "--history es"),
        ];
        for (needed, plugin, by) in required {
            if needed && !plugins.contains(&plugin) {
                return Err(SpecError::new(
                    format!("{by} needs the {plugin} plugin, but {given_as} lacks it"),
                    format!("add {plugin} to the plugins, or leave the plugins out: the modes imply them"),
                ));
            }
        }
        Ok(())
    }

    fn check_unwanted(&self, plugins: &BTreeSet<Plugin>, given_as: &str) -> Result<(), SpecError> {
        let refuse = |problem: String, fix: &str| Err(SpecError::new(problem, fix));
        if plugins.contains(&Plugin::DebugWitness) {
            return refuse(
                format!("{given_as} loads debug_witness, a plugin for development chains"),
                "remove debug_witness: it has no place on mainnet or the testnet",
            );
        }
        if plugins.contains(&Plugin::Witness) && !self.producer {
            return refuse(
                format!("{given_as} loads the witness plugin, but the node is not a producer"),
                "add --mode producer, or remove witness from the plugins",
            );
        }
        let history_plugin = [Plugin::AccountHistory, Plugin::Elasticsearch]
            .into_iter()
            .find(|p| plugins.contains(p) && !self.implied().contains(p));
        if let Some(plugin) = history_plugin {
            return refuse(
                format!("{given_as} loads {plugin}, but --history is {}", self.history),
                "choose the history with --history (low|full load account_history, es loads elasticsearch)",
            );
        }
        if plugins.contains(&Plugin::DelayedNode) && (self.producer || self.seed) {
            return refuse(
                format!("{given_as} loads delayed_node, which turns P2P off, but the node is a producer or seed"),
                "remove delayed_node, or run it on a separate node that is neither producer nor seed",
            );
        }
        Ok(())
    }
}

fn unknown(name: &str, given_as: &str) -> SpecError {
    let names: Vec<&str> = Plugin::ALL.iter().map(|p| p.name()).collect();
    let fix = match crate::spec::suggest(name, names.iter().copied()) {
        Some(near) => format!("did you mean {near}?"),
        None => format!("witness_node 7.0.2 has: {}", names.join(" ")),
    };
    SpecError::new(
        format!("{given_as}: {name:?} is not a witness_node plugin (it would exit with \"Unknown plugin\")"),
        fix,
    )
}
