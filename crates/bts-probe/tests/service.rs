//! The prober as it runs: rounds every second against a healthy node, a node of another chain,
//! a frozen node, nothing listening, and the real faucet; the status page (JSON and HTML), the
//! metrics, incidents opened and closed, and the history across a restart.

mod support;

use bts_devnet::Devnet;
use bts_probe::{ProbeConfig, RawConfig};
use bts_protocol::ChainId;
use serde_json::Value;
use std::path::Path;
use support::{Gateway, certificates, context, dead_addr, devnet, faucet, freeze, start, until};

/// Where the prober's endpoints are.
struct Places<'a> {
    faucet: &'a str,
    dead: std::net::SocketAddr,
    /// The gateway's TLS port and the CA of its certificate.
    gateway: (u16, &'a Path),
    db: &'a Path,
}

fn config(net: &Devnet, places: &Places<'_>) -> ProbeConfig {
    let chain = net.network().config().chain_id;
    let (a, b) = (&net.nodes()[0], &net.nodes()[1]);
    let text = format!(
        "region = \"test\"\ninterval = \"1s\"\ntimeout = \"900ms\"\nincident-after = 2\n\
         database-url = \"sqlite://{db}\"\nca-file = \"{ca}\"\n\
         [[endpoint]]\nname = \"main\"\nnetwork = \"devnet\"\nws = \"{}\"\nhttp = \"{}\"\nchain-id = \"{chain}\"\nmax-head-age = \"3s\"\n\
         [[endpoint]]\nname = \"wrong\"\nnetwork = \"devnet\"\nws = \"{}\"\nchain-id = \"{}\"\n\
         [[endpoint]]\nname = \"frozen\"\nnetwork = \"devnet\"\nhttp = \"{}\"\nchain-id = \"{chain}\"\nmax-head-age = \"3s\"\n\
         [[endpoint]]\nname = \"dead\"\nnetwork = \"devnet\"\nws = \"ws://{dead}/\"\nchain-id = \"{chain}\"\n\
         [[endpoint]]\nname = \"gateway\"\nnetwork = \"devnet\"\nws = \"wss://localhost:{tls}/\"\nhttp = \"https://localhost:{tls}/\"\nchain-id = \"{chain}\"\n\
         [[faucet]]\nname = \"faucet\"\nnetwork = \"devnet\"\nurl = \"{faucet}\"\n",
        a.ws_url(),
        a.http_url(),
        a.ws_url(),
        ChainId::MAINNET,
        b.http_url(),
        db = places.db.display(),
        ca = places.gateway.1.display(),
        tls = places.gateway.0,
        faucet = places.faucet,
        dead = places.dead,
    );
    ProbeConfig::build(RawConfig::parse(&text).expect("toml")).expect("config")
}

fn endpoint<'a>(status: &'a Value, name: &str) -> &'a Value {
    (status["endpoints"].as_array().expect("endpoints").iter())
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {status}"))
}

/// The error kinds of an endpoint's current checks, in check order.
fn errors(status: &Value, name: &str) -> Vec<String> {
    let checks = endpoint(status, name)["regions"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    checks
        .iter()
        .map(|c| c["error"].as_str().unwrap_or("ok").to_owned())
        .collect()
}

fn incident<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .find(|i| i["endpoint"] == name)
}

