//! Registration limits on SQLite and PostgreSQL: one account per address per interval, a daily
//! cap per address, a global hourly cap, and the client address behind trusted proxies only.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_faucet::Limits;
use std::time::Duration;
use support::{Backend, TestDb, post};

fn from(ip: &str) -> [(&str, &str); 1] {
    [("X-Forwarded-For", ip)]
}

async fn post_as(faucet: &support::Running, name: &str, headers: &[(&str, &str)]) -> support::Reply {
    let keys = support::password_keys(name, "pw", bts_protocol::Prefix::TEST);
    post(
        faucet,
        "/onboarding/api/v1/accounts",
        &support::body(name, &keys, None),
        headers,
    )
    .await
}

/// One account per address per interval; the header of an untrusted peer is ignored; a
/// trusted proxy's header names the client; a refused name does not use up the allowance.
async fn per_ip_interval_and_trusted_proxies(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let mut config = support::config(&devnet, support::http_urls(&devnet), &db);
    config.limits = Limits {
        ip_interval: Some(Duration::from_secs(3600)),
        ..Limits::OFF
    };
    let faucet = support::start(config.clone()).await;
    let reply = post_as(&faucet, "alice", &[]).await;
    assert_eq!(reply.error().as_deref(), Some("Only cheap names allowed!"));
    assert_eq!(post_as(&faucet, "ip-one-1", &[]).await.status, 201);
    let second = post_as(&faucet, "ip-one-2", &[]).await;
    let error = second.error().unwrap();
    assert!(error.to_lowercase().contains("only one account per ip"), "{error}");
    // 127.0.0.1 is not a trusted proxy here: its X-Forwarded-For is a client's claim.
    let spoofed = post_as(&faucet, "ip-one-3", &from("9.9.9.9")).await;
    assert!(
        spoofed.error().unwrap().contains("Only one account per IP"),
        "{}",
        spoofed.text()
    );
    faucet.stop().await.unwrap();

    config.proxy.trusted = vec!["127.0.0.1/32".parse().unwrap()];
    let faucet = support::start(config).await;
    // Behind the trusted proxy each client counts on its own; the proxy (no header) is the
    // 127.0.0.1 that already registered.
    assert_eq!(post_as(&faucet, "ip-two-1", &from("198.51.100.1")).await.status, 201);
    assert_eq!(post_as(&faucet, "ip-two-2", &from("198.51.100.2")).await.status, 201);
    let again = post_as(&faucet, "ip-two-3", &from("6.6.6.6, 198.51.100.1")).await;
    assert!(
        again.error().unwrap().contains("Only one account per IP"),
        "{}",
        again.text()
    );
    assert!(
        post_as(&faucet, "ip-two-4", &[])
            .await
            .error()
            .unwrap()
            .contains("Only one account per IP")
    );
    // IPv6 clients count per /64.
    assert_eq!(post_as(&faucet, "ip-six-1", &from("2001:db8:1:2::1")).await.status, 201);
    let same64 = post_as(&faucet, "ip-six-2", &from("2001:db8:1:2::ffff")).await;
    assert!(same64.error().unwrap().contains("Only one account per IP"));
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(per_ip_interval_and_trusted_proxies);

/// The daily cap per address, then the global hourly cap.
async fn daily_and_global_caps(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let mut config = support::config(&devnet, support::http_urls(&devnet), &db);
    config.proxy.trusted = vec!["127.0.0.1/32".parse().unwrap()];
    config.limits = Limits {
        ip_per_day: Some(2),
        global_per_hour: Some(4),
        ..Limits::OFF
    };
    let faucet = support::start(config).await;
    for name in ["cap-day-1", "cap-day-2"] {
        assert_eq!(post_as(&faucet, name, &from("203.0.113.7")).await.status, 201, "{name}");
    }
    let third = post_as(&faucet, "cap-day-3", &from("203.0.113.7")).await;
    assert_eq!(third.status, 200);
    assert!(
        third.error().unwrap().contains("creating more accounts"),
        "{}",
        third.text()
    );
    assert_eq!(third.json()["error"]["code"], "rate_limited");
    for name in ["cap-hour-1", "cap-hour-2"] {
        assert_eq!(post_as(&faucet, name, &from("203.0.113.8")).await.status, 201, "{name}");
    }
    let fifth = post_as(&faucet, "cap-hour-3", &from("203.0.113.9")).await;
    assert!(
        fifth.error().unwrap().contains("maximum of accounts for this hour"),
        "{}",
        fifth.text()
    );
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(daily_and_global_caps);
