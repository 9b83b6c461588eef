//! Every refusal of a node spec with its message, one table: the specs an operator might write
//! and what the launcher answers instead of letting witness_node fail (or silently misbehave).
//! Messages name the setting the way it was given (flag, variable or spec file key).

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_node::spec::{NodeSpec, Origin, RawSpec, Setting};
use expect_test::expect_file;
use std::path::Path;
use support::{MAINNET_KEYS, MemFiles, WIF, key_pair_line, raw, shown};

use Setting::*;

const API_ACCESS_OBJECT: &str = r#"{"permission_map":{"*":{"allowed_apis":["database_api"]}}}"#;

/// api-access files that open one API set besides database_api.
fn api_access(allowed: &str) -> String {
    format!(
        r#"{{"permission_map":[["*",{{"password_hash_b64":"*","password_salt_b64":"*","allowed_apis":["database_api","{allowed}"]}}]]}}"#
    )
}

/// A mainnet API node with history low: valid, the base most rows change one thing of.
const API: &[(Setting, &str)] = &[
    (Network, "mainnet"),
    (Mode, "api"),
    (History, "low"),
    (RpcEndpoint, "0.0.0.0:8090"),
];

/// A mainnet producer: valid.
const PRODUCER: &[(Setting, &str)] = &[
    (Network, "mainnet"),
    (Mode, "producer"),
    (WitnessId, "1.6.5"),
    (KeyFile, MAINNET_KEYS),
];

fn with(base: &[(Setting, &'static str)], more: &[(Setting, &'static str)]) -> Vec<(Setting, &'static str)> {
    let mut all: Vec<_> = base
        .iter()
        .filter(|(s, _)| !more.iter().any(|(m, _)| m == s))
        .copied()
        .collect();
    all.extend_from_slice(more);
    all
}

/// One row: a label, the settings as flags, and an extra config (written to /etc/extra.ini).
type Row = (&'static str, Vec<(Setting, &'static str)>, &'static str);

