//! Rendering: the example inventory's compose project per host, with the gateways' and the
//! faucet's configuration files (snapshots in tests/data/render-HOST.txt), and the properties
//! every rendering must have.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_fleet::render::{HostProject, render};
use expect_test::expect_file;
use support::{TWO_REGIONS, WIF, parse};

fn shown(project: &HostProject) -> String {
    let mut out = format!("=== compose.yml\n{}", project.compose);
    for (path, text) in &project.files {
        // deploy/prometheus's rules are copied as they are (promtool tests them there).
        let rules = ["prometheus-recording.yml", "prometheus-alerts.yml"];
        if rules.contains(&path.as_str()) {
            let source = std::fs::read_to_string(format!("../../deploy/prometheus/rules/{}", &path[11..])).unwrap();
            assert_eq!(text, &source, "{path} is deploy/prometheus/rules' file");
            out.push_str(&format!("=== {path}: deploy/prometheus/rules/{}\n", &path[11..]));
            continue;
        }
        out.push_str(&format!("=== {path}\n{text}"));
    }
    for s in &project.secrets {
        out.push_str(&format!("=== secret {} (owner {}:{})\n", s.name, s.owner.0, s.owner.1));
    }
    out
}

#[test]
fn each_host_gets_its_compose_project() {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    let projects = render(&inv);
    assert_eq!(
        projects.iter().map(|p| p.host.as_str()).collect::<Vec<_>>(),
        ["us-1", "us-2", "asia-1"]
    );
    expect_file!["data/render-us-1.txt"].assert_eq(&shown(&projects[0]));
    expect_file!["data/render-us-2.txt"].assert_eq(&shown(&projects[1]));
    expect_file!["data/render-asia-1.txt"].assert_eq(&shown(&projects[2]));
}

#[test]
fn no_secret_value_is_rendered() {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    for project in render(&inv) {
        assert!(!shown(&project).contains(WIF), "host {} renders a key", project.host);
    }
}

#[test]
fn a_change_recreates_only_what_it_touches() {
    let (before, _) = parse(TWO_REGIONS).unwrap();
    let edited = TWO_REGIONS.replace(
        "mode = \"api\", history = \"full\"",
        "mode = \"api\", history = \"low\"",
    );
    let (after, _) = parse(&edited).unwrap();
    let hashes = |inv| -> Vec<(String, String)> {
        render(inv)
            .into_iter()
            .flat_map(|p| p.services)
            .map(|s| (s.name, s.hash))
            .collect()
    };
    let changed: Vec<String> = hashes(&before)
        .into_iter()
        .zip(hashes(&after))
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0)
        .collect();
    assert_eq!(changed, ["us-api-2"]);
}
