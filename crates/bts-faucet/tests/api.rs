//! The faucet's HTTP API as wallets use it, against a devnet, on SQLite and PostgreSQL: a
//! registration with keys made by the real bitsharesjs and checked on chain, referrers, refused
//! names, keys and bodies, CORS, the status and test-mode routes, statistics and metrics.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_faucet::{FaucetClient, NewAccount, UnknownReferrer};
use bts_protocol::{AccountId, Prefix};
use serde_json::json;
use std::time::Duration;
use support::{Backend, REFERRER, TestDb, post, register, request};

/// bitsharesjs derives the password keys (as bitshares-ui's login does); the faucet registers
/// them through `/onboarding/api/v1/accounts`; the chain then holds exactly those keys, our
/// registrar, the referrer asked for and 70%.
async fn bitsharesjs_keys_register_on_chain(backend: Backend) {
    let devnet = support::devnet(2).await;
    let db = TestDb::new(backend).await;
    let nodes = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, nodes.clone(), &db)).await;
    let name = "wallet-user-1";
    let js = support::run_js("wallet_keys.js", &[name, "correct horse battery staple", "TEST"]).await;
    let keys = ["owner", "active", "memo"].map(|r| js[r].as_str().unwrap().to_owned());
    assert_eq!(
        js["account_login"]["active"],
        json!(keys[1]),
        "bitsharesjs agrees with itself"
    );
    assert_eq!(
        keys,
        support::password_keys(name, "correct horse battery staple", Prefix::TEST),
        "bts-protocol derives the same keys"
    );
    let reply = post(
        &faucet,
        "/onboarding/api/v1/accounts",
        &support::body(name, &keys, Some(REFERRER)),
        &[],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["status"], "Account created");
    assert_eq!(body["account"]["name"], name);
    assert_eq!(body["account"]["referrer"], REFERRER);
    assert_eq!(body["account"]["memo_key"], json!(keys[2]));
    let id = body["account"]["id"].as_str().unwrap().to_owned();
    // The account is visible when the wallet gets its answer, on every node.
    for url in &nodes {
        let account = support::account(url, name).await.unwrap();
        assert_eq!(account.id.to_string(), id);
        assert_eq!(account.owner.key_auths.iter().next().unwrap().0, support::key(&keys[0]));
        assert_eq!(
            account.active.key_auths.iter().next().unwrap().0,
            support::key(&keys[1])
        );
        assert_eq!(account.options.memo_key, support::key(&keys[2]));
        assert_eq!(account.registrar, AccountId::new(7).unwrap());
        assert_eq!(account.referrer, AccountId::new(8).unwrap(), "{REFERRER} is 1.2.8");
        assert_eq!(account.referrer_rewards_percentage, 7000);
        assert_eq!(account.options.voting_account, AccountId::PROXY_TO_SELF);
    }
    // The same request again is the same success (a wallet retrying after a lost answer).
    let again = post(
        &faucet,
        "/api/v1/accounts",
        &support::body(name, &keys, Some(REFERRER)),
        &[],
    )
    .await;
    assert_eq!((again.status, again.json()["account"]["id"].clone()), (201, json!(id)));
    assert_eq!(support::creations(&nodes[0], name).await, 1);
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(bitsharesjs_keys_register_on_chain);