fn table() -> Vec<Row> {
    vec![
        ("no network", vec![(Mode, "seed")], ""),
        ("network misspelled", vec![(Network, "mainet")], ""),
        ("no mode", vec![(Network, "mainnet")], ""),
        (
            "mode misspelled",
            vec![(Network, "mainnet"), (Mode, "producer,seeed")],
            "",
        ),
        ("producer without witness id", with(PRODUCER, &[(WitnessId, "")]), ""),
        (
            "producer without key file",
            vec![(Network, "mainnet"), (Mode, "producer"), (WitnessId, "1.6.5")],
            "",
        ),
        (
            "witness id that is an account id",
            with(PRODUCER, &[(WitnessId, "1.2.5")]),
            "",
        ),
        ("key file relative", with(PRODUCER, &[(KeyFile, "witness.keys")]), ""),
        (
            "key file missing",
            with(PRODUCER, &[(KeyFile, "/run/secrets/nope")]),
            "",
        ),
        (
            "key file holding a bare WIF",
            with(PRODUCER, &[(KeyFile, "/run/secrets/bare")]),
            "",
        ),
        (
            "testnet key on mainnet",
            with(PRODUCER, &[(KeyFile, "/run/secrets/testnet-witness.keys")]),
            "",
        ),
        ("witness id without producer", with(API, &[(WitnessId, "1.6.5")]), ""),
        (
            "full with another history",
            vec![(Network, "mainnet"), (Mode, "full"), (History, "low")],
            "",
        ),
        ("es without url", with(API, &[(History, "es")]), ""),
        ("es url without history es", with(API, &[(EsUrl, "http://es:9200")]), ""),
        (
            "es url with credentials",
            with(API, &[(History, "es"), (EsUrl, "http://elastic:hunter2@es:9200")]),
            "",
        ),
        (
            "es index prefix in capitals",
            with(
                API,
                &[
                    (History, "es"),
                    (EsUrl, "http://es:9200"),
                    (EsIndexPrefix, "BitShares-"),
                ],
            ),
            "",
        ),
        (
            "account_history with elasticsearch",
            with(
                API,
                &[
                    (History, "es"),
                    (EsUrl, "http://es:9200"),
                    (Plugins, "account_history elasticsearch api_helper_indexes"),
                ],
            ),
            "",
        ),
        (
            "rpc on without api_helper_indexes",
            with(API, &[(Plugins, "account_history market_history")]),
            "",
        ),
        (
            "plugin for another history",
            with(API, &[(Plugins, "account_history elasticsearch_ api_helper_indexes")]),
            "",
        ),
        (
            "plugins missing the history plugin",
            with(API, &[(Plugins, "api_helper_indexes")]),
            "",
        ),
        (
            "witness plugin without producer",
            with(API, &[(Plugins, "witness account_history api_helper_indexes")]),
            "",
        ),
        (
            "debug_witness",
            with(API, &[(Plugins, "debug_witness account_history api_helper_indexes")]),
            "",
        ),
        (
            "delayed_node on a seed",
            vec![
                (Network, "mainnet"),
                (Mode, "seed"),
                (Plugins, "delayed_node api_helper_indexes"),
            ],
            "",
        ),
        (
            "producer with public rpc",
            with(PRODUCER, &[(RpcEndpoint, "0.0.0.0:8090")]),
            "",
        ),
        ("api with rpc off", with(API, &[(RpcEndpoint, "off")]), ""),
        (
            "rpc on, default access, plugins without grouped_orders",
            with(
                API,
                &[(
                    Plugins,
                    "account_history market_history api_helper_indexes custom_operations",
                )],
            ),
            "",
        ),
        (
            "seed with rpc, plugins without the api plugins",
            vec![(Network, "mainnet"), (Mode, "seed"), (Plugins, "api_helper_indexes")],
            "",
        ),
        (
            "api-access opens history_api, plugins without market_history",
            with(
                API,
                &[
                    (Plugins, "account_history api_helper_indexes"),
                    (ExtraConfig, "/etc/extra.ini"),
                ],
            ),
            "api-access = /etc/api-access-history.json\n",
        ),
        (
            "api-access opens debug_api",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "api-access = /etc/api-access-debug.json\n",
        ),
        (
            "api-access names an unknown api set",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "api-access = /etc/api-access-typo.json\n",
        ),
        (
            "rpc endpoint with a host name",
            with(API, &[(RpcEndpoint, "localhost:8090")]),
            "",
        ),
        ("rpc endpoint empty", with(API, &[(RpcEndpoint, " ")]), ""),
        ("malformed account id", with(API, &[(TrackAccount, "1.2.17,alice")]), ""),
        ("asset id as account id", with(API, &[(TrackAccount, "1.3.0")]), ""),
        (
            "tracked accounts without history",
            with(API, &[(History, "none"), (TrackAccount, "1.2.17")]),
            "",
        ),
        (
            "tracked accounts with es (ignored by the node)",
            with(
                API,
                &[(History, "es"), (EsUrl, "http://es:9200"), (TrackAccount, "1.2.17")],
            ),
            "",
        ),
        (
            "p2p endpoint without seed",
            with(API, &[(P2pEndpoint, "0.0.0.0:1776")]),
            "",
        ),
        (
            "public address unspecified",
            vec![(Network, "mainnet"), (Mode, "seed"), (PublicAddress, "0.0.0.0:1776")],
            "",
        ),
        (
            "public address ipv6",
            vec![
                (Network, "mainnet"),
                (Mode, "seed"),
                (PublicAddress, "[2001:db8::1]:1776"),
            ],
            "",
        ),
        (
            "seed node without port",
            with(API, &[(SeedNode, "seed.example.org")]),
            "",
        ),
        (
            "no built-in seeds and no seed node",
            with(API, &[(BuiltinSeeds, "false")]),
            "",
        ),
        (
            "api limit misspelled",
            with(API, &[(ApiLimit, "get-acount-history=250")]),
            "",
        ),
        (
            "api limit not a number",
            with(API, &[(ApiLimit, "get-account-history=lots")]),
            "",
        ),
        (
            "api limits with rpc off",
            vec![
                (Network, "mainnet"),
                (Mode, "seed"),
                (RpcEndpoint, "off"),
                (ApiLimit, "lookup-accounts=10"),
            ],
            "",
        ),
        (
            "extra: misspelled key",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "partial-operation = true\n",
        ),
        (
            "extra: unknown key",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "mem-reject-blocks = 1\n",
        ),
        (
            "extra: repeated option",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "min-blocks-to-keep = 10\n# again\nmin-blocks-to-keep = 20\n",
        ),
        (
            "extra: wrong type",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "max-ops-per-acc-by-min-blocks = abc\n",
        ),
        (
            "extra: unquoted account id",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "extended-history-by-account = 1.2.17\n",
        ),
        (
            "extra: seed-nodes (would be given twice)",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "seed-nodes = []\n",
        ),
        (
            "extra: rpc-endpoint (managed)",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "rpc-endpoint = 127.0.0.1:8090\n",
        ),
        (
            "extra: track-account (managed)",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "track-account = \"1.2.17\"\n",
        ),
        (
            "extra: private-key",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "private-key = [\"BTS...\",\"5K...\"]\n",
        ),
        (
            "extra: enable-stale-production",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "enable-stale-production = true\n",
        ),
        (
            "extra: ignore-api-helper-indexes-warning",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "ignore-api-helper-indexes-warning = false\n",
        ),
        (
            "extra: rpc-tls-endpoint",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "rpc-tls-endpoint = 127.0.0.1:8089\n",
        ),
        (
            "extra: genesis-json",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "genesis-json = /tmp/genesis.json\n",
        ),
        (
            "extra: replay-blockchain (command line only)",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "replay-blockchain = true\n",
        ),
        (
            "extra: empty proxy header",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "proxy-forwarded-for-header =\n",
        ),
        (
            "extra: option of a plugin not loaded",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "elasticsearch-bulk-sync = 500\n",
        ),
        (
            "extra: required-participation over 100",
            with(PRODUCER, &[(ExtraConfig, "/etc/extra.ini")]),
            "required-participation = 101\n",
        ),
        (
            "extra: a section",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "[logger.default]\nlevel = debug\n",
        ),
        (
            "extra: not NAME = VALUE",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "history-per-size 1500\n",
        ),
        (
            "extra: api-access missing",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "api-access = /etc/missing.json\n",
        ),
        (
            "extra: api-access map as an object",
            with(API, &[(ExtraConfig, "/etc/extra.ini")]),
            "api-access = /etc/api-access.json\n",
        ),
        ("extra config missing", with(API, &[(ExtraConfig, "/etc/nope.ini")]), ""),
    ]
}

