//! The extra config: a config.ini fragment of further witness_node options (`--extra-config`),
//! checked line by line against witness_node 7.0.2's option table before the node sees it.
//!
//! witness_node reads config.ini with boost's parser: `NAME = VALUE` lines, `#` starts a comment
//! anywhere on a line, unknown names are silently ignored, a single-valued option given twice or a
//! value of the wrong type aborts the process. Each of those is refused here with its line number.

use crate::apis::ApiSet;
use crate::options::{self, NodeOption, Usage};
use crate::plugins::Plugin;
use crate::spec::{Setting, SpecError, suggest};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A checked extra config, in its original order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtraConfig {
    /// Where it came from (a path), for the rendered config's comment.
    pub source: String,
    /// `(name, value)` per option line.
    pub options: Vec<(String, String)>,
}

impl ExtraConfig {
    /// Parses and checks `text`. `plugins` are the plugins the node loads: an option of another
    /// plugin would do nothing, so it is refused.
    pub fn parse(text: &str, source: &str, plugins: &BTreeSet<Plugin>) -> Result<ExtraConfig, SpecError> {
        let mut options = Vec::new();
        let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let at = Line {
                source,
                number: index + 1,
            };
            let Some((name, value)) = at.split(line)? else { continue };
            let option = at.check(name, value, plugins)?;
            if let Some(first) = first_seen.get(name)
                && !option.repeatable
            {
                return Err(at.refuse(
                    format!("{name} is repeated (first on line {first}): witness_node aborts when a single-valued option appears twice"),
                    "keep one of the lines",
                ));
            }
            first_seen.entry(name.to_owned()).or_insert(at.number);
            options.push((name.to_owned(), value.to_owned()));
        }
        Ok(ExtraConfig {
            source: source.to_owned(),
            options,
        })
    }

    /// The value of `name`, if the extra config sets it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One line of the file, for messages.
struct Line<'a> {
    source: &'a str,
    number: usize,
}

impl Line<'_> {
    fn refuse(&self, problem: String, fix: impl Into<String>) -> SpecError {
        SpecError::new(format!("{} line {}: {problem}", self.source, self.number), fix)
    }

    /// Splits `NAME = VALUE` the way boost does; `None` for blank and comment lines.
    fn split<'l>(&self, line: &'l str) -> Result<Option<(&'l str, &'l str)>, SpecError> {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            return Ok(None);
        }
        if line.starts_with('[') {
            return Err(self.refuse(
                "a [section] is not a node option (logging sections belong in logging.ini)".to_owned(),
                "remove the section from the extra config",
            ));
        }
        match line.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => Ok(Some((name.trim(), value.trim()))),
            _ => Err(self.refuse(
                "not a NAME = VALUE line: witness_node aborts on it".to_owned(),
                "write NAME = VALUE, or comment the line out with #",
            )),
        }
    }

    /// Checks one option: known, allowed here, of a loaded plugin, non-empty, well typed.
    fn check(&self, name: &str, value: &str, plugins: &BTreeSet<Plugin>) -> Result<NodeOption, SpecError> {
        let option = options::find(name).ok_or_else(|| self.unknown(name))?;
        self.check_usage(&option)?;
        if let Some(plugin) = option.plugin
            && !plugins.contains(&plugin)
        {
            return Err(self.refuse(
                format!("{name} is read by the {plugin} plugin, which this node does not load, so it would do nothing"),
                format!(
                    "remove the line, or load {plugin} (it follows from --mode and --history, or add it with --plugins)"
                ),
            ));
        }
        if value.is_empty() {
            return Err(self.refuse(
                format!(
                    "{name} has an empty value: in config.ini that is not the option's bare-flag default \
                     (an empty proxy-forwarded-for-header turns the feature off, an empty endpoint makes the node exit)"
                ),
                "write the value out, or remove the line",
            ));
        }
        option.kind.check(value).map_err(|clause| {
            self.refuse(
                format!("{name} {clause}; witness_node aborts or exits on a value of the wrong type"),
                "fix the value",
            )
        })?;
        Ok(option)
    }

    fn check_usage(&self, option: &NodeOption) -> Result<(), SpecError> {
        let name = option.name;
        match option.usage {
            Usage::Extra => Ok(()),
            Usage::Managed(setting) => Err(self.refuse(
                format!("{name} is rendered by the launcher from the spec's {setting} setting"),
                managed_fix(setting),
            )),
            Usage::CommandLineOnly => Err(self.refuse(
                format!("{name} works only on witness_node's command line; in config.ini it is silently ignored"),
                if name == "replay-blockchain" {
                    "remove the line and start once with --replay (BTS_NODE_REPLAY=true)".to_owned()
                } else {
                    "remove the line; run witness_node by hand for this one-off".to_owned()
                },
            )),
            Usage::Refused(why) => Err(self.refuse(format!("{name} is refused: {why}"), "remove the line")),
        }
    }

    fn unknown(&self, name: &str) -> SpecError {
        let fix = match suggest(name, options::all_names()) {
            Some(near) => format!("did you mean {near}?"),
            None => "remove the line (see `witness_node --help` for the options of 7.0.2)".to_owned(),
        };
        self.refuse(
            format!("witness_node 7.0.2 has no option {name:?}; it would ignore the line without a word"),
            fix,
        )
    }
}

