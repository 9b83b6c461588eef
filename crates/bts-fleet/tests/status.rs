//! `fleet status` put together from the hosts' reports: heads and lag per network, each API
//! node's place in each gateway's pool (matched by the URL the gateway was rendered with), an
//! unreachable host, a container the inventory does not have, and a missing one.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_fleet::plan::Observed;
use bts_fleet::status::{HostReport, assemble};
use support::{TWO_REGIONS, parse};

fn running(id: &str, service: &str) -> Observed {
    Observed {
        id: id.to_owned(),
        service: service.to_owned(),
        image: "x:1".to_owned(),
        hash: None,
        kind: None,
        state: "running".to_owned(),
        health: Some("healthy".to_owned()),
    }
}

fn ready(head: u32) -> String {
    format!(
        "{{\"ready\":true,\"rpc\":\"ws://127.0.0.1:8090/\",\"chain_id\":\"x\",\"head_block_number\":{head},\"head_age_secs\":1}}\n"
    )
}

#[test]
fn the_fleet_in_one_table() {
    let (inv, _) = parse(TWO_REGIONS).unwrap();
    // The US gateway has us-api-1 (by name), us-api-2 cordoned, asia-api-1 out.
    let us_gateway = r#"{"networks":[
        {"name":"mainnet","eligible_backends":1,"backends":[
            {"url":"ws://us-api-1:8090/","eligible":true,"cordoned":false,"reason":"head 120 in sync"},
            {"url":"ws://198.51.100.12:8090/","eligible":false,"cordoned":true,"reason":"cordoned"},
            {"url":"ws://203.0.113.21:8090/","eligible":false,"cordoned":false,"reason":"lagging 30 blocks"}]},
        {"name":"testnet","eligible_backends":1,"backends":[
            {"url":"ws://us-testnet-1:8091/","eligible":true,"cordoned":false,"reason":"ok"}]}],
        "certificates":[{"name":"api.example.org","not_after":"2027-03-01T00:00:00Z"}]}"#;
    let us_1 = HostReport {
        containers: vec![
            running("aaa111", "us-api-1"),
            running("bbb222", "us-gateway"),
            running("ccc333", "stray"),
        ],
        stats: vec![
            r#"{"ID":"aaa111","CPUPerc":"1.50%","MemUsage":"20.5MiB / 3.8GiB","Name":"bts_us-api-1_1"}"#.to_owned(),
        ],
        ready: [("us-api-1".to_owned(), ready(120))].into(),
        gateways: [("us-gateway".to_owned(), us_gateway.to_owned())].into(),
        error: None,
    };
    let us_2 = HostReport {
        containers: vec![running("ddd444", "us-api-2"), running("eee555", "us-producer")],
        ready: [
            ("us-api-2".to_owned(), ready(118)),
            ("us-producer".to_owned(), ready(120)),
        ]
        .into(),
        ..HostReport::default()
    };
    let asia_1 = HostReport {
        error: Some("cannot reach deploy@203.0.113.21:2222 over SSH: Connection refused".to_owned()),
        ..HostReport::default()
    };
    let status = assemble(&inv, &[us_1, us_2, asia_1]);
    expect_test::expect_file!["data/status.txt"].assert_eq(&status.table());
    let api_2 = status.hosts[1].services.iter().find(|s| s.name == "us-api-2").unwrap();
    assert_eq!(api_2.node.as_ref().unwrap().lag, Some(2));
}
