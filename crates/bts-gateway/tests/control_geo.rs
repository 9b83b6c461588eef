//! Geo selection with a MaxMind-format database the tests generate (support_control/mmdb.rs):
//! the reader accepts and verifies it, addresses resolve to their countries, and a gateway over a
//! three-region devnet sends each client to its region, falling back to the others when its
//! region has no healthy backend.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_control;

use bts_gateway::config::GeoConfig;
use bts_gateway::geo::GeoDb;
use bts_gateway::{Gateway, GatewayError, Selection};
use std::collections::BTreeMap;
use std::net::IpAddr;
use support_control::{config, devnet, geo_database_file, start, until, with_regions};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn codes(db: &GeoDb, addr: &str) -> (Option<String>, Option<String>) {
    let place = db.lookup(ip(addr));
    (
        place.country.map(|c| c.as_str().to_owned()),
        place.continent.map(|c| c.as_str().to_owned()),
    )
}

fn some(country: &str, continent: &str) -> (Option<String>, Option<String>) {
    (Some(country.to_owned()), Some(continent.to_owned()))
}

#[test]
fn the_generated_database_is_a_valid_maxmind_db() {
    let bytes = support_control::mmdb::test_database();
    let reader = maxminddb::Reader::from_source(bytes.clone()).unwrap();
    reader.verify().unwrap();
    assert_eq!(reader.metadata().ip_version, 6);
    let db = GeoDb::from_bytes(bytes).unwrap();
    assert_eq!(codes(&db, "127.0.0.1"), some("US", "NA"));
    assert_eq!(codes(&db, "127.0.1.200"), some("JP", "AS"));
    assert_eq!(codes(&db, "127.0.2.7"), some("DE", "EU"));
    assert_eq!(codes(&db, "192.0.2.1"), some("JP", "AS"));
    assert_eq!(codes(&db, "127.0.3.1"), (None, None));
    assert_eq!(codes(&db, "10.1.2.3"), (None, None));
    assert_eq!(codes(&db, "2001:db8::1"), (None, None));
}

fn prefer() -> BTreeMap<String, Vec<String>> {
    let mut prefer = BTreeMap::new();
    prefer.insert("US".to_owned(), vec!["us".to_owned(), "asia".to_owned()]);
    prefer.insert("AS".to_owned(), vec!["asia".to_owned(), "us".to_owned()]);
    prefer.insert("EU".to_owned(), vec!["eu".to_owned()]);
    prefer.insert("*".to_owned(), vec!["us".to_owned()]);
    prefer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_go_to_their_region_and_fall_back_to_others() {
    let net = devnet(3).await;
    let mut cfg = with_regions(config(&net), &["us", "asia", "eu"]);
    cfg.networks[0].selection = Selection::Geo;
    cfg.networks[0].geo = Some(GeoConfig {
        database: geo_database_file("regions"),
        prefer: prefer(),
    });
    let gw = start(&cfg).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    let region = |client: &str| network.pick(ip(client), &[]).unwrap().region().to_owned();
    for _ in 0..20 {
        assert_eq!(region("127.0.0.10"), "us", "US client");
        assert_eq!(region("127.0.1.10"), "asia", "JP client, by continent AS");
        assert_eq!(region("127.0.2.10"), "eu", "DE client, by continent EU");
        assert_eq!(region("10.9.9.9"), "us", "unknown client, by *");
    }
    // Already tried in asia: the JP client's next choice is its second preference.
    let asia = network.pick(ip("127.0.1.10"), &[]).unwrap();
    assert_eq!(network.pick(ip("127.0.1.10"), &[asia.id()]).unwrap().region(), "us");

    // No healthy backend in asia: JP clients are served from the other regions.
    asia.cordon(true);
    for _ in 0..20 {
        assert_ne!(region("127.0.1.10"), "asia");
    }
    asia.cordon(false);
    assert_eq!(region("127.0.1.10"), "asia");
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test]
async fn an_unusable_database_names_its_network() {
    let mut cfg = bts_gateway::GatewayConfig::with_networks(vec![
        bts_gateway::NetworkConfig::new("m", bts_protocol::ChainId::MAINNET, &["ws://127.0.0.1:9"])
            .unwrap()
            .with_selection(Selection::Geo),
    ])
    .unwrap();
    cfg.networks[0].geo = Some(GeoConfig {
        database: "/nonexistent/GeoLite2-Country.mmdb".into(),
        prefer: BTreeMap::new(),
    });
    let e = Gateway::start(&cfg).unwrap_err();
    assert!(matches!(e, GatewayError::Geo { .. }));
    let shown = e.to_string();
    assert!(
        shown.starts_with("network[0].geo.database: cannot use the geo database /nonexistent/"),
        "{shown}"
    );
}
