//! witness_node 7.0.2's options (`witness_node --help`, in the order it prints them): each one's
//! value type, whether it may repeat, the plugin that reads it, and who may set it. The extra
//! config is checked against this table, because witness_node silently ignores an unknown key
//! in config.ini, aborts on a repeated option or a value of the wrong type, and quietly does
//! nothing with an option of a plugin it has not loaded.

use crate::plugins::Plugin;
use crate::spec::Setting;

/// The type of an option's value, as witness_node parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// boost's bool: true/false, 1/0, yes/no, on/off.
    Bool,
    /// An unsigned integer with this many bits.
    Unsigned(u32),
    /// A percentage, 0 to 100 (witness_node asserts it).
    Percent,
    /// Any non-empty text.
    Text,
    /// `host:port`.
    HostPort,
    /// A JSON-quoted account id, `"1.2.17"`.
    AccountIdJson,
    /// A JSON value.
    Json,
    /// A file or directory path.
    Path,
    /// One of these words.
    Choice(&'static [&'static str]),
}

/// Who may set an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// An extra config may set it.
    Extra,
    /// The launcher renders it from this setting; an extra config may not set it.
    Managed(Setting),
    /// witness_node reads it only from the command line and ignores it in config.ini.
    CommandLineOnly,
    /// Refused, for this reason.
    Refused(&'static str),
}

/// One witness_node option.
#[derive(Debug, Clone, Copy)]
pub struct NodeOption {
    /// Its name, without `--`.
    pub name: &'static str,
    /// Its value type.
    pub kind: Kind,
    /// Whether it may be given more than once.
    pub repeatable: bool,
    /// The plugin that reads it (`None`: the application itself).
    pub plugin: Option<Plugin>,
    /// Who may set it.
    pub usage: Usage,
}

const fn opt(name: &'static str, kind: Kind) -> NodeOption {
    NodeOption {
        name,
        kind,
        repeatable: false,
        plugin: None,
        usage: Usage::Extra,
    }
}

impl NodeOption {
    const fn many(mut self) -> Self {
        self.repeatable = true;
        self
    }
    const fn of(mut self, plugin: Plugin) -> Self {
        self.plugin = Some(plugin);
        self
    }
    const fn managed(mut self, setting: Setting) -> Self {
        self.usage = Usage::Managed(setting);
        self
    }
    const fn cli(mut self) -> Self {
        self.usage = Usage::CommandLineOnly;
        self
    }
    const fn refused(mut self, why: &'static str) -> Self {
        self.usage = Usage::Refused(why);
        self
    }
}

/// The `api-limit-*` options of witness_node 7.0.2 (each a `uint32`, set by the `api-limit` setting).
pub const API_LIMITS: [&str; 37] = [
    "api-limit-get-account-history-operations",
    "api-limit-get-account-history",
    "api-limit-get-grouped-limit-orders",
    "api-limit-get-market-history",
    "api-limit-get-relative-account-history",
    "api-limit-get-account-history-by-operations",
    "api-limit-get-asset-holders",
    "api-limit-get-key-references",
    "api-limit-get-htlc-by",
    "api-limit-get-full-accounts",
    "api-limit-get-full-accounts-lists",
    "api-limit-get-full-accounts-subscribe",
    "api-limit-get-top-voters",
    "api-limit-get-call-orders",
    "api-limit-get-settle-orders",
    "api-limit-get-assets",
    "api-limit-get-limit-orders",
    "api-limit-get-limit-orders-by-account",
    "api-limit-get-order-book",
    "api-limit-list-htlcs",
    "api-limit-lookup-accounts",
    "api-limit-lookup-witness-accounts",
    "api-limit-lookup-committee-member-accounts",
    "api-limit-lookup-vote-ids",
    "api-limit-get-account-limit-orders",
    "api-limit-get-collateral-bids",
    "api-limit-get-top-markets",
    "api-limit-get-trade-history",
    "api-limit-get-trade-history-by-sequence",
    "api-limit-get-withdraw-permissions-by-giver",
    "api-limit-get-withdraw-permissions-by-recipient",
    "api-limit-get-tickets",
    "api-limit-get-liquidity-pools",
    "api-limit-get-liquidity-pool-history",
    "api-limit-get-samet-funds",
    "api-limit-get-credit-offers",
    "api-limit-get-storage-info",
];

