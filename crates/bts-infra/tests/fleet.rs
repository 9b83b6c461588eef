//! `bts-infra fleet check`, `fleet render` and `fleet render --kubernetes` as an operator runs them on the example inventory
//! (deploy/examples/fleet.toml), and the rendered service configs accepted by the gateway's and
//! the faucet's own configuration loaders.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_faucet::config::FaucetConfig;
use bts_faucet::config::raw::RawConfig;
use bts_gateway::config::GatewayConfig;
use bts_protocol::{Prefix, PrivateKey};
use std::path::Path;
use std::process::Command;

const EXAMPLE: &str = include_str!("../../../deploy/examples/fleet.toml");
/// The public development key (sha256("nathan")).
const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A directory with the example inventory and its secrets file.
fn fleet_dir(inventory: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fleet.toml"), inventory).unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    // Only its presence is checked here; the gateways read it.
    std::fs::write(dir.path().join("GeoLite2-Country.mmdb"), b"").unwrap();
    let public = PrivateKey::from_wif(WIF).unwrap().public_key(Prefix::BTS);
    std::fs::write(
        dir.path().join("secrets/mainnet-witness.keys"),
        format!("[\"{public}\",\"{WIF}\"]\n"),
    )
    .unwrap();
    dir
}

fn fleet(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .arg("fleet")
        .args(args)
        .current_dir(dir)
        .env_remove("BTS_FLEET_INVENTORY")
        .env_remove("FLEET_REGISTRAR_WIF")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn check_accepts_the_example_and_refuses_mistakes_with_exit_2() {
    let dir = fleet_dir(EXAMPLE);
    let ok = fleet(dir.path(), &["check"], &[("FLEET_REGISTRAR_WIF", WIF)]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout
            .contains("fleet.toml: valid: 3 hosts, 5 nodes, 2 gateways, the faucet; 3 warnings"),
        "{}",
        ok.stdout
    );

    let json = fleet(dir.path(), &["check", "--json"], &[("FLEET_REGISTRAR_WIF", WIF)]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["warnings"][0]["severity"], "warning");

    // The registrar's key is not in the environment: one error, and nothing of any key printed.
    let missing = fleet(dir.path(), &["check"], &[]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("secret.registrar-wif: cannot be read: the variable is not set"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("error: the inventory has 1 error"),
        "{}",
        missing.stderr
    );

    let broken = fleet_dir(&EXAMPLE.replace(
        "host = \"asia-1\"\nnetwork = \"mainnet\"",
        "host = \"asia-2\"\nnetwork = \"mainnet\"",
    ));
    let refused = fleet(broken.path(), &["check"], &[("FLEET_REGISTRAR_WIF", WIF)]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("error: fleet.toml:"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("node \"asia-api-1\".host: no host \"asia-2\""),
        "{}",
        refused.stderr
    );
    assert!(!format!("{}{}", ok.stdout, missing.stderr).contains(WIF));

    std::fs::remove_file(dir.path().join("GeoLite2-Country.mmdb")).unwrap();
    let no_geo = fleet(dir.path(), &["check"], &[("FLEET_REGISTRAR_WIF", WIF)]);
    assert_eq!(no_geo.code, 2);
    assert!(
        no_geo
            .stderr
            .contains("geo-database GeoLite2-Country.mmdb is not a file here"),
        "{}",
        no_geo.stderr
    );
}

#[test]
fn render_writes_projects_that_the_services_accept() {
    let dir = fleet_dir(EXAMPLE);
    let out = dir.path().join("rendered");
    let run = fleet(
        dir.path(),
        &["render", "--out", out.to_str().unwrap()],
        &[("FLEET_REGISTRAR_WIF", WIF)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for host in ["us-1", "us-2", "asia-1"] {
        assert!(out.join(host).join("compose.yml").is_file(), "{host}");
    }
    // Every gateway config loads in the gateway (the geo database must exist where it points).
    let geo = dir.path().join("geo.mmdb");
    std::fs::write(&geo, b"").unwrap();
    for (host, gateway) in [("us-1", "us-gateway"), ("asia-1", "asia-gateway")] {
        let text = std::fs::read_to_string(out.join(host).join(format!("{gateway}.toml"))).unwrap();
        let text = text.replace(bts_fleet::render::GEO_DATABASE, geo.to_str().unwrap());
        let config = GatewayConfig::from_toml(&text, gateway).unwrap_or_else(|e| panic!("{gateway}: {e}"));
        assert!(!config.networks.is_empty());
    }
    // The backend index the fleet cordons by is the gateway's own numbering of its config.
    let (inv, _) = bts_fleet::Inventory::parse(&dir.path().join("fleet.toml"), EXAMPLE, &Keys).unwrap();
    let gateway = &inv.gateways[0];
    let text = std::fs::read_to_string(out.join(&gateway.host).join(format!("{}.toml", gateway.name))).unwrap();
    let text = text.replace(bts_fleet::render::GEO_DATABASE, geo.to_str().unwrap());
    let config = GatewayConfig::from_toml(&text, &gateway.name).unwrap();
    for network in &gateway.networks {
        let parsed = &config.networks.iter().find(|n| &n.name == network).unwrap().backends;
        let ours: Vec<String> = bts_fleet::render::gateway_backends(&inv, gateway, network)
            .map(|(_, url)| url)
            .collect();
        assert_eq!(
            parsed.iter().map(|b| b.url.clone()).collect::<Vec<_>>(),
            ours,
            "{network}"
        );
    }
    // The faucet's config loads in the faucet, with its key file where the secret will be.
    let key = dir.path().join("registrar.wif");
    std::fs::write(&key, WIF).unwrap();
    let text = std::fs::read_to_string(out.join("us-1/faucet.toml")).unwrap();
    let text = text.replace("/run/secrets/registrar-wif", key.to_str().unwrap());
    let raw = RawConfig::from_toml(&text).unwrap();
    let config = FaucetConfig::from_raw(raw, |_| None).unwrap();
    assert_eq!(config.registrar, "onboarding.bitshares.foundation");
    // No secret is written by render.
    for entry in walk(&out) {
        assert!(
            !std::fs::read_to_string(&entry).unwrap_or_default().contains(WIF),
            "{}",
            entry.display()
        );
    }
}

#[test]
fn render_kubernetes_writes_configs_that_the_services_accept() {
    let dir = fleet_dir(EXAMPLE);
    let out = dir.path().join("k8s");
    let run = fleet(
        dir.path(),
        &["render", "--kubernetes", out.to_str().unwrap()],
        &[("FLEET_REGISTRAR_WIF", WIF)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("kubectl apply -k"), "{}", run.stdout);
    // The ConfigMaps' literal blocks give back files that the gateway and the faucet load.
    for (region, gateway) in [("us", "us-gateway"), ("asia", "asia-gateway")] {
        let yaml = std::fs::read_to_string(out.join(region).join(format!("{gateway}.yaml"))).unwrap();
        let text = literal_block(&yaml, "gateway.toml");
        let config = GatewayConfig::from_toml(&text, gateway).unwrap_or_else(|e| panic!("{gateway}: {e}\n{text}"));
        for network in &config.networks {
            // Only the region's own nodes, by their StatefulSet pod names.
            assert!(
                network
                    .backends
                    .iter()
                    .all(|b| b.url.contains("-0.") && b.url.starts_with(&format!("ws://{region}-"))),
                "{gateway}: {:?}",
                network.backends.iter().map(|b| &b.url).collect::<Vec<_>>()
            );
        }
    }
    let key = dir.path().join("registrar.wif");
    std::fs::write(&key, WIF).unwrap();
    let yaml = std::fs::read_to_string(out.join("us/faucet.yaml")).unwrap();
    let text = literal_block(&yaml, "faucet.toml").replace("/run/secrets/registrar-wif", key.to_str().unwrap());
    let config = FaucetConfig::from_raw(RawConfig::from_toml(&text).unwrap(), |_| None).unwrap();
    assert_eq!(config.registrar, "onboarding.bitshares.foundation");
    for entry in walk(&out) {
        assert!(
            !std::fs::read_to_string(&entry).unwrap().contains(WIF),
            "{}",
            entry.display()
        );
    }
}

/// The text of the `|` block under `key:` in `yaml` (its indentation removed).
fn literal_block(yaml: &str, key: &str) -> String {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != format!("{key}: |"));
    let head = lines.next().unwrap_or_else(|| panic!("no {key} block"));
    let indent = head.len() - head.trim_start().len() + 2;
    let mut text = String::new();
    for line in lines {
        if !line.is_empty() && line.len() - line.trim_start().len() < indent {
            break;
        }
        text.push_str(line.get(indent..).unwrap_or(""));
        text.push('\n');
    }
    text
}

#[test]
fn rollback_bootstrap_and_down_refuse_bad_input_before_reaching_a_host() {
    let dir = fleet_dir(EXAMPLE);
    let env = [("FLEET_REGISTRAR_WIF", WIF)];
    let cases: [(&[&str], &str); 6] = [
        (
            &["rollback", "mainnet"],
            "network \"mainnet\" has no previous-node-image in fleet.toml: nothing to roll back to",
        ),
        (&["rollback", "devnet"], "no network \"devnet\" in the inventory"),
        (
            &["bootstrap", "us-api-9", "--from", "us-api-1"],
            "no node \"us-api-9\" in the inventory",
        ),
        (
            &["bootstrap", "us-testnet-1", "--from", "us-api-1"],
            "us-testnet-1 is on network testnet but us-api-1 on mainnet",
        ),
        (
            &["bootstrap", "us-api-1", "--from", "us-api-1"],
            "cannot be bootstrapped from itself",
        ),
        (&["down", "--host", "eu-1"], "no host \"eu-1\" in the inventory"),
    ];
    for (args, message) in cases {
        let run = fleet(dir.path(), args, &env);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    // Nothing was written: the inventory is as it was.
    assert_eq!(std::fs::read_to_string(dir.path().join("fleet.toml")).unwrap(), EXAMPLE);
}

/// The example's secrets, as `fleet check` would read them.
struct Keys;

impl bts_fleet::Secrets for Keys {
    fn read(&self, _name: &str, source: &bts_fleet::SecretSource) -> Result<String, String> {
        let public = PrivateKey::from_wif(WIF).unwrap().public_key(Prefix::BTS);
        Ok(match source {
            bts_fleet::SecretSource::File(_) => format!("[\"{public}\",\"{WIF}\"]\n"),
            bts_fleet::SecretSource::Env(_) => WIF.to_owned(),
        })
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
