//! `fleet plan`'s judgement, from what a Docker engine really reports (`data/docker-inspect.json`
//! was recorded from Docker 20.10: a container of the project, healthy-check starting, and one of
//! another project that must be ignored) and the rendered example.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_fleet::plan::{Change, Observed, file_hash, parse_inspect, plan, project_files};
use bts_fleet::render::{HostProject, render};
use std::collections::BTreeMap;
use support::{TWO_REGIONS, parse};

fn us_1() -> HostProject {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    render(&inv).into_iter().next().unwrap()
}

/// What a host would report after a faithful apply of `project`.
fn applied(project: &HostProject) -> (Vec<Observed>, BTreeMap<String, String>) {
    let containers = project
        .services
        .iter()
        .map(|s| Observed {
            id: format!("id-{}", s.name),
            service: s.name.clone(),
            image: s.image.clone(),
            hash: Some(s.hash.clone()),
            kind: Some(s.kind.to_owned()),
            state: "running".into(),
            health: Some("healthy".into()),
        })
        .collect();
    let mut files: BTreeMap<String, String> = project_files(project)
        .into_iter()
        .map(|(p, t)| (p, file_hash(t.as_bytes())))
        .collect();
    for s in &project.secrets {
        files.insert(format!("secrets/{}", s.name), file_hash(b"value"));
    }
    (containers, files)
}

fn secrets(project: &HostProject) -> BTreeMap<String, String> {
    project
        .secrets
        .iter()
        .map(|s| (s.name.clone(), file_hash(b"value")))
        .collect()
}

#[test]
fn docker_inspect_is_read_for_the_project_only() {
    let observed = parse_inspect(include_str!("data/docker-inspect.json"), "btsfleet").unwrap();
    assert_eq!(observed.len(), 1);
    let c = &observed[0];
    assert_eq!(
        (c.service.as_str(), c.image.as_str()),
        ("main-us-1", "bts-infra/services:dev")
    );
    assert_eq!(c.hash.as_deref(), Some("0123456789abcdef0123456789abcdef"));
    assert_eq!((c.state.as_str(), c.health.as_deref()), ("running", Some("starting")));
    assert!(parse_inspect("[]", "btsfleet").unwrap().is_empty());
    assert!(parse_inspect("Error response from daemon", "btsfleet").is_err());
}

#[test]
fn an_empty_host_gets_everything_and_an_applied_one_nothing() {
    let project = us_1();
    let all = plan(&project, &[], &BTreeMap::new(), &secrets(&project));
    let creates = all.iter().filter(|c| matches!(c, Change::Create { .. })).count();
    assert_eq!(creates, project.services.len());
    let (containers, files) = applied(&project);
    assert_eq!(plan(&project, &containers, &files, &secrets(&project)), []);
}

#[test]
fn each_kind_of_drift_has_its_reason() {
    let project = us_1();
    let (mut containers, mut files) = applied(&project);
    containers[0].image = "old/image:1".into();
    containers[1].hash = Some("something else".into());
    containers[2].state = "exited".into();
    containers.push(Observed {
        service: "gone-node".into(),
        ..containers[3].clone()
    });
    files.insert("compose.yml".into(), "0".repeat(64));
    let mut here = secrets(&project);
    here.insert("registrar-wif".into(), file_hash(b"a new key"));
    let shown: Vec<String> = plan(&project, &containers, &files, &here)
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    expect_test::expect![[r#"
        [
            "{\"action\":\"write-file\",\"path\":\"secrets/registrar-wif\",\"reason\":\"differs from this machine's\"}",
            "{\"action\":\"write-file\",\"path\":\"compose.yml\",\"reason\":\"differs from the inventory\"}",
            "{\"action\":\"recreate\",\"service\":\"us-api-1\",\"reason\":\"image old/image:1 -> ghcr.io/bts-infra/bts-infra-node:mainnet-7.0.2-0.1.0\"}",
            "{\"action\":\"recreate\",\"service\":\"us-testnet-1\",\"reason\":\"its definition changed (environment, ports, volumes or a config file)\"}",
            "{\"action\":\"start\",\"service\":\"us-gateway\",\"reason\":\"it is exited on the host (drift)\"}",
            "{\"action\":\"recreate\",\"service\":\"faucet\",\"reason\":\"its secret registrar-wif changed\"}",
            "{\"action\":\"remove\",\"service\":\"gone-node\",\"reason\":\"not in the inventory\"}",
        ]
    "#]]
    .assert_debug_eq(&shown);
}

#[test]
fn a_new_backend_reloads_the_gateways_and_a_new_listener_recreates_them() {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    let before = render(&inv);
    // A node added in Asia: both gateways get a backend, nothing else of theirs changes.
    let added = format!(
        "{TWO_REGIONS}\n[[node]]\nname = \"asia-api-2\"\nhost = \"asia-1\"\nnetwork = \"mainnet\"\nrpc-port = 8190\nspec = {{ mode = \"api\", history = \"low\" }}\n"
    );
    let (inv, _) = parse(&added).unwrap();
    let after = render(&inv);
    let (observed, files) = applied(&before[0]);
    let changes = plan(&after[0], &observed, &files, &secrets(&after[0]));
    let reload = Change::Reload {
        service: "us-gateway".into(),
        reason: "us-gateway.toml changed (networks, backends or health checks): read again in place".into(),
    };
    assert!(changes.contains(&reload), "{changes:?}");
    // The gateway is not recreated (its sessions stay). The faucet is: it lists the nodes it
    // broadcasts through, and has no reload.
    let recreated: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Recreate { service, .. } => Some(service.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(recreated, ["faucet"]);
    // A stopped gateway is started with the new file, not reloaded.
    let mut stopped = observed.clone();
    stopped.iter_mut().find(|o| o.service == "us-gateway").unwrap().state = "exited".into();
    let changes = plan(&after[0], &stopped, &files, &secrets(&after[0]));
    assert!(
        !changes.iter().any(|c| matches!(c, Change::Reload { .. })),
        "{changes:?}"
    );
    // Another TLS port is a listener: the gateway is recreated.
    let moved = TWO_REGIONS.replace(
        "contact = \"mailto:ops@example.org\"",
        "contact = \"mailto:ops@example.org\"\nport = 8443",
    );
    let (inv, _) = parse(&moved).unwrap();
    let changes = plan(&render(&inv)[0], &observed, &files, &secrets(&before[0]));
    assert!(
        changes.contains(&Change::Recreate {
            service: "us-gateway".into(),
            reason: "its definition changed (environment, ports, volumes or a config file)".into()
        }),
        "{changes:?}"
    );
    assert!(
        !changes.iter().any(|c| matches!(c, Change::Reload { .. })),
        "{changes:?}"
    );
}
