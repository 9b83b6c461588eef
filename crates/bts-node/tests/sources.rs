//! The three sources of a spec and their precedence: spec file < environment < flags, a higher
//! layer replacing a lower layer's value whole, each value remembering where it came from.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_node::spec::{HistoryLevel, NodeSpec, Origin, RawSpec, Setting};
use std::path::Path;
use support::MemFiles;

const FILE: &str = r#"
network = "mainnet"
mode = ["api"]
history = "full"
rpc-endpoint = "0.0.0.0:8090"
track-account = ["1.2.17"]
api-limit = { get-account-history = 250 }
"#;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn flags_over_environment_over_file() {
    let file = RawSpec::from_toml(FILE, Path::new("node.toml")).unwrap();
    let environment = RawSpec::from_env(env(&[
        ("BTS_NODE_HISTORY", "low"),
        ("BTS_NODE_TRACK_ACCOUNT", "1.2.18 1.2.19"),
        // Empty counts as unset: compose passes `VAR=` for an unset ${VAR}.
        ("BTS_NODE_RPC_ENDPOINT", ""),
        // The launcher's own variables and foreign ones are not spec settings.
        ("BTS_NODE_GRACE_PERIOD", "1m"),
        ("PATH", "/usr/bin"),
    ]))
    .unwrap();
    let mut flags = RawSpec::default();
    flags.set(Setting::TrackAccount, "1.2.20", Origin::Flag).unwrap();

    let merged = file.merge(environment).merge(flags);
    assert_eq!(merged.describe(Setting::History), "BTS_NODE_HISTORY");
    assert_eq!(merged.describe(Setting::RpcEndpoint), "rpc-endpoint in node.toml");
    assert_eq!(merged.describe(Setting::TrackAccount), "--track-account");
    assert_eq!(
        merged.describe(Setting::EsUrl),
        "--es-url (or BTS_NODE_ES_URL, or es-url in the spec file)"
    );

    let spec = NodeSpec::build(&merged, &MemFiles::default()).unwrap();
    assert_eq!(
        spec.history.level(),
        HistoryLevel::Low,
        "the environment overrides the file"
    );
    let tracked: Vec<String> = spec.track_accounts.iter().map(ToString::to_string).collect();
    assert_eq!(
        tracked,
        ["1.2.20"],
        "a list from a higher layer replaces the lower one whole"
    );
    assert_eq!(
        spec.rpc.unwrap().to_string(),
        "0.0.0.0:8090",
        "the file's value stays when nobody overrides it"
    );
    assert_eq!(spec.api_limits["api-limit-get-account-history"], 250);
}

#[test]
fn one_name_per_setting_in_all_three_sources() {
    for setting in Setting::ALL {
        let toml_key = format!("{} = 1", setting.name());
        let error = RawSpec::from_toml(&toml_key, Path::new("x.toml"))
            .err()
            .map(|e| e.problem);
        assert!(
            !error.is_some_and(|e| e.contains("not a node setting")),
            "{} is not a spec file key",
            setting.name()
        );
        assert_eq!(Setting::from_env_var(&setting.env_var()), Some(setting));
        assert_eq!(setting.flag(), format!("--{}", setting.name()));
    }
}
