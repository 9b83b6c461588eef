//! Nothing lost, nothing twice, on SQLite and PostgreSQL: nodes that hang, freeze or are down
//! during a registration (the faucet has two node URLs), a result that stays unknown until the
//! nodes recover, two concurrent requests for one name, and a graceful shutdown mid-request.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_devnet::faults::FaultChange;
use bts_faucet::store::{Status, Store};
use support::{Backend, TestDb, register};

fn hang(on: bool) -> FaultChange {
    FaultChange {
        hang: Some(on),
        ..FaultChange::default()
    }
}

fn freeze(on: bool) -> FaultChange {
    FaultChange {
        frozen: Some(on),
        ..FaultChange::default()
    }
}

async fn status(db: &TestDb, name: &str) -> Option<Status> {
    let store = Store::open(&db.url).await.unwrap();
    let row = store.get(name).await.unwrap();
    store.close().await;
    row.map(|r| r.status)
}

/// The first node hangs (takes requests, never answers) after start; the faucet fails over. A
/// node that is down at start (nothing listening) is skipped too.
async fn hung_or_dead_node_fails_over(backend: Backend) {
    let devnet = support::devnet(2).await;
    let db = TestDb::new(backend).await;
    let urls = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, urls.clone(), &db)).await;
    support::fault(&devnet, 0, hang(true));
    let reply = register(&faucet, "hang-over-1", None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(support::creations(&urls[1], "hang-over-1").await, 1);
    faucet.stop().await.unwrap();
    support::fault(&devnet, 0, hang(false));

    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let ws = devnet.nodes()[1].ws_url();
    let faucet = support::start(support::config(&devnet, vec![dead, ws], &db)).await;
    let reply = register(&faucet, "dead-over-1", None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(status(&db, "dead-over-1").await, Some(Status::Confirmed));
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(hung_or_dead_node_fails_over);

/// The node the faucet broadcasts through freezes: it takes the transaction (the network
/// includes it) but never reports the block, so the broadcast times out. The faucet looks the
/// account up on the other node before any retry: one registration, answered as a success.
async fn broadcast_timeout_is_not_a_second_registration(backend: Backend) {
    let devnet = support::devnet(2).await;
    let db = TestDb::new(backend).await;
    let urls = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, urls.clone(), &db)).await;
    support::fault(&devnet, 0, freeze(true));
    let reply = register(&faucet, "frozen-tx-1", None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(support::creations(&urls[1], "frozen-tx-1").await, 1);
    assert_eq!(status(&db, "frozen-tx-1").await, Some(Status::Confirmed));
    let metrics = support::request(faucet.addr, "GET", "/metrics", &[], b"").await.text();
    assert!(
        metrics.contains("bts_faucet_node_errors_total{kind=\"timeout\"}"),
        "{metrics}"
    );
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(broadcast_timeout_is_not_a_second_registration);

/// Every node freezes: the transaction reaches the chain but no node shows it. The faucet
/// cannot know, so it says so and keeps the row; once the nodes recover, the same request
/// gets the success.
async fn unknown_outcome_is_kept_until_known(backend: Backend) {
    let devnet = support::devnet(2).await;
    let db = TestDb::new(backend).await;
    let urls = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, urls.clone(), &db)).await;
    support::fault(&devnet, 0, freeze(true));
    support::fault(&devnet, 1, freeze(true));
    let reply = register(&faucet, "limbo-1", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["error"]["code"], "in_progress", "{}", reply.text());
    assert_eq!(status(&db, "limbo-1").await, Some(Status::Broadcast));
    support::fault(&devnet, 0, freeze(false));
    support::fault(&devnet, 1, freeze(false));
    let reply = register(&faucet, "limbo-1", None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(status(&db, "limbo-1").await, Some(Status::Confirmed));
    assert_eq!(support::creations(&urls[0], "limbo-1").await, 1);
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(unknown_outcome_is_kept_until_known);

/// Two concurrent requests for one name: with the same keys both get the one success; with
/// other keys, one wins and the other hears "Account exists".
async fn concurrent_requests_register_once(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let urls = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, urls.clone(), &db)).await;
    let (a, b) = tokio::join!(register(&faucet, "twice-1", None), register(&faucet, "twice-1", None));
    assert_eq!((a.status, b.status), (201, 201), "{} / {}", a.text(), b.text());
    assert_eq!(a.json()["account"]["id"], b.json()["account"]["id"]);
    assert_eq!(support::creations(&urls[0], "twice-1").await, 1);

    let keys = |password: &str| support::password_keys("twice-2", password, bts_protocol::Prefix::TEST);
    let path = "/onboarding/api/v1/accounts";
    let (one, two) = (
        support::body("twice-2", &keys("one"), None),
        support::body("twice-2", &keys("two"), None),
    );
    let (x, y) = tokio::join!(
        support::post(&faucet, path, &one, &[]),
        support::post(&faucet, path, &two, &[])
    );
    let mut statuses = [(x.status, x.error()), (y.status, y.error())];
    statuses.sort();
    assert_eq!(statuses, [(200, Some("Account exists".to_owned())), (201, None)]);
    assert_eq!(support::creations(&urls[0], "twice-2").await, 1);
    faucet.stop().await.unwrap();
    db.remove().await;
}
on_both_databases!(concurrent_requests_register_once);

/// A shutdown while a registration waits on a slow broadcast: the server stops accepting, the
/// registration finishes and is written down, then `serve` returns.
async fn graceful_shutdown_finishes_registrations(backend: Backend) {
    let devnet = support::devnet(2).await;
    let db = TestDb::new(backend).await;
    let urls = support::http_urls(&devnet);
    let faucet = support::start(support::config(&devnet, urls.clone(), &db)).await;
    support::fault(&devnet, 0, freeze(true));
    let addr = faucet.addr;
    let pending = tokio::spawn(async move {
        let keys = support::password_keys("drain-1", "secret password", bts_protocol::Prefix::TEST);
        let body = support::body("drain-1", &keys, None);
        support::request(
            addr,
            "POST",
            "/api/v1/accounts",
            &[("Content-Type", "application/json")],
            &body,
        )
        .await
    });
    support::wait_until("the registration to be broadcast", || async {
        status(&db, "drain-1").await == Some(Status::Broadcast)
    })
    .await;
    faucet.stop().await.unwrap();
    let reply = pending.await.unwrap();
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(status(&db, "drain-1").await, Some(Status::Confirmed));
    db.remove().await;
}
on_both_databases!(graceful_shutdown_finishes_registrations);
