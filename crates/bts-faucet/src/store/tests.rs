//! Tests of the store on an in-memory SQLite database: lifecycle, claims, counts, URLs.

use super::*;

fn new<'a>(name: &'a str, claim: &'a str, now: i64) -> NewRegistration<'a> {
    NewRegistration {
        name,
        owner_key: "TEST-owner",
        active_key: "TEST-active",
        memo_key: "TEST-memo",
        ip: "192.0.2.1",
        requested_referrer: Some("someone"),
        claim,
        now,
    }
}

/// The lifecycle, the claim token and the counts, on an in-memory database.
#[tokio::test]
async fn lifecycle_and_claims() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    assert!(store.claim(&new("a-1", "c1", 1000)).await.unwrap());
    assert!(
        !store.claim(&new("a-1", "c2", 1001)).await.unwrap(),
        "the name is taken"
    );
    assert!(
        !store.set_failed(("a-1", "c2"), "not mine", 1002).await.unwrap(),
        "wrong claim"
    );
    assert!(store.set_failed(("a-1", "c1"), "refused", 1003).await.unwrap());
    assert!(
        store.claim(&new("a-1", "c3", 1004)).await.unwrap(),
        "a failed row is reclaimed"
    );
    assert!(
        store
            .set_confirmed(("a-1", "c3"), Some("1.2.9"), Some(5), 1005)
            .await
            .unwrap()
    );
    assert!(
        !store.set_failed(("a-1", "c3"), "late", 1006).await.unwrap(),
        "confirmed is final"
    );
    let row = store.get("a-1").await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.account_id.as_deref(), row.block_num),
        (Status::Confirmed, Some("1.2.9"), Some(5))
    );
    assert!(row.same_keys("TEST-owner", "TEST-active", "TEST-memo"));
    assert!(store.claim(&new("b-1", "c4", 2000)).await.unwrap());
    assert_eq!(store.unsettled().await.unwrap().len(), 1);
    assert_eq!(store.count_from_ip("192.0.2.1", 1000).await.unwrap(), 2);
    assert_eq!(store.count_since(1500).await.unwrap(), 1);
    let stats = store.stats(0, 10).await.unwrap();
    assert_eq!((stats.count(Status::Confirmed), stats.count(Status::Pending)), (1, 1));
    assert_eq!(stats.per_day, [("1970-01-01".to_owned(), 1)]);
    store.close().await;
}

#[test]
fn urls() {
    assert_eq!(sqlite_create_if_missing("sqlite://a.db"), "sqlite://a.db?mode=rwc");
    assert_eq!(
        sqlite_create_if_missing("sqlite://a.db?x=1"),
        "sqlite://a.db?x=1&mode=rwc"
    );
    assert_eq!(sqlite_create_if_missing("sqlite::memory:"), "sqlite::memory:");
    assert_eq!(
        redact_url("postgres://bts:secret@db:5432/faucet"),
        "postgres://bts:***@db:5432/faucet"
    );
    assert_eq!(redact_url("sqlite://faucet.db"), "sqlite://faucet.db");
}
