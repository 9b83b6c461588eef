//! A faucet killed between broadcast and bookkeeping, on SQLite and PostgreSQL. The test plays
//! the dead process: it writes the rows as the faucet does (`pending`, then `broadcast` with the
//! signed transaction), broadcasts or not, and starts a faucet on that database. Start-up
//! reconciliation must settle each row from the chain.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_devnet::Devnet;
use bts_faucet::store::{NewRegistration, Status, Store};
use bts_protocol::{
    AccountCreate, AccountId, AccountOptions, Asset, AssetId, Authority, Prefix, PublicKey, SignedTransaction,
    Transaction,
};
use support::{Backend, TestDb, register};

/// What the faucet would have signed for `name` (password keys, registrar as referrer).
async fn signed_registration(devnet: &Devnet, url: &str, name: &str) -> SignedTransaction {
    let config = devnet.network().config();
    let api = support::node(url);
    let [owner, active, memo] = support::password_keys(name, "secret password", Prefix::TEST)
        .map(|k| PublicKey::parse(&k, Prefix::TEST).unwrap());
    let registrar = AccountId::new(7).unwrap();
    let mut op = AccountCreate {
        fee: Asset::core(0),
        registrar,
        referrer: registrar,
        referrer_percent: 7000,
        name: name.to_owned(),
        owner: Authority::single_key(owner),
        active: Authority::single_key(active),
        options: AccountOptions::no_votes(memo),
        extensions: Default::default(),
    };
    op.fee = api
        .api()
        .get_required_fees(&[op.clone().into()], AssetId::CORE)
        .await
        .unwrap()[0];
    let dgp = api.api().get_dynamic_global_properties().await.unwrap();
    Transaction::new(&dgp.head_block_id, dgp.time.saturating_add(60), vec![op.into()]).sign(
        &config.chain_id,
        &[config.registrar_private_key.as_ref().expect("the development key")],
    )
}

/// Writes the row a faucet writes before broadcasting `tx` (or only the pending row).
async fn crashed_row(store: &Store, name: &str, tx: Option<&SignedTransaction>) {
    let [owner, active, memo] = support::password_keys(name, "secret password", Prefix::TEST);
    let new = NewRegistration {
        name,
        owner_key: &owner,
        active_key: &active,
        memo_key: &memo,
        ip: "127.0.0.1",
        requested_referrer: None,
        claim: "the-dead-process",
        now: 1_700_000_000,
    };
    assert!(store.claim(&new).await.unwrap());
    if let Some(tx) = tx {
        let fee = tx.transaction.operations[0].fee().amount;
        let key = (name, "the-dead-process");
        assert!(
            store
                .set_broadcast(key, tx, ("1.2.7", "faucet"), fee, 1_700_000_001)
                .await
                .unwrap()
        );
    }
}

async fn killed_between_broadcast_and_bookkeeping(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let url = support::http_urls(&devnet)[0].clone();
    let store = Store::open(&db.url).await.unwrap();
    // 1. Broadcast, and the process died before writing `confirmed`.
    let sent = signed_registration(&devnet, &url, "crash-sent-1").await;
    crashed_row(&store, "crash-sent-1", Some(&sent)).await;
    support::node(&url)
        .api()
        .broadcast_transaction_synchronous(&sent)
        .await
        .unwrap();
    // 2. Written as `broadcast`, and the process died before sending it.
    let unsent = signed_registration(&devnet, &url, "crash-unsent-1").await;
    crashed_row(&store, "crash-unsent-1", Some(&unsent)).await;
    // 3. Died while still `pending` (nothing signed yet).
    crashed_row(&store, "crash-early-1", None).await;

    let faucet = support::start(support::config(&devnet, vec![url.clone()], &db)).await;
    let sent_row = store.get("crash-sent-1").await.unwrap().unwrap();
    assert_eq!(sent_row.status, Status::Confirmed, "{sent_row:?}");
    let on_chain = support::account(&url, "crash-sent-1").await.unwrap();
    assert_eq!(sent_row.account_id, Some(on_chain.id.to_string()));
    let unsent_row = store.get("crash-unsent-1").await.unwrap().unwrap();
    assert_eq!(
        unsent_row.status,
        Status::Confirmed,
        "sent again by the faucet: {unsent_row:?}"
    );
    assert!(support::account(&url, "crash-unsent-1").await.is_some());
    let early_row = store.get("crash-early-1").await.unwrap().unwrap();
    assert_eq!(early_row.status, Status::Failed, "{early_row:?}");
    assert!(support::account(&url, "crash-early-1").await.is_none());

    // The wallets ask again: the first two get their success, the third is registered now.
    for name in ["crash-sent-1", "crash-unsent-1", "crash-early-1"] {
        let reply = register(&faucet, name, None).await;
        assert_eq!(reply.status, 201, "{name}: {}", reply.text());
        assert_eq!(support::creations(&url, name).await, 1, "{name}");
    }
    faucet.stop().await.unwrap();
    store.close().await;
    db.remove().await;
}
on_both_databases!(killed_between_broadcast_and_bookkeeping);

/// The periodic pass: a row left unsettled by another process (old enough that nobody can
/// still be working on it) is settled while the faucet runs.
async fn periodic_reconciliation(backend: Backend) {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(backend).await;
    let url = support::http_urls(&devnet)[0].clone();
    let mut config = support::config(&devnet, vec![url.clone()], &db);
    config.timeouts.reconcile_interval = std::time::Duration::from_secs(1);
    let faucet = support::start(config).await;
    let store = Store::open(&db.url).await.unwrap();
    let tx = signed_registration(&devnet, &url, "orphan-1").await;
    crashed_row(&store, "orphan-1", Some(&tx)).await;
    support::wait_until("the orphaned row to be confirmed", || async {
        store.get("orphan-1").await.unwrap().unwrap().status == Status::Confirmed
    })
    .await;
    assert_eq!(support::creations(&url, "orphan-1").await, 1);
    let metrics = support::request(faucet.addr, "GET", "/metrics", &[], b"").await.text();
    assert!(
        metrics.contains("bts_faucet_reconciled_total{result=\"confirmed\"}"),
        "{metrics}"
    );
    faucet.stop().await.unwrap();
    store.close().await;
    db.remove().await;
}
on_both_databases!(periodic_reconciliation);