fn managed_fix(setting: Setting) -> String {
    match setting {
        Setting::Mode => "remove the line: --mode seed decides whether the node accepts incoming peers".to_owned(),
        Setting::History => "remove the line: --history low|full|es decides the history options".to_owned(),
        Setting::BuiltinSeeds => {
            "remove the line: use --builtin-seeds false and --seed-node HOST:PORT (seed-nodes may come from one place only)"
                .to_owned()
        }
        _ => format!("remove the line and use {}", setting.all_ways()),
    }
}

/// A valid api-access file, for messages.
pub const API_ACCESS_EXAMPLE: &str = "{\"permission_map\": [[\"*\", {\"password_hash_b64\": \"*\", \"password_salt_b64\": \"*\", \
    \"allowed_apis\": [\"database_api\", \"network_broadcast_api\", \"history_api\"]}]]}";

/// Checks the text of an `api-access` file and returns the API sets any client may open with it
/// (the union over its users: whoever logs in as any of them gets that user's sets). witness_node
/// reads the file as fc serialises a map: an array of `[user, permissions]` pairs; an object there
/// makes it exit ("Invalid cast from object_type to Array"). An unknown name in `allowed_apis`
/// opens nothing and is most likely a misspelling, so it is refused too. The error is a clause to
/// follow the file's name.
pub fn check_api_access(text: &str) -> Result<BTreeSet<ApiSet>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("is not JSON ({e})"))?;
    let map = value.get("permission_map").ok_or("has no permission_map")?;
    let pairs = map.as_array().ok_or(
        "has a permission_map that is not an array of [user, permissions] pairs; witness_node exits (\"Invalid cast from object_type to Array\")",
    )?;
    let allowed = |p: &serde_json::Value| {
        let p = p.as_array().filter(|p| p.len() == 2 && p[0].is_string())?;
        p[1].get("allowed_apis")?.as_array().cloned()
    };
    let mut open = BTreeSet::new();
    for pair in pairs {
        let names =
            allowed(pair).ok_or("has a permission_map entry that is not [\"user\", {..., \"allowed_apis\": [...]}]")?;
        for name in names {
            let name = name.as_str().ok_or("has an allowed_apis entry that is not a string")?;
            let set = ApiSet::from_name(name).ok_or_else(|| {
                let near = suggest(name, ApiSet::ALL.iter().map(|a| a.name()))
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                format!("allows {name:?}, which is not an API set of witness_node 7.0.2{near}; it would open nothing")
            })?;
            open.insert(set);
        }
    }
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExtraConfig, String> {
        let plugins = BTreeSet::from([Plugin::AccountHistory, Plugin::ApiHelperIndexes, Plugin::MarketHistory]);
        ExtraConfig::parse(text, "extra.ini", &plugins).map_err(|e| e.problem)
    }

    #[test]
    fn keeps_valid_options_and_strips_comments() {
        let extra = parse("# tuning\nmin-blocks-to-keep = 1000 # fewer\n\nextended-history-by-account = \"1.2.17\"\nextended-history-by-account = \"1.2.18\"\n").unwrap();
        assert_eq!(extra.get("min-blocks-to-keep"), Some("1000"));
        assert_eq!(extra.options.len(), 3);
    }

    #[test]
    fn refuses_what_witness_node_would_mishandle() {
        assert!(parse("partial-operation = true").unwrap_err().contains("ignore"));
        assert!(
            parse("history-per-size = 1\nhistory-per-size = 2")
                .unwrap_err()
                .contains("first on line 1")
        );
        assert!(parse("min-blocks-to-keep = abc").unwrap_err().contains("whole number"));
        assert!(
            parse("elasticsearch-bulk-sync = 10")
                .unwrap_err()
                .contains("does not load")
        );
        assert!(parse("proxy-forwarded-for-header =").unwrap_err().contains("empty"));
        assert!(parse("seed-nodes = []").unwrap_err().contains("builtin-seeds"));
        assert!(parse("replay-blockchain = true").unwrap_err().contains("command line"));
        assert!(parse("[log.console_appender.stderr]").unwrap_err().contains("section"));
        assert!(parse("just words").unwrap_err().contains("NAME = VALUE"));
    }

    #[test]
    fn an_api_access_file_opens_the_union_of_its_users_sets() {
        let text = r#"{"permission_map":[["bob",{"password_hash_b64":"x","password_salt_b64":"y","allowed_apis":["orders_api"]}],
            ["*",{"password_hash_b64":"*","password_salt_b64":"*","allowed_apis":["database_api"]}]]}"#;
        assert_eq!(
            check_api_access(text),
            Ok(BTreeSet::from([ApiSet::Database, ApiSet::Orders]))
        );
        let typo = r#"{"permission_map":[["*",{"allowed_apis":["histroy_api"]}]]}"#;
        assert!(
            check_api_access(typo)
                .unwrap_err()
                .contains("did you mean history_api?")
        );
        assert!(
            check_api_access(r#"{"permission_map":{"*":{}}}"#)
                .unwrap_err()
                .contains("Invalid cast")
        );
    }
}