const TLS: &str = "TLS is terminated in front of the node (bts-infra gateway); an rpc-tls-endpoint would also \
    bypass the launcher's public-RPC check";
const STALE: &str = "enable-stale-production makes a producer sign on a stale fork; it is only for bootstrapping a \
    new isolated chain, never on mainnet or the testnet";
const IGNORE_HELPER: &str = "it switches off witness_node's api_helper_indexes check, with any value (even false); \
    the launcher adds api_helper_indexes whenever RPC is on";
const GENESIS: &str = "the network's genesis is compiled into witness_node; another genesis makes another chain";
const DEV_KEY: &str = "development chains only";

use Kind::{AccountIdJson, Bool, HostPort, Json, Path, Percent, Text, Unsigned};
use Plugin::{
    AccountHistory as AH, DebugWitness, DelayedNode, Elasticsearch as ES, EsObjects as EO, GroupedOrders,
    MarketHistory as MH, Snapshot, Witness,
};

/// Every option of witness_node 7.0.2 except the `api-limit-*` ones ([`API_LIMITS`]).
pub const OPTIONS: &[NodeOption] = &[
    opt("help", Bool).cli(),
    opt("data-dir", Path).managed(Setting::DataDir),
    opt("version", Bool).cli(),
    opt("plugins", Text).managed(Setting::Plugins),
    opt("ignore-api-helper-indexes-warning", Bool).refused(IGNORE_HELPER),
    opt("replay-blockchain", Bool).cli(),
    opt("revalidate-blockchain", Bool).cli(),
    opt("resync-blockchain", Bool).cli(),
    opt("force-validate", Bool).cli(),
    opt("genesis-timestamp", Unsigned(32)).cli(),
    opt("enable-p2p-network", Bool),
    opt("p2p-accept-incoming-connections", Bool).managed(Setting::Mode),
    opt("p2p-endpoint", HostPort).managed(Setting::P2pEndpoint),
    opt("p2p-inbound-endpoint", HostPort).managed(Setting::PublicAddress),
    opt("p2p-connect-to-new-peers", Bool),
    opt(
        "p2p-advertise-peer-algorithm",
        Kind::Choice(&["all", "nothing", "list", "exclude_list"]),
    ),
    opt("p2p-advertise-peer-endpoint", HostPort).many(),
    opt("p2p-exclude-peer-endpoint", HostPort).many(),
    opt("seed-node", HostPort).many().managed(Setting::SeedNode),
    opt("seed-nodes", Json).managed(Setting::BuiltinSeeds),
    opt("checkpoint", Json).many(),
    opt("rpc-endpoint", HostPort).managed(Setting::RpcEndpoint),
    opt("rpc-tls-endpoint", HostPort).refused(TLS),
    opt("server-pem", Path),
    opt("server-pem-password", Text),
    opt("proxy-forwarded-for-header", Text),
    opt("genesis-json", Path).refused(GENESIS),
    opt("dbg-init-key", Text).refused(DEV_KEY),
    opt("api-node-info", Text),
    opt("api-access", Path),
    opt("io-threads", Unsigned(16)),
    opt("enable-subscribe-to-all", Bool),
    opt("enable-standby-votes-tracking", Bool),
    // witness
    opt("enable-stale-production", Bool).of(Witness).refused(STALE),
    opt("required-participation", Percent).of(Witness),
    opt("witness-id", Text).many().of(Witness).managed(Setting::WitnessId),
    opt("private-key", Json).many().of(Witness).managed(Setting::KeyFile),
    opt("private-key-file", Path)
        .many()
        .of(Witness)
        .managed(Setting::KeyFile),
    opt("debug-private-key", Json).many().of(DebugWitness).refused(DEV_KEY),
    // account_history
    opt("track-account", AccountIdJson)
        .many()
        .of(AH)
        .managed(Setting::TrackAccount),
    opt("partial-operations", Bool).of(AH).managed(Setting::History),
    opt("max-ops-per-account", Unsigned(64))
        .of(AH)
        .managed(Setting::History),
    opt("extended-max-ops-per-account", Unsigned(64)).of(AH),
    opt("extended-history-by-account", AccountIdJson).many().of(AH),
    opt("extended-history-by-registrar", AccountIdJson).many().of(AH),
    opt("min-blocks-to-keep", Unsigned(32)).of(AH),
    opt("max-ops-per-acc-by-min-blocks", Unsigned(64)).of(AH),
    // elasticsearch
    opt("elasticsearch-node-url", Text).of(ES).managed(Setting::EsUrl),
    opt("elasticsearch-basic-auth", Text).of(ES),
    opt("elasticsearch-bulk-replay", Unsigned(32)).of(ES),
    opt("elasticsearch-bulk-sync", Unsigned(32)).of(ES),
    opt("elasticsearch-index-prefix", Text)
        .of(ES)
        .managed(Setting::EsIndexPrefix),
    opt("elasticsearch-max-mapping-depth", Unsigned(16)).of(ES),
    opt("elasticsearch-start-es-after-block", Unsigned(32)).of(ES),
    opt("elasticsearch-visitor", Bool).of(ES),
    opt("elasticsearch-operation-object", Bool).of(ES),
    opt("elasticsearch-operation-string", Bool)
        .of(ES)
        .managed(Setting::History),
    opt("elasticsearch-mode", Unsigned(16)).of(ES).managed(Setting::History),
    // market_history
    opt("bucket-size", Json).of(MH),
    opt("history-per-size", Unsigned(32)).of(MH),
    opt("max-order-his-records-per-market", Unsigned(32)).of(MH),
    opt("max-order-his-seconds-per-market", Unsigned(32)).of(MH),
    // delayed_node, snapshot
    opt("trusted-node", Text).of(DelayedNode),
    opt("snapshot-at-block", Unsigned(32)).of(Snapshot),
    opt("snapshot-at-time", Text).of(Snapshot),
    opt("snapshot-to", Path).of(Snapshot),
    // es_objects
    opt("es-objects-elasticsearch-url", Text).of(EO),
    opt("es-objects-auth", Text).of(EO),
    opt("es-objects-bulk-replay", Unsigned(32)).of(EO),
    opt("es-objects-bulk-sync", Unsigned(32)).of(EO),
    opt("es-objects-proposals", Bool).of(EO),
    opt("es-objects-proposals-store-updates", Bool).of(EO),
    opt("es-objects-proposals-no-delete", Bool).of(EO),
    opt("es-objects-accounts", Bool).of(EO),
    opt("es-objects-accounts-store-updates", Bool).of(EO),
    opt("es-objects-assets", Bool).of(EO),
    opt("es-objects-assets-store-updates", Bool).of(EO),
    opt("es-objects-balances", Bool).of(EO),
    opt("es-objects-balances-store-updates", Bool).of(EO),
    opt("es-objects-limit-orders", Bool).of(EO),
    opt("es-objects-limit-orders-store-updates", Bool).of(EO),
    opt("es-objects-limit-orders-no-delete", Bool).of(EO),
    opt("es-objects-asset-bitasset", Bool).of(EO),
    opt("es-objects-asset-bitasset-store-updates", Bool).of(EO),
    opt("es-objects-budget-records", Bool).of(EO),
    opt("es-objects-index-prefix", Text).of(EO),
    opt("es-objects-max-mapping-depth", Unsigned(16)).of(EO),
    opt("es-objects-keep-only-current", Bool).of(EO),
    opt("es-objects-start-es-after-block", Unsigned(32)).of(EO),
    opt("es-objects-sync-db-on-startup", Bool).of(EO),
    // grouped_orders, custom_operations
    opt("tracked-groups", Json).of(GroupedOrders),
    opt("custom-operations-start-block", Unsigned(32)).of(Plugin::CustomOperations),
];

