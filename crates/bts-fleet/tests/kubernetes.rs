//! Kubernetes rendering: the example inventory as one kustomize directory per region (snapshot
//! in tests/data/kubernetes.txt), and the properties the manifests must have whatever the
//! inventory. CI also builds them with `kubectl kustomize` and validates them strictly with
//! kubernetes-validate (scripts/test-render); no cluster runs here.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_fleet::render::render_kubernetes;
use expect_test::expect_file;
use support::{TWO_REGIONS, WIF, parse};

fn shown(files: &[(String, String)]) -> String {
    files.iter().map(|(path, text)| format!("=== {path}\n{text}")).collect()
}

#[test]
fn each_region_gets_a_kustomize_directory() {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    let files = render_kubernetes(&inv);
    expect_file!["data/kubernetes.txt"].assert_eq(&shown(&files));
    let kustomizations: Vec<&str> = files
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| p.ends_with("/kustomization.yaml"))
        .collect();
    assert_eq!(kustomizations, ["us/kustomization.yaml", "asia/kustomization.yaml"]);
    // Every file of a region is listed in its kustomization, and nothing else.
    for region in ["us", "asia"] {
        let (_, kustomization) = files
            .iter()
            .find(|(p, _)| *p == format!("{region}/kustomization.yaml"))
            .unwrap();
        let listed: Vec<&str> = kustomization
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- \""))
            .map(|l| l.trim_end_matches('"'))
            .collect();
        let mut present: Vec<&str> = files
            .iter()
            .filter_map(|(p, _)| p.strip_prefix(&format!("{region}/")))
            .filter(|p| *p != "kustomization.yaml")
            .collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort_unstable();
        present.sort_unstable();
        assert_eq!(listed_sorted, present, "{region}");
    }
}

#[test]
fn no_secret_value_and_no_public_node_rpc() {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    let files = render_kubernetes(&inv);
    let all = shown(&files);
    assert!(!all.contains(WIF), "a key is rendered");
    // Secrets are referenced by name and the kustomization says how to create them.
    assert!(
        all.contains(
            "kubectl -n bts create secret generic registrar-wif --from-literal=value=\"$FLEET_REGISTRAR_WIF\""
        )
    );
    // The only LoadBalancer Services are the gateways' and the seeds' P2P.
    for doc in all.split("---\n") {
        if doc.contains("type: \"LoadBalancer\"") {
            let name = doc.lines().find_map(|l| l.trim().strip_prefix("name: ")).unwrap();
            assert!(name.ends_with("-p2p\"") || name.contains("gateway"), "{name} is public");
        }
    }
}

#[test]
fn a_region_with_nothing_gets_no_directory_and_full_mode_sizes_as_full_history() {
    let edited = TWO_REGIONS.replace(
        "spec = { mode = \"producer,seed\", witness-id = [\"1.6.12\"] }",
        "spec = { mode = \"full\", witness-id = [\"1.6.12\"] }",
    );
    let (inv, _) = parse(&edited).unwrap();
    let files = render_kubernetes(&inv);
    let (_, producer) = files.iter().find(|(p, _)| p == "us/us-producer.yaml").unwrap();
    assert!(producer.contains("memory: \"64Gi\""), "{producer}");
    assert!(producer.contains("storage: \"640Gi\""), "{producer}");
}
