//! The configuration file as written: serde structs that mirror the TOML (kebab-case keys, unknown
//! keys refused, durations and addresses still text), and the key path of a TOML error.
//!
//! Everything here is optional so that a missing key can get its default, and everything that has
//! a format of its own (durations, addresses, chain ids, URLs) stays a string, so its error is
//! reported by the validation in the parent module with the key path and the expected form.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub(crate) server: RawServer,
    #[serde(default)]
    pub(crate) limits: RawLimits,
    #[serde(default)]
    pub(crate) cache: RawCache,
    #[serde(default)]
    pub(crate) admin: RawAdmin,
    #[serde(default)]
    pub(crate) health: RawHealth,
    #[serde(default)]
    pub(crate) network: Vec<RawNetwork>,
    pub(crate) tls: Option<RawTls>,
    #[serde(default)]
    pub(crate) http_route: Vec<RawHttpRoute>,
}

/// `[tls]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTls {
    pub(crate) listen: Option<String>,
    pub(crate) redirect_listen: Option<String>,
    pub(crate) public_port: Option<i64>,
    pub(crate) hsts: Option<String>,
    pub(crate) hsts_include_subdomains: Option<bool>,
    pub(crate) reload_interval: Option<String>,
    #[serde(default)]
    pub(crate) certificate: Vec<RawCertFile>,
    pub(crate) acme: Option<RawAcme>,
}

/// One `[[tls.certificate]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCertFile {
    pub(crate) cert: Option<String>,
    pub(crate) key: Option<String>,
}

/// `[tls.acme]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAcme {
    pub(crate) directory: Option<String>,
    pub(crate) directory_ca: Option<String>,
    pub(crate) contact: Option<Vec<String>>,
    pub(crate) domains: Option<Vec<String>>,
    pub(crate) challenge: Option<String>,
    pub(crate) dns_hook: Option<String>,
    pub(crate) dns_wait: Option<String>,
    pub(crate) state_dir: Option<String>,
    pub(crate) renew_before: Option<String>,
    pub(crate) retry_initial: Option<String>,
    pub(crate) retry_max: Option<String>,
    pub(crate) eab_kid: Option<String>,
    pub(crate) eab_hmac_key_env: Option<String>,
}

/// One `[[http-route]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawHttpRoute {
    pub(crate) path_prefix: Option<String>,
    #[serde(default)]
    pub(crate) hosts: Vec<String>,
    pub(crate) upstream: Option<String>,
    pub(crate) strip_prefix: Option<bool>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawServer {
    pub(crate) listen: Option<String>,
    pub(crate) trusted_proxies: Option<Vec<String>>,
    pub(crate) forward_client_ip_header: Option<String>,
    pub(crate) listen_backlog: Option<i64>,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawLimits {
    pub(crate) requests_per_second_per_ip: Option<i64>,
    pub(crate) burst: Option<i64>,
    pub(crate) ws_connections_per_ip: Option<i64>,
    pub(crate) ws_connections_total: Option<i64>,
    pub(crate) max_message_bytes: Option<i64>,
    pub(crate) request_timeout: Option<String>,
    pub(crate) header_read_timeout: Option<String>,
    pub(crate) body_read_timeout: Option<String>,
    pub(crate) max_batch_length: Option<i64>,
}

/// `[cache]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCache {
    pub(crate) enabled: Option<bool>,
    pub(crate) max_entries: Option<i64>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAdmin {
    pub(crate) token_env: Option<String>,
}

/// `[health]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawHealth {
    pub(crate) interval: Option<String>,
    pub(crate) timeout: Option<String>,
    pub(crate) max_lag_blocks: Option<i64>,
    pub(crate) fail_threshold: Option<i64>,
    pub(crate) success_threshold: Option<i64>,
    pub(crate) stall_after: Option<String>,
}

/// One `[[network]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawNetwork {
    pub(crate) name: Option<String>,
    pub(crate) chain_id: Option<String>,
    #[serde(default)]
    pub(crate) hosts: Vec<String>,
    pub(crate) paths: Option<Vec<String>>,
    pub(crate) selection: Option<String>,
    #[serde(default)]
    pub(crate) deny_methods: Vec<String>,
    pub(crate) geo: Option<RawGeo>,
    #[serde(default)]
    pub(crate) backend: Vec<RawBackend>,
}

