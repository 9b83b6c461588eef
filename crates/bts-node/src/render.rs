//! Rendering a [`NodeSpec`] into witness_node's config.ini and command line, using only lines that
//! a real witness_node 7.0.2 accepted for each mode (`node-modes-verified.md`, "Mode →
//! configuration"). Pure: the text is the same for the same spec.
//!
//! The producer's keys are referenced by `private-key-file`, never written into config.ini, so
//! the file holds no secret and can be printed, diffed and stored on the data volume; `seed-nodes`
//! appears only here, never on the command line (witness_node aborts when it is given in both).

use crate::spec::{History, NodeSpec};
use serde::Serialize;
use std::fmt::Write as _;

/// What witness_node is started with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The text of `<data-dir>/config.ini`.
    pub config_ini: String,
    /// The arguments after the program name.
    pub args: Vec<String>,
}

impl Rendered {
    /// The command line as a shell would take it: `witness_node --data-dir /var/lib/bitshares`.
    pub fn command_line(&self, program: &str) -> String {
        std::iter::once(program)
            .chain(self.args.iter().map(String::as_str))
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Renders the config and command line of `spec`.
pub fn render(spec: &NodeSpec) -> Rendered {
    let mut out = String::new();
    header(&mut out, spec);
    p2p(&mut out, spec);
    rpc(&mut out, spec);
    producer(&mut out, spec);
    history(&mut out, spec);
    extra(&mut out, spec);
    let mut args = vec!["--data-dir".to_owned(), spec.data_dir.display().to_string()];
    if spec.replay {
        args.push("--replay-blockchain".to_owned());
    }
    Rendered { config_ini: out, args }
}

// `writeln!` into a String cannot fail; the results are ignored throughout.

fn header(out: &mut String, spec: &NodeSpec) {
    let _ = writeln!(
        out,
        "# witness_node 7.0 config rendered by bts-infra node: {}.",
        spec.summary()
    );
    let _ = writeln!(
        out,
        "# `bts-infra node run` rewrites this file at every start: change the spec, not this file."
    );
    let plugins: Vec<&str> = spec.plugins.iter().map(|p| p.name()).collect();
    if plugins.is_empty() {
        let _ = writeln!(
            out,
            "\n# No plugins (without this line witness_node would load its default set).\nplugins ="
        );
    } else {
        if spec.rpc.is_some() && crate::apis::default_api_plugins().is_subset(&spec.plugins) {
            let _ = writeln!(
                out,
                "\n# RPC is on: market_history, grouped_orders and custom_operations back the APIs any client may\n\
                 # open. witness_node 7.0.2 crashes at shutdown, before writing its database, once a client has\n\
                 # asked for the API of a plugin it does not load (bitshares-core issue 2717)."
            );
        } else {
            out.push('\n');
        }
        let _ = writeln!(out, "plugins = {}", plugins.join(" "));
    }
}

fn p2p(out: &mut String, spec: &NodeSpec) {
    let p2p = &spec.p2p;
    match p2p.listen {
        Some(listen) => {
            let _ = writeln!(out, "\n# P2P: a seed accepts incoming peers.");
            let _ = writeln!(out, "p2p-endpoint = {listen}");
            let _ = writeln!(out, "p2p-accept-incoming-connections = true");
            if let Some(public) = p2p.public_address {
                let _ = writeln!(out, "p2p-inbound-endpoint = {public}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\n# P2P: not a seed, so outbound connections only (no listening socket)."
            );
            let _ = writeln!(out, "p2p-accept-incoming-connections = false");
        }
    }
    for node in &p2p.seed_nodes {
        let _ = writeln!(out, "seed-node = {}", node.as_str());
    }
    if !p2p.builtin_seeds {
        let _ = writeln!(
            out,
            "# Only the seed nodes above, not the list compiled into witness_node."
        );
        let _ = writeln!(out, "seed-nodes = []");
    }
}

fn rpc(out: &mut String, spec: &NodeSpec) {
    match spec.rpc {
        Some(addr) => {
            let reach = if addr.ip().is_loopback() {
                "this host only"
            } else {
                "other hosts too"
            };
            let _ = writeln!(out, "\n# RPC (WebSocket and HTTP), reachable from {reach}.");
            let _ = writeln!(out, "rpc-endpoint = {addr}");
            for (name, value) in &spec.api_limits {
                let _ = writeln!(out, "{name} = {value}");
            }
        }
        None => {
            let _ = writeln!(out, "\n# RPC off: no rpc-endpoint line.");
        }
    }
}

fn producer(out: &mut String, spec: &NodeSpec) {
    let Some(producer) = &spec.producer else { return };
    let _ = writeln!(
        out,
        "\n# Block producer. The keys stay in the key file: this file holds no secret."
    );
    for id in &producer.witness_ids {
        let _ = writeln!(out, "witness-id = \"{id}\"");
    }
    let _ = writeln!(out, "private-key-file = {}", producer.key_file.display());
    let _ = writeln!(out, "enable-stale-production = false");
}

fn history(out: &mut String, spec: &NodeSpec) {
    match &spec.history {
        History::None => {
            let _ = writeln!(out, "\n# History none: no account history plugin.");
        }
        History::Low => history_low(out, spec),
        History::Full => {
            let _ = writeln!(
                out,
                "\n# History full: every operation (no partial-operations or max-ops-per-account line)."
            );
        }
        History::Es { url, index_prefix } => {
            let _ = writeln!(out, "\n# History es: stored in and served from Elasticsearch.");
            let _ = writeln!(out, "elasticsearch-node-url = {}", url.as_str());
            let _ = writeln!(out, "elasticsearch-index-prefix = {index_prefix}");
            let _ = writeln!(out, "elasticsearch-mode = 2");
            let _ = writeln!(out, "elasticsearch-operation-string = true");
        }
    }
    for account in &spec.track_accounts {
        let _ = writeln!(out, "track-account = \"{account}\"");
    }
}

/// witness_node 7.0 keeps, per account, the newest `max-ops-per-account` operations and also
/// every older one from the latest `min-blocks-to-keep` blocks, up to
/// `max-ops-per-acc-by-min-blocks` in all (account_history_plugin.cpp). Both limits are written
/// out, at witness_node's defaults, so that the file says what the node keeps; an extra config
/// may set them instead (a second line would make witness_node abort).
fn history_low(out: &mut String, spec: &NodeSpec) {
    let _ = writeln!(
        out,
        "\n# History low: per account, the last 100 operations, and every operation of the latest\n\
         # min-blocks-to-keep blocks (30000, about 25 hours at 3-second blocks), up to\n\
         # max-ops-per-acc-by-min-blocks (1000) operations in all."
    );
    let _ = writeln!(out, "partial-operations = true");
    let _ = writeln!(out, "max-ops-per-account = 100");
    for (name, default) in [("min-blocks-to-keep", 30_000), ("max-ops-per-acc-by-min-blocks", 1000)] {
        if spec.extra.get(name).is_some() {
            let _ = writeln!(out, "# {name}: set by the extra config below.");
        } else {
            let _ = writeln!(out, "{name} = {default}");
        }
    }
}

fn extra(out: &mut String, spec: &NodeSpec) {
    if spec.extra.options.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n# From the extra config {}.", spec.extra.source);
    for (name, value) in &spec.extra.options {
        let _ = writeln!(out, "{name} = {value}");
    }
}

/// Quotes `word` for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("/var/lib/bitshares"), "/var/lib/bitshares");
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