#[tokio::test]
async fn the_page_shows_each_failure_by_kind_and_the_history_survives_a_restart() {
    let net = devnet(2).await;
    let dir = tempfile::tempdir().expect("dir");
    let (faucet_url, stop_faucet) = faucet(&net, &dir.path().join("faucet.sqlite")).await;
    // The real gateway in front of node 0, its certificate five days from expiry.
    let ca = certificates(dir.path(), 5);
    let gateway = Gateway::start(&net, dir.path()).await;
    let places = Places {
        faucet: &faucet_url,
        dead: dead_addr().await,
        gateway: (gateway.tls.port(), &ca),
        db: &dir.path().join("probe.sqlite"),
    };
    let config = config(&net, &places);
    freeze(&net, 1, true);
    let mut prober = start(config.clone()).await;
    until("the frozen node's head to go stale", || {
        let p = &prober;
        async move { errors(&p.status().await, "frozen") == ["stale_head"] }
    })
    .await;
    prober.after_rounds(2).await;
    let status = prober.status().await;

    assert_eq!(errors(&status, "main"), ["ok", "ok"], "{status}");
    assert_eq!(endpoint(&status, "main")["state"], "up");
    assert_eq!(errors(&status, "wrong"), ["wrong_chain"]);
    assert_eq!(errors(&status, "dead"), ["connect"]);
    assert_eq!(errors(&status, "faucet"), ["ok"]);
    assert_eq!(errors(&status, "gateway"), ["ok", "ok", "cert_expiring"]);
    assert_eq!(
        endpoint(&status, "gateway")["state"],
        "degraded",
        "an expiring certificate warns"
    );
    assert!(incident(&status, "gateway").is_none(), "a warning is no incident");
    for name in ["wrong", "dead", "frozen"] {
        assert_eq!(endpoint(&status, name)["state"], "down", "{name}");
    }
    assert_eq!(status["state"], "down");
    // Incidents open after two failed rounds, with their kinds, seen from this region.
    let wrong = incident(&status, "wrong").expect("an incident for the wrong chain");
    assert_eq!(wrong["errors"], serde_json::json!(["wrong_chain"]));
    assert_eq!(wrong["regions"], serde_json::json!(["test"]));
    assert!(wrong["ended"].is_null());
    assert!(incident(&status, "main").is_none());
    // Today's bar counts every check; the faucet's figures came from its stats.
    let today = &endpoint(&status, "main")["regions"][0]["days"][89];
    assert!(today["total"].as_u64().expect("total") >= 4, "{today}");
    assert_eq!(today["availability"], 1.0);
    assert_eq!(status["faucets"][0]["stats"]["accounts"]["registered"], 0, "{status}");

    let html = text(&prober.url, "/").await;
    for needle in [
        "data-name=\"wrong\"",
        "data-error=\"wrong_chain\"",
        "data-error=\"stale_head\"",
        "data-error=\"connect\"",
        "<svg class=\"bars\"",
        "<svg class=\"plot\"",
        "id=\"incidents\"",
        "id=\"faucet-faucet\"",
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }
    assert!(!html.contains("<script"), "the page needs no JavaScript");
    let metrics = text(&prober.url, "/metrics").await;
    let line = |needles: &[&str]| metrics.lines().any(|l| needles.iter().all(|n| l.contains(n)));
    assert!(
        line(&[
            "bts_probe_checks_total{",
            "endpoint=\"wrong\"",
            "result=\"wrong_chain\""
        ]),
        "{metrics}"
    );
    assert!(line(&[
        "bts_probe_checks_total{",
        "endpoint=\"frozen\"",
        "result=\"stale_head\""
    ]));
    assert!(line(&["bts_probe_up{", "endpoint=\"dead\"", "} 0"]));
    assert!(line(&[
        "bts_probe_duration_seconds_bucket{",
        "endpoint=\"main\"",
        "check=\"ws\""
    ]));
    assert!(line(&[
        "bts_probe_slo_objective_ratio{",
        "endpoint=\"main\"",
        "} 0.999"
    ]));
    assert!(line(&["bts_probe_last_round_timestamp_seconds{region=\"test\"}"]));
    assert!(line(&[
        "bts_probe_checks_total{",
        "endpoint=\"gateway\"",
        "result=\"cert_expiring\"",
        "} "
    ]));
    assert!(line(&[
        "bts_probe_certificate_expiry_timestamp_seconds{",
        "endpoint=\"gateway\""
    ]));
    assert!(line(&["bts_probe_head_age_seconds{", "endpoint=\"main\""]));

    // The gateway stops: both its checks fail to connect, and an incident opens.
    gateway.stop().await;
    until("the stopped gateway's incident", || {
        let p = &prober;
        async move {
            let status = p.status().await;
            errors(&status, "gateway") == ["connect", "connect"] && incident(&status, "gateway").is_some()
        }
    })
    .await;
    let status = prober.status().await;
    assert_eq!(
        incident(&status, "gateway").expect("open")["errors"],
        serde_json::json!(["connect"])
    );

    // Restart with the frozen node thawed: the history is still there, and the incident left
    // open closes at the new prober's first good round.
    let before = endpoint(&status, "main")["regions"][0]["days"][89]["total"]
        .as_u64()
        .expect("total");
    prober.stop().await;
    freeze(&net, 1, false);
    // The node of the wrong chain is no longer probed: nothing will close its incident but the
    // restart itself.
    let mut config = config;
    config.endpoints.retain(|e| e.name != "wrong");
    let mut prober = start(config).await;
    prober.after_rounds(2).await;
    let status = prober.status().await;
    let after = endpoint(&status, "main")["regions"][0]["days"][89]["total"]
        .as_u64()
        .expect("total");
    assert!(
        after > before,
        "the checks before the restart are kept: {before} then {after}"
    );
    let frozen = incident(&status, "frozen").expect("the frozen node's incident");
    assert!(frozen["ended"].is_i64(), "closed after the thaw: {frozen}");
    assert_eq!(frozen["errors"], serde_json::json!(["stale_head"]));
    assert!(incident(&status, "dead").expect("still down")["ended"].is_null());
    assert!(
        incident(&status, "wrong").expect("kept")["ended"].is_i64(),
        "closed: no longer probed"
    );
    assert!(incident(&status, "gateway").expect("still stopped")["ended"].is_null());
    prober.stop().await;
    let _ = stop_faucet.send(());
    net.shutdown().await;
}