/// `[network.geo]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawGeo {
    pub(crate) database: Option<String>,
    #[serde(default)]
    pub(crate) prefer: BTreeMap<String, Vec<String>>,
}

/// One `[[network.backend]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawBackend {
    pub(crate) url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) weight: Option<i64>,
    pub(crate) http_keep_alive: Option<bool>,
}

/// A TOML error located in the text: the key path when it can be told, and line and column.
#[derive(Debug)]
pub(crate) struct Located {
    pub(crate) key: Option<String>,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

/// Parses the text; a syntax or type error is located by line, column and key path.
pub(crate) fn parse(text: &str) -> Result<RawConfig, Located> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let (line, column) = line_column(text, offset);
        Located {
            key: e.span().and_then(|_| key_path_at(text, offset)),
            line,
            column,
            // serde names Rust types; a person writing TOML thinks in TOML's.
            message: e
                .message()
                .trim()
                .replace("expected i64", "expected a whole number")
                .replace("expected a boolean", "expected true or false"),
        }
    })
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The key path (`network[0].backend[1].weight`) of the key whose line holds `offset`: the last
/// table header before it, with array-of-tables indices counted, and the key on that line.
///
/// This reads the layout the example file uses (one key per line, headers on their own lines);
/// for anything else it returns what it can and the caller still shows line and column.
fn key_path_at(text: &str, offset: usize) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut table = String::new();
    let mut position = 0;
    let mut key_on_line = None;
    for line in text.split_inclusive('\n') {
        let start = position;
        position += line.len();
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix("[[").and_then(|h| h.split("]]").next()) {
            let name = header.trim().to_owned();
            let index = counts.get(&name).copied().unwrap_or(0);
            // A new element of `network` starts its own `network.backend` count.
            counts.retain(|k, _| !k.starts_with(&format!("{name}.")));
            counts.insert(name.clone(), index + 1);
            table = indexed_path(&name, &counts, index);
        } else if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.split(']').next()) {
            table = indexed_path(header.trim(), &counts, usize::MAX);
        }
        if (start..position.max(start + 1)).contains(&offset) {
            key_on_line = trimmed
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_owned())
                .filter(|k| !k.is_empty() && !k.starts_with('['));
            break;
        }
    }
    match (table.is_empty(), key_on_line) {
        (true, None) => None,
        (true, Some(k)) => Some(k),
        (false, None) => Some(table),
        (false, Some(k)) => Some(format!("{table}.{k}")),
    }
}

/// `network.backend` with the current index of every array-of-tables prefix: `network[0].backend[2]`.
/// `own` is the index of the last segment when it is itself an array element (`usize::MAX`: not).
fn indexed_path(dotted: &str, counts: &BTreeMap<String, usize>, own: usize) -> String {
    let segments: Vec<&str> = dotted.split('.').map(str::trim).collect();
    let mut out = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let prefix = segments[..=i].join(".");
        let last = i + 1 == segments.len();
        let index = if last && own != usize::MAX {
            Some(own)
        } else {
            counts.get(&prefix).map(|n| n.saturating_sub(1))
        };
        out.push(match index {
            Some(n) => format!("{segment}[{n}]"),
            None => (*segment).to_owned(),
        });
    }
    out.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_count_array_tables() {
        let text = "[server]\nlisten = 1\n[[network]]\nname = \"a\"\n[[network.backend]]\nurl = \"x\"\n\
                    [[network.backend]]\nweight = \"heavy\"\n[[network]]\nname = 5\n[[network.backend]]\nregion = 7\n";
        let at = |needle: &str| key_path_at(text, text.find(needle).unwrap());
        assert_eq!(at("listen").as_deref(), Some("server.listen"));
        assert_eq!(at("url").as_deref(), Some("network[0].backend[0].url"));
        assert_eq!(at("\"heavy\"").as_deref(), Some("network[0].backend[1].weight"));
        assert_eq!(at("name = 5").as_deref(), Some("network[1].name"));
        assert_eq!(at("region").as_deref(), Some("network[1].backend[0].region"));
    }

    #[test]
    fn type_errors_name_their_key() {
        let e = parse("[health]\nfail-threshold = \"two\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("health.fail-threshold"));
        assert_eq!((e.line, e.column), (2, 18));
        let e = parse("[[network]]\nname = \"m\"\ncolour = 1\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("network[0].colour"));
        assert!(e.message.contains("unknown field `colour`"), "{}", e.message);
    }
}