/// The option called `name` (without `--`), `api-limit-*` included.
pub fn find(name: &str) -> Option<NodeOption> {
    if let Some(limit) = API_LIMITS.iter().find(|l| **l == name) {
        return Some(opt(limit, Unsigned(32)).managed(Setting::ApiLimit));
    }
    OPTIONS.iter().find(|o| o.name == name).copied()
}

/// Every option name, for suggestions.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().map(|o| o.name).chain(API_LIMITS)
}

impl Kind {
    /// Checks `value` as witness_node would parse it. The error is a clause to follow the option's
    /// name ("is not a boolean: true or false"); it never repeats the value.
    pub fn check(self, value: &str) -> Result<(), String> {
        let ok = match self {
            Kind::Bool => {
                ["true", "false", "1", "0", "yes", "no", "on", "off"].contains(&value.to_ascii_lowercase().as_str())
            }
            Kind::Unsigned(bits) => {
                value.bytes().all(|b| b.is_ascii_digit())
                    && value.parse::<u64>().is_ok_and(|n| bits >= 64 || n < (1u64 << bits))
            }
            Kind::Percent => value.parse::<u8>().is_ok_and(|n| n <= 100),
            Kind::Text | Kind::Path => true,
            Kind::HostPort => value.parse::<crate::spec::SeedNode>().is_ok(),
            Kind::AccountIdJson => return check_quoted_account(value),
            Kind::Json => serde_json::from_str::<serde_json::Value>(value).is_ok(),
            Kind::Choice(words) => words.contains(&value),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("is not {}", self.expected()))
        }
    }

    fn expected(self) -> String {
        match self {
            Kind::Bool => "a boolean: true or false".to_owned(),
            Kind::Unsigned(bits) => {
                let max = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
                format!("a whole number from 0 to {max}")
            }
            Kind::Percent => "a percentage from 0 to 100".to_owned(),
            Kind::Text | Kind::Path => "a value".to_owned(),
            Kind::HostPort => "HOST:PORT".to_owned(),
            Kind::AccountIdJson => "a JSON-quoted account id such as \"1.2.17\"".to_owned(),
            Kind::Json => "valid JSON (e.g. [60,300] or \"text\")".to_owned(),
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
        }
    }
}