/// The body of `GET url+path` as text.
async fn text(url: &str, path: &str) -> String {
    bts_probe::check::http::get_text(&context(None), &format!("{url}{path}"))
        .await
        .expect("an answer")
}

#[tokio::test]
async fn probers_of_two_regions_sharing_a_database_show_both_and_merge_their_incidents() {
    let net = devnet(1).await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("shared.sqlite");
    let dead = dead_addr().await;
    let config = |region: &str| {
        let text = format!(
            "region = \"{region}\"\ninterval = \"1s\"\ntimeout = \"900ms\"\nincident-after = 2\n\
             database-url = \"sqlite://{}\"\n\
             [[endpoint]]\nname = \"main\"\nnetwork = \"devnet\"\nws = \"{}\"\nchain-id = \"{}\"\n\
             [[endpoint]]\nname = \"gone\"\nnetwork = \"devnet\"\nws = \"ws://{dead}/\"\nchain-id = \"{}\"\n",
            db.display(),
            net.nodes()[0].ws_url(),
            net.network().config().chain_id,
            net.network().config().chain_id,
        );
        ProbeConfig::build(RawConfig::parse(&text).expect("toml")).expect("config")
    };
    let mut us = start(config("us")).await;
    let mut asia = start(config("asia")).await;
    us.after_rounds(3).await;
    asia.after_rounds(3).await;
    for prober in [&us, &asia] {
        let status = prober.status().await;
        assert_eq!(status["regions"], serde_json::json!(["asia", "us"]));
        let regions: Vec<&str> = (endpoint(&status, "main")["regions"].as_array().expect("regions").iter())
            .map(|r| r["region"].as_str().expect("name"))
            .collect();
        assert_eq!(regions, ["asia", "us"], "each prober shows both regions");
        let gone = incident(&status, "gone").expect("one incident");
        assert_eq!(
            gone["regions"].as_array().map(Vec::len),
            Some(2),
            "seen from both: {gone}"
        );
        assert_eq!(status["incidents"].as_array().map(Vec::len), Some(1), "merged into one");
    }
    us.stop().await;
    asia.stop().await;
    net.shutdown().await;
}