/// Referrer absent, unknown, not a member, junk, given as an id; then the "reject" policy.
async fn referrers(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let nodes = support::http_urls(&devnet);
    let mut config = support::config(&devnet, nodes.clone(), &db);
    let faucet = support::start(config.clone()).await;
    let cases = [
        ("ref-absent1", None, "faucet"),
        ("ref-unknown1", Some("nobody-here9"), "faucet"),
        ("ref-basic1", Some(support::BASIC), "faucet"),
        ("ref-junk1", Some("<script>alert(1)</script>"), "faucet"),
        ("ref-by-id1", Some("1.2.8"), REFERRER),
        ("ref-by-name1", Some(REFERRER), REFERRER),
    ];
    for (name, referrer, expected) in cases {
        let reply = register(&faucet, name, referrer).await;
        assert_eq!(reply.status, 201, "{name}: {}", reply.text());
        assert_eq!(reply.json()["account"]["referrer"], expected, "{name}");
        let account = support::account(&nodes[0], name).await.unwrap();
        let expected_id = if expected == "faucet" { 7 } else { 8 };
        assert_eq!(account.referrer, AccountId::new(expected_id).unwrap(), "{name}");
    }
    faucet.stop().await.unwrap();
    config.unknown_referrer = UnknownReferrer::Reject;
    let faucet = support::start(config).await;
    let reply = register(&faucet, "ref-rejected1", Some("nobody-here9")).await;
    assert_eq!(
        (reply.status, reply.error()),
        (200, Some("Unknown referrer: nobody-here9".to_owned()))
    );
    assert!(support::account(&nodes[0], "ref-rejected1").await.is_none());
    // Refused before anything was sent: the same name works with a good referrer.
    let reply = register(&faucet, "ref-rejected1", Some(REFERRER)).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(referrers);

/// Premium, invalid and taken names, wrong-prefix keys, missing fields: HTTP 200 with the
/// reference texts.
async fn refused_names_keys_and_fields(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let faucet = support::start(support::config(&devnet, support::http_urls(&devnet), &db)).await;
    let keys = support::password_keys("refused-1", "pw", Prefix::TEST);
    let path = "/onboarding/api/v1/accounts";
    let refused = |name: &str| support::body(name, &keys, None);
    for (body, expected) in [
        (refused("alice"), "Only cheap names allowed!"),
        (
            refused("Alice-1"),
            "segment \"Alice-1\" must start with a lowercase letter",
        ),
        (refused("ab"), "Account name should be longer."),
        (refused("init0"), "Account exists"),
        (refused(REFERRER), "Account exists"),
    ] {
        let reply = post(&faucet, path, &body, &[]).await;
        assert_eq!(
            (reply.status, reply.error().as_deref()),
            (200, Some(expected)),
            "{}",
            reply.text()
        );
    }
    let bts_keys = support::password_keys("refused-1", "pw", Prefix::BTS);
    let reply = post(&faucet, path, &support::body("refused-1", &bts_keys, None), &[]).await;
    let error = reply.error().unwrap();
    assert!(
        error.starts_with("Invalid owner_key") && error.contains("TEST"),
        "{error}"
    );
    for field in ["name", "owner_key", "active_key", "memo_key"] {
        let mut account =
            json!({"name": "refused-1", "owner_key": keys[0], "active_key": keys[1], "memo_key": keys[2]});
        account.as_object_mut().unwrap().remove(field);
        let reply = post(&faucet, path, json!({ "account": account }).to_string().as_bytes(), &[]).await;
        assert_eq!(reply.error(), Some(format!("Please provide '{field}'")));
    }
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(refused_names_keys_and_fields);

/// Unreadable and huge bodies get 400 and 413 with a JSON error; fields a client must not
/// choose are ignored; a name taken with other keys is refused.
async fn bodies_and_ignored_fields(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let nodes = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, nodes.clone(), &db)).await;
    let path = "/onboarding/api/v1/accounts";
    for junk in [&b"{\"account\": "[..], b"[]", b"{\"name\":\"x\"}"] {
        let reply = post(&faucet, path, junk, &[]).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert!(reply.error().is_some(), "a JSON error body: {}", reply.text());
    }
    let huge = vec![b' '; 64 * 1024];
    let reply = post(&faucet, path, &huge, &[]).await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(reply.error().unwrap().contains("too large"));
    let keys = support::password_keys("chooser-1", "pw", Prefix::TEST);
    let mut body: serde_json::Value = serde_json::from_slice(&support::body("chooser-1", &keys, None)).unwrap();
    body["account"]["registrar"] = json!(REFERRER);
    body["account"]["referrer_percent"] = json!(10000);
    body["account"]["email"] = json!("x@example.com");
    let reply = post(&faucet, path, body.to_string().as_bytes(), &[]).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let account = support::account(&nodes[0], "chooser-1").await.unwrap();
    assert_eq!(
        (account.registrar, account.referrer_rewards_percentage),
        (AccountId::new(7).unwrap(), 7000)
    );
    let other_keys = support::password_keys("x", "y", Prefix::TEST);
    let reply = post(&faucet, path, &support::body("chooser-1", &other_keys, None), &[]).await;
    assert_eq!(reply.error().as_deref(), Some("Account exists"));
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(bodies_and_ignored_fields);

/// CORS preflights and headers, every mount point, doubled slashes, the status route.
async fn cors_routes_and_status(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let faucet = support::start(support::config(&devnet, support::http_urls(&devnet), &db)).await;
    let origin = [("Origin", "https://wallet.bitshares.org")];
    let preflight = [
        ("Origin", "https://wallet.bitshares.org"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type,accept"),
    ];
    for path in [
        "/api/v1/accounts",
        "/onboarding/api/v1/accounts",
        "/anything/api/v1/accounts",
    ] {
        let reply = request(faucet.addr, "OPTIONS", path, &preflight, b"").await;
        assert!(reply.status == 200 || reply.status == 204, "{path}: {}", reply.status);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{path}");
        assert!(reply.header("access-control-allow-methods").unwrap().contains("POST"));
        assert!(
            reply
                .header("access-control-allow-headers")
                .unwrap()
                .contains("content-type")
        );
        assert!(reply.header("access-control-max-age").is_some());
        let plain = request(faucet.addr, "OPTIONS", path, &[], b"").await;
        assert!(plain.status == 200 || plain.status == 204, "{path}: {}", plain.status);
        assert_eq!(plain.header("access-control-allow-origin"), Some("*"), "{path}");
    }
    for (i, path) in [
        "/api/v1/accounts",
        "/onboarding/api/v1/accounts",
        "/refcode1/api/v1/accounts",
        "/onboarding//api/v1/accounts",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("route-{i}");
        let keys = support::password_keys(&name, "pw", Prefix::TEST);
        let reply = post(&faucet, path, &support::body(&name, &keys, None), &origin).await;
        assert_eq!(reply.status, 201, "{path}: {}", reply.text());
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{path}");
    }
    let status = |name: &str| format!("/onboarding/api/v1/accounts/{name}/status");
    let reply = request(faucet.addr, "GET", &status("route-0"), &origin, b"").await;
    assert_eq!(reply.json()["account"]["available"], false);
    let reply = request(faucet.addr, "GET", &status("free-name-1"), &origin, b"").await;
    assert_eq!(
        reply.json(),
        json!({"account": {"name": "free-name-1", "available": true}})
    );
    let reply = request(faucet.addr, "GET", "/api/v1/accounts/alice/status", &[], b"").await;
    assert_eq!(reply.json()["account"]["reason"], "Only cheap names allowed!");
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(cors_routes_and_status);

/// `test-faucet*` names are signed but not broadcast; the Rust client posts as bitshares-ui
/// does.
async fn test_mode_and_client(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let nodes = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, nodes.clone(), &db)).await;
    let reply = register(&faucet, "test-faucet-1", None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let tx = &reply.json()["tx"];
    assert_eq!(tx["operations"][0][0], 5);
    assert_eq!(tx["operations"][0][1]["name"], "test-faucet-1");
    assert!(
        tx.get("signatures").is_none(),
        "never a broadcastable transaction: {tx}"
    );
    assert!(support::account(&nodes[0], "test-faucet-1").await.is_none());

    let client = FaucetClient::new(&format!("{}/onboarding/", faucet.url()), Duration::from_secs(30)).unwrap();
    let [owner_key, active_key, memo_key] = support::password_keys("client-1", "pw", Prefix::TEST);
    let new = NewAccount {
        name: "client-1".into(),
        owner_key,
        active_key,
        memo_key,
        referrer: Some(REFERRER.into()),
    };
    let reply = client.register(&new).await.unwrap();
    assert_eq!((reply.status, reply.error()), (201, None));
    let reply = client
        .register(&NewAccount {
            name: "alice".into(),
            ..new
        })
        .await
        .unwrap();
    assert_eq!(reply.error().as_deref(), Some("Only cheap names allowed!"));
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(test_mode_and_client);

/// The statistics (JSON and HTML) and the metrics count what happened.
async fn stats_and_metrics(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let mut config = support::config(&devnet, support::http_urls(&devnet), &db);
    // More registrations than the devnet registrar's balance pays for: the warning shows.
    config.low_balance_registrations = 1 << 40;
    let faucet = support::start(config).await;
    assert_eq!(register(&faucet, "stats-1", Some(REFERRER)).await.status, 201);
    assert_eq!(register(&faucet, "test-faucet-2", None).await.status, 201);
    assert!(register(&faucet, "alice", None).await.error().is_some());
    let stats = request(faucet.addr, "GET", "/onboarding/api/v1/stats", &[], b"")
        .await
        .json();
    assert_eq!(stats["accounts"]["registered"], 1, "{stats}");
    assert_eq!(
        stats["accounts"]["per_referrer"],
        json!([{"referrer": REFERRER, "accounts": 1}])
    );
    assert_eq!(stats["accounts"]["per_day"].as_array().unwrap().len(), 1);
    assert!(stats["fees_paid_satoshis"].as_i64().unwrap() > 0);
    let chain = &stats["registrar_on_chain_satoshis"];
    assert_eq!(chain["cashback_vesting_balance"], 0, "no rewards on a devnet");
    assert!(chain["balance"].as_i64().unwrap() > 0 && chain["lifetime_fees_paid"].as_i64().is_some());
    let (balance, fee) = (
        chain["balance"].as_i64().unwrap(),
        chain["registration_fee"].as_i64().unwrap(),
    );
    assert!(fee > 0, "{chain}");
    let left = balance / fee;
    assert_eq!(chain["registrations_left"], left);
    let warning = stats["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with(&format!("the registrar's balance pays for {left} more registrations")),
        "{warning}"
    );
    let page = request(faucet.addr, "GET", "/onboarding/stats", &[], b"").await;
    let text = page.text();
    assert!(
        text.contains("<b>Warning:</b> the registrar's balance pays for"),
        "{text}"
    );
    assert!(
        page.text().contains("<td>accounts registered</td><td>1</td>"),
        "{}",
        page.text()
    );
    let metrics = request(faucet.addr, "GET", "/metrics", &[], b"").await.text();
    for needle in [
        "# HELP bts_faucet_registrations_total",
        "bts_faucet_registrations_total{outcome=\"created\"} 1",
        "bts_faucet_registrations_total{outcome=\"test\"} 1",
        "bts_faucet_registrations_total{outcome=\"invalid\"} 1",
        "# TYPE bts_faucet_registration_duration_seconds histogram",
        "bts_faucet_fees_paid_satoshis_total",
        &format!("bts_faucet_registration_fee_satoshis {fee}"),
        &format!("bts_faucet_registrations_left {left}"),
        "# HELP bts_faucet_registrar_balance_satoshis",
    ] {
        assert!(metrics.contains(needle), "{needle} missing in\n{metrics}");
    }
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(stats_and_metrics);
