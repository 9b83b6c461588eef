//! The faucet refuses to start on the wrong chain, with a registrar that does not exist, is not
//! a lifetime member or whose key it does not have, and says so. (The database plays no part;
//! SQLite only.)

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_faucet::{FaucetError, StartupError};
use bts_protocol::{ChainId, Prefix, PrivateKey};
use support::{Backend, TestDb};

fn refusal(result: Result<support::Running, FaucetError>) -> StartupError {
    match result {
        Err(FaucetError::Startup(e)) => e,
        Err(other) => panic!("not a start-up refusal: {other}"),
        Ok(_) => panic!("the faucet started"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_and_says_why() {
    let devnet = support::devnet(1).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let urls = support::http_urls(&devnet);
    let good = support::config(&devnet, urls.clone(), &db);

    let mut wrong_chain = good.clone();
    wrong_chain.chain_id = ChainId::TESTNET;
    let e = refusal(support::try_start(wrong_chain).await);
    assert!(
        matches!(e, StartupError::WrongChain { .. }) && e.is_configuration(),
        "{e}"
    );
    assert!(e.to_string().contains("wrong chain"), "{e}");

    let mut wrong_prefix = good.clone();
    wrong_prefix.prefix = Prefix::BTS;
    let e = refusal(support::try_start(wrong_prefix).await);
    assert!(matches!(e, StartupError::WrongPrefix { .. }), "{e}");

    let mut missing = good.clone();
    missing.registrar = "no-such-registrar".into();
    let e = refusal(support::try_start(missing).await);
    assert!(matches!(e, StartupError::NoRegistrar { .. }), "{e}");

    let mut basic = good.clone();
    basic.registrar = support::BASIC.into();
    basic.registrar_key = PrivateKey::from_seed(support::BASIC).unwrap();
    let e = refusal(support::try_start(basic).await);
    assert!(e.to_string().contains("is not a lifetime member"), "{e}");

    let mut wrong_key = good.clone();
    wrong_key.registrar_key = PrivateKey::from_seed("someone else").unwrap();
    let e = refusal(support::try_start(wrong_key).await);
    let public = PrivateKey::from_seed("someone else").unwrap().public_key(Prefix::TEST);
    assert!(matches!(e, StartupError::KeyMismatch { .. }), "{e}");
    assert!(e.to_string().contains(&public.to_string()), "names the public key: {e}");

    let mut no_node = good.clone();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    no_node.nodes = vec![format!("http://{dead}/")];
    let e = refusal(support::try_start(no_node).await);
    assert!(matches!(e, StartupError::NoNode { .. }) && !e.is_configuration(), "{e}");

    support::start(good).await.stop().await.unwrap();
    db.remove().await;
}