fn files(extra: &str) -> MemFiles {
    let files = MemFiles::with_keys()
        .with("/run/secrets/bare", &format!("{WIF}\n"))
        .with("/etc/api-access.json", API_ACCESS_OBJECT)
        .with("/etc/api-access-history.json", &api_access("history_api"))
        .with("/etc/api-access-debug.json", &api_access("debug_api"))
        .with("/etc/api-access-typo.json", &api_access("network_node"));
    if extra.is_empty() {
        files
    } else {
        files.with("/etc/extra.ini", extra)
    }
}

#[test]
fn every_refusal_says_what_to_change() {
    let mut out = String::new();
    for (label, settings, extra) in table() {
        let result = raw(&settings, &Origin::Flag).and_then(|raw| NodeSpec::build(&raw, &files(extra)));
        let error = match result {
            Ok(spec) => panic!("{label}: accepted as {}", spec.summary()),
            Err(e) => e,
        };
        assert!(
            !error.problem.contains(WIF) && !error.fix.contains(WIF),
            "{label}: a key leaked"
        );
        assert!(!error.problem.contains("hunter2"), "{label}: a password leaked");
        out.push_str(&format!("{label}\n{}\n\n", shown(&error)));
    }
    expect_file!["data/refusals.txt"].assert_eq(&out);
}

#[test]
fn messages_name_the_setting_as_it_was_given() {
    let cases: Vec<String> = [
        // From the environment.
        RawSpec::from_env([("BTS_NODE_HISTORY".to_owned(), "ful".to_owned())]).unwrap_err(),
        RawSpec::from_env([("BTS_NODE_HISTROY".to_owned(), "full".to_owned())]).unwrap_err(),
        RawSpec::from_env([("BTS_NODE_WITNES_ID".to_owned(), "1.6.5".to_owned())]).unwrap_err(),
        RawSpec::from_env([
            ("BTS_NODE_NETWORK".to_owned(), "mainnet".to_owned()),
            ("BTS_NODE_MODE".to_owned(), "producer".to_owned()),
            ("BTS_NODE_RPC_ENDPOINT".to_owned(), "0.0.0.0:8090".to_owned()),
            ("BTS_NODE_WITNESS_ID".to_owned(), "1.6.5".to_owned()),
            ("BTS_NODE_KEY_FILE".to_owned(), MAINNET_KEYS.to_owned()),
        ])
        .and_then(|raw| NodeSpec::build(&raw, &files("")))
        .unwrap_err(),
        // From the spec file.
        RawSpec::from_toml("network = \"mainnet\"\nmodes = [\"api\"]\n", Path::new("node.toml")).unwrap_err(),
        RawSpec::from_toml(
            "network = \"mainnet\"\ntrack-account = [\"1.2.17\", \"1.3.0\"]\n",
            Path::new("node.toml"),
        )
        .unwrap_err(),
        RawSpec::from_toml(
            "network = \"mainnet\"\nmode = \"seed\"\nrpc-endpoint = 8090\n",
            Path::new("node.toml"),
        )
        .unwrap_err(),
        RawSpec::from_toml(
            "network = \"mainnet\"\nmode = [\"seed\"]\np2p-endpoint = \"0.0.0.0:0\"\n",
            Path::new("node.toml"),
        )
        .and_then(|raw| NodeSpec::build(&raw, &files("")))
        .unwrap_err(),
    ]
    .iter()
    .map(shown)
    .collect();
    expect_file!["data/refusals-by-source.txt"].assert_eq(&(cases.join("\n\n") + "\n"));
}

#[test]
fn the_key_never_appears_in_an_error() {
    let mismatched =
        key_pair_line(bts_protocol::Prefix::BTS).replace(WIF, "5KWppFSXqdLUM6g1PA5uCMwdPiPa6JxTpqbgMX95hWYuhpuTB3E");
    let files = MemFiles::default().with(MAINNET_KEYS, &mismatched);
    let e = support::spec(PRODUCER, &files).unwrap_err();
    assert!(!shown(&e).contains("5KWpp"), "{e:?}");
    assert!(e.problem.contains("does not belong"), "{e:?}");
}