/// witness_node parses these ids as JSON: an unquoted `1.2.17` makes it exit ("Can't parse a number
/// with two decimal places").
fn check_quoted_account(value: &str) -> Result<(), String> {
    let inner = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
    match inner {
        Some(id) if id.parse::<bts_protocol::AccountId>().is_ok() => Ok(()),
        Some(id) => Err(format!("holds {id:?}, which is not an account id (1.2.N)")),
        None if value.parse::<bts_protocol::AccountId>().is_ok() => Err(format!(
            "must be JSON-quoted: write \"{value}\" (unquoted, witness_node exits with a parse error)"
        )),
        None => Err("is not a JSON-quoted account id such as \"1.2.17\"".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_each_option_once() {
        let mut names: Vec<&str> = all_names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "an option is listed twice");
        assert_eq!(
            find("api-limit-lookup-accounts").map(|o| o.name),
            Some("api-limit-lookup-accounts")
        );
        assert!(find("api-limit-nope").is_none());
        assert_eq!(find("track-account").map(|o| o.repeatable), Some(true));
    }

    #[test]
    fn values_are_checked_as_witness_node_parses_them() {
        assert!(Kind::Bool.check("TRUE").is_ok());
        assert!(Kind::Bool.check("maybe").is_err());
        assert!(Kind::Unsigned(16).check("65535").is_ok());
        assert!(Kind::Unsigned(16).check("65536").is_err());
        assert!(Kind::Unsigned(64).check("-1").is_err());
        assert!(Kind::Unsigned(32).check("abc").is_err());
        assert!(Kind::Percent.check("101").is_err());
        assert!(Kind::AccountIdJson.check("\"1.2.17\"").is_ok());
        assert!(Kind::AccountIdJson.check("1.2.17").unwrap_err().contains("JSON-quoted"));
        assert!(Kind::Json.check("[60,300").is_err());
    }
}
