//! Snapshots of the rendered config.ini and command line: every combination of modes and history
//! levels on mainnet and on testnet (one file per network), then a table of specs that use the
//! other settings. Regenerate with `UPDATE_EXPECT=1 cargo test -p bts-node --test render` and
//! review the diff: each file is what a witness_node 7.0 would be started with.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_node::render::render;
use bts_node::spec::{NodeSpec, Setting};
use expect_test::{ExpectFile, expect_file};
use support::{MAINNET_KEYS, MemFiles, TESTNET_KEYS, spec};

/// Renders `spec` as one snapshot entry: its summary, the command line and the config.
fn entry(spec: &NodeSpec) -> String {
    let rendered = render(spec);
    format!(
        "==== {}\n$ {}\n{}\n",
        spec.summary(),
        rendered.command_line("witness_node"),
        rendered.config_ini
    )
}

/// Every non-empty combination of producer, seed and api with every history level.
fn matrix(network: &str, expect: ExpectFile) {
    let files = MemFiles::with_keys();
    let (keys, rpc_port, p2p_port) = match network {
        "mainnet" => (MAINNET_KEYS, 8090, 1776),
        _ => (TESTNET_KEYS, 8091, 9091),
    };
    let public_rpc = format!("0.0.0.0:{rpc_port}");
    let public_address = format!("203.0.113.7:{p2p_port}");
    let mut out = String::new();
    for roles in 1..8u8 {
        let (producer, seed, api) = (roles & 1 != 0, roles & 2 != 0, roles & 4 != 0);
        for history in ["none", "low", "full", "es"] {
            let modes: Vec<&str> = [(producer, "producer"), (seed, "seed"), (api, "api")]
                .into_iter()
                .filter_map(|(on, m)| on.then_some(m))
                .collect();
            let modes = modes.join(",");
            let mut settings = vec![
                (Setting::Network, network),
                (Setting::Mode, modes.as_str()),
                (Setting::History, history),
                (Setting::DataDir, "/var/lib/bitshares"),
            ];
            if producer {
                settings.extend([(Setting::WitnessId, "1.6.5"), (Setting::KeyFile, keys)]);
            } else if api {
                // A producer keeps its RPC on loopback (the default); an API node serves other hosts.
                settings.push((Setting::RpcEndpoint, public_rpc.as_str()));
            }
            if seed {
                settings.push((Setting::PublicAddress, public_address.as_str()));
            }
            if history == "es" {
                settings.push((Setting::EsUrl, "http://elasticsearch:9200"));
            }
            out.push_str(&entry(&spec(&settings, &files).unwrap()));
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn every_mode_and_history_on_mainnet() {
    matrix("mainnet", expect_file!["data/render-mainnet.txt"]);
}

#[test]
fn every_mode_and_history_on_testnet() {
    matrix("testnet", expect_file!["data/render-testnet.txt"]);
}

#[test]
fn the_other_settings() {
    use Setting::*;
    let api_access = r#"{"permission_map":[["*",{"password_hash_b64":"*","password_salt_b64":"*","allowed_apis":["database_api","network_broadcast_api","history_api"]}]]}"#;
    let files = MemFiles::with_keys()
        .with(
            "/etc/bts/extra.ini",
            "# tuning\nmin-blocks-to-keep = 1000\nextended-history-by-account = \"1.2.17\"  # kept in full\n\
             api-access = /etc/bts/api-access.json\nproxy-forwarded-for-header = X-Forwarded-For-Client\n",
        )
        .with("/etc/bts/api-access.json", api_access)
        .with("/etc/bts/es-extra.ini", "api-access = /etc/bts/api-access.json\n");
    let table: &[&[(Setting, &str)]] = &[
        // The full-node shorthand: producer + seed + history full.
        &[
            (Network, "mainnet"),
            (Mode, "full"),
            (WitnessId, "1.6.5 1.6.9 1.6.5"),
            (KeyFile, MAINNET_KEYS),
        ],
        // Tracked accounts (deduplicated), API limits, an extra config with an api-access file.
        &[
            (Network, "mainnet"),
            (Mode, "api"),
            (History, "low"),
            (RpcEndpoint, "0.0.0.0:8090"),
            (TrackAccount, "1.2.18,1.2.17 1.2.18"),
            (ApiLimit, "get-account-history=250,api-limit-lookup-accounts=500"),
            (ExtraConfig, "/etc/bts/extra.ini"),
        ],
        // A seed with its own peer list instead of the built-in one, RPC off, a replay.
        &[
            (Network, "testnet"),
            (Mode, "seed"),
            (P2pEndpoint, "0.0.0.0:1777"),
            (PublicAddress, "198.51.100.7:1777"),
            (SeedNode, "seed-a.example.org:1777,198.51.100.8:1777"),
            (BuiltinSeeds, "false"),
            (RpcEndpoint, "off"),
            (Replay, "true"),
            (DataDir, "/data/my node"),
        ],
        // An explicit, lighter plugin list for an API node, which the api-access file allows by
        // closing orders_api and custom_operations_api; Elasticsearch with its own prefix.
        &[
            (Network, "mainnet"),
            (Mode, "api"),
            (History, "es"),
            (RpcEndpoint, "0.0.0.0:8090"),
            (Plugins, "elasticsearch market_history api_helper_indexes es_objects"),
            (ExtraConfig, "/etc/bts/es-extra.ini"),
            (EsUrl, "https://es.internal:9243/cluster"),
            (EsIndexPrefix, "bts-mainnet-"),
        ],
    ];
    let out: String = table
        .iter()
        .map(|settings| entry(&spec(settings, &files).unwrap()))
        .collect();
    expect_file!["data/render-other-settings.txt"].assert_eq(&out);
}
