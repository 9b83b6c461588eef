//! The inventory: the example parses, and each kind of mistake is refused with the file, line and
//! key, and what to do (snapshots in tests/data/refusals.txt).

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_fleet::Severity;
use expect_test::expect_file;
use support::{TWO_REGIONS, parse, shown};

#[test]
fn the_example_parses_with_its_warnings() {
    let (inv, warnings) = parse(TWO_REGIONS).unwrap();
    assert_eq!(inv.hosts.len(), 3);
    assert_eq!(inv.nodes.len(), 5);
    let producer = inv.node("us-producer").unwrap();
    assert!(producer.roles.producer && producer.roles.seed && !producer.roles.api);
    assert_eq!((producer.rpc_port, producer.p2p_port), (None, Some(1777)));
    let api = inv.node("us-api-1").unwrap();
    assert_eq!((api.rpc_port, api.p2p_port), (Some(8090), Some(1776)));
    assert_eq!(inv.node("us-testnet-1").unwrap().rpc_port, Some(8091));
    assert_eq!(inv.host("asia-1").unwrap().ssh.port, 2222);
    expect_file!["data/example-warnings.txt"].assert_eq(&shown(&warnings));
}

/// Each case: a name and an edit of the example (replace `from` with `to`, once).
const CASES: &[(&str, &str, &str)] = &[
    ("syntax error", "project = \"bts\"", "project = bts"),
    ("unknown key", "geo-database =", "geo-databse ="),
    (
        "unknown host",
        "host = \"us-2\"\nnetwork = \"mainnet\"\nrpc-port",
        "host = \"us-3\"\nnetwork = \"mainnet\"\nrpc-port",
    ),
    ("unknown region", "region = \"asia\"", "region = \"europe\""),
    (
        "a prober's address without a port",
        "address = \"probe-us.example.net:9300\"",
        "address = \"probe-us.example.net\"",
    ),
    ("duplicate node name", "name = \"us-api-2\"", "name = \"us-api-1\""),
    ("port used twice on a host", "p2p-port = 1777", "p2p-port = 8090"),
    (
        "a producer with public RPC",
        "p2p-port = 1777\n",
        "p2p-port = 1777\nrpc-port = 8095\n",
    ),
    ("a producer without key", "key = \"mainnet-witness-keys\"\n", ""),
    (
        "a secret that cannot be read",
        "file = \"secrets/mainnet-witness.keys\"",
        "env = \"NOT_SET\"",
    ),
    (
        "a secret name that is a path",
        "[secret.registrar-wif]",
        "[secret.\"../registrar\"]\nenv = \"X\"\n\n[secret.registrar-wif]",
    ),
    (
        "a key that is no secret",
        "key = \"mainnet-witness-keys\"",
        "key = \"witness-keys\"",
    ),
    (
        "a fleet-owned spec key",
        "spec = { mode = \"api\", history = \"full\"",
        "spec = { mode = \"api\", rpc-endpoint = \"0.0.0.0:8090\", history = \"full\"",
    ),
    (
        "a misspelled spec key",
        "history = \"full\", track-account",
        "histroy = \"full\", track-account",
    ),
    (
        "no mode",
        "spec = { mode = \"api\", history = \"low\" }",
        "spec = { history = \"low\" }",
    ),
    (
        "what the launcher refuses",
        "spec = { mode = \"producer,seed\", witness-id = [\"1.6.12\"] }",
        "spec = { mode = \"producer,seed\" }",
    ),
    (
        "a key file of another network",
        "file = \"secrets/mainnet-witness.keys\"",
        "file = \"secrets/testnet-witness.keys\"",
    ),
    (
        "an unpinned image",
        "bts-infra-node:mainnet-7.0.2-0.1.0",
        "bts-infra-node",
    ),
    (
        "a gateway network without API nodes",
        "networks = [\"mainnet\"]",
        "networks = [\"mainnet\", \"tesnet\"]",
    ),
    (
        "a bad host key",
        "host-key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetUs1HostKeyExampleOnlyNotARealKey00\"",
        "host-key = \"AAAAC3Nza\"",
    ),
    (
        "a bad registrar name",
        "registrar = \"onboarding.bitshares.foundation\"",
        "registrar = \"Onboarding\"",
    ),
    (
        "a registrar key that is no WIF",
        "env = \"FLEET_REGISTRAR_WIF\"",
        "file = \"secrets/mainnet-witness.keys\"",
    ),
    (
        "a secret with both sources",
        "env = \"FLEET_REGISTRAR_WIF\"",
        "env = \"FLEET_REGISTRAR_WIF\"\nfile = \"x\"",
    ),
    (
        "a name that cannot name a container",
        "name = \"asia-gateway\"",
        "name = \"Asia Gateway\"",
    ),
];

