//! The page's pure parts: incidents merged across regions, the state at a glance, and the HTML
//! drawn from a status (escaped, no scripts, every part present).

use super::*;
use crate::tally::Tally;

fn incident(region: &str, endpoint: &str, started: i64, ended: Option<i64>, errors: &[ErrorKind]) -> Incident {
    Incident {
        id: started,
        region: region.into(),
        endpoint: endpoint.into(),
        started,
        ended,
        errors: errors.to_vec(),
        detail: format!("{region} saw it"),
    }
}

#[test]
fn overlapping_incidents_of_an_endpoint_are_one_seen_from_several_regions() {
    let merged = merge_incidents(
        vec![
            incident("us", "main", 1_000, Some(1_600), &[ErrorKind::Connect]),
            incident("asia", "main", 1_200, Some(1_900), &[ErrorKind::Timeout]),
            incident("asia", "main", 5_000, None, &[ErrorKind::WrongChain]),
            incident("us", "faucet", 1_100, Some(1_300), &[ErrorKind::Unhealthy]),
        ],
        6_000,
    );
    type Shape<'a> = (&'a str, i64, Option<i64>, i64, Vec<&'a str>, usize);
    let shape: Vec<Shape<'_>> = merged
        .iter()
        .map(|i| {
            let regions = i.regions.iter().map(String::as_str).collect();
            (
                i.endpoint.as_str(),
                i.started,
                i.ended,
                i.duration_secs,
                regions,
                i.errors.len(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("main", 5_000, None, 1_000, vec!["asia"], 1),
            ("faucet", 1_100, Some(1_300), 200, vec!["us"], 1),
            ("main", 1_000, Some(1_900), 900, vec!["us", "asia"], 2),
        ]
    );
    assert_eq!(merged[2].detail, "us saw it", "the first failure's words");
}

fn now(check: Check, error: Option<ErrorKind>) -> CheckNow {
    CheckNow {
        check,
        at: 0,
        ok: error.is_none(),
        latency_ms: error.is_none().then_some(12.0),
        error,
        detail: error.map(|e| format!("<{e}>")),
    }
}

#[test]
fn the_state_is_down_only_when_every_availability_check_fails() {
    let ws_ok = now(Check::Ws, None);
    let http_bad = now(Check::Http, Some(ErrorKind::Timeout));
    let ws_bad = now(Check::Ws, Some(ErrorKind::Connect));
    let tls_warn = now(Check::Tls, Some(ErrorKind::CertExpiring));
    assert_eq!(state_of(&[]), State::Unknown);
    assert_eq!(state_of(std::slice::from_ref(&ws_ok)), State::Up);
    assert_eq!(
        state_of(&[ws_ok.clone(), tls_warn.clone()]),
        State::Degraded,
        "an expiring certificate warns"
    );
    assert_eq!(state_of(&[ws_ok, http_bad.clone()]), State::Degraded);
    assert_eq!(state_of(&[ws_bad, http_bad, tls_warn]), State::Down);
}

#[test]
fn the_html_has_every_part_escaped_and_no_script() {
    let mut tally = Tally::default();
    tally.add(Ok(20.0));
    tally.add(Err(ErrorKind::StaleHead));
    let day = Day {
        day: "2026-12-05".into(),
        figures: tally.figures(),
        errors: tally.errors.clone(),
    };
    let status = Status {
        title: "Status <of> \"things\"".into(),
        generated_at: "2026-12-06T00:00:00Z".into(),
        generated_unix: 1_796_515_200,
        region: "us".into(),
        regions: vec!["us".into()],
        state: State::Degraded,
        endpoints: vec![EndpointStatus {
            name: "main".into(),
            network: "mainnet".into(),
            kind: "api",
            objective: 0.999,
            state: State::Degraded,
            regions: vec![RegionStatus {
                region: "us".into(),
                state: State::Degraded,
                checks: vec![now(Check::Ws, None), now(Check::Tls, Some(ErrorKind::CertExpiring))],
                slo: Slo::new(0.999, &tally, &tally, &tally),
                last_day: tally.figures(),
                days: vec![day; DAYS as usize],
                latency: vec![Point {
                    at: 1_796_515_200 - 600,
                    p50_ms: Some(20.0),
                    p99_ms: Some(20.0),
                }],
            }],
        }],
        incidents: merge_incidents(
            vec![incident("us", "main", 1_796_500_000, None, &[ErrorKind::StaleHead])],
            1_796_515_200,
        ),
        faucets: vec![FaucetView {
            name: "faucet".into(),
            network: "mainnet".into(),
            stats: Some(serde_json::json!({
                "chain": {"prefix": "BTS"},
                "accounts": {"registered": 3, "per_day": [{"day": "2026-12-05", "accounts": 3}]},
                "registrar_on_chain_satoshis": {"balance": 123_456_789, "registration_fee": 50_000, "registrations_left": 2469},
                "warnings": ["<low>"],
            })),
        }],
    };
    let html = html::render(&status);
    for needle in [
        "<title>Status &lt;of&gt; &quot;things&quot;</title>",
        "id=\"state\" class=\"banner degraded\"",
        "Degraded: main",
        "data-error=\"cert_expiring\"",
        "title=\"&lt;cert_expiring&gt;\"",
        "2026-12-05: 50.0 % available (2 checks), median 18 ms, 1× stale_head",
        "<circle",
        "(ongoing)",
        "1,234.56789 BTS",
        "<td>2469</td>",
        "2026-12-05: 3 accounts",
        "<b>Warning:</b> &lt;low&gt;",
    ] {
        assert!(html.contains(needle), "{needle:?} missing");
    }
    assert!(!html.contains("<script") && !html.contains("<low>"));
}