#[test]
fn mistakes_are_refused_with_file_line_and_key() {
    let mut out = String::new();
    for (name, from, to) in CASES {
        assert!(TWO_REGIONS.contains(from), "case {name:?}: the example has no {from:?}");
        let text = TWO_REGIONS.replacen(from, to, 1);
        let findings = parse(&text)
            .err()
            .unwrap_or_else(|| panic!("case {name:?} was accepted"));
        let errors: Vec<_> = findings.into_iter().filter(|f| f.severity == Severity::Error).collect();
        out.push_str(&format!("== {name}\n{}\n", shown(&errors)));
    }
    expect_file!["data/refusals.txt"].assert_eq(&out);
}

#[test]
fn an_upgrade_rewrites_the_image_records_the_previous_one_and_nothing_else() {
    let old_image = "ghcr.io/bts-infra/bts-infra-node:mainnet-7.0.2-0.1.0";
    let new_image = "ghcr.io/bts-infra/bts-infra-node:mainnet-7.0.3-0.2.0";
    let text = bts_fleet::inventory::set_node_image(TWO_REGIONS, "mainnet", new_image).unwrap();
    let (inv, _) = parse(&text).unwrap();
    let mainnet = inv.network("mainnet").unwrap();
    assert_eq!(mainnet.node_image, new_image);
    assert_eq!(mainnet.previous_node_image.as_deref(), Some(old_image));
    let testnet = inv.network("testnet").unwrap();
    assert_eq!(
        testnet.node_image,
        "ghcr.io/bts-infra/bts-infra-node:testnet-test-7.0.4-0.1.0"
    );
    assert_eq!(testnet.previous_node_image, None);
    // One line changed, one added under it; the rest of the file byte for byte.
    let line = format!("node-image = \"{new_image}\"\nprevious-node-image = \"{old_image}\"");
    assert_eq!(
        text.replace(&line, &format!("node-image = \"{old_image}\"")),
        TWO_REGIONS
    );
    // A rollback (setting the previous image) swaps the two, in place.
    let back = bts_fleet::inventory::set_node_image(&text, "mainnet", old_image).unwrap();
    let (inv, _) = parse(&back).unwrap();
    let mainnet = inv.network("mainnet").unwrap();
    assert_eq!(mainnet.node_image, old_image);
    assert_eq!(mainnet.previous_node_image.as_deref(), Some(new_image));
    assert_eq!(back.lines().count(), text.lines().count());
    // A file with CRLF line endings keeps them.
    let crlf = TWO_REGIONS.replace('\n', "\r\n");
    let edited = bts_fleet::inventory::set_node_image(&crlf, "mainnet", new_image).unwrap();
    assert_eq!(edited.matches('\n').count(), edited.matches("\r\n").count());
    assert_eq!(edited.replace("\r\n", "\n"), text);
    // The same image again changes nothing; an unknown network is refused.
    assert_eq!(
        bts_fleet::inventory::set_node_image(&back, "mainnet", old_image).unwrap(),
        back
    );
    assert!(bts_fleet::inventory::set_node_image(TWO_REGIONS, "devnet", new_image).is_err());
}
