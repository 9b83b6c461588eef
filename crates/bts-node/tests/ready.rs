//! The readiness probe against devnet nodes on 127.0.0.1:0: a fresh node is ready; a frozen
//! (lagging) one, one on another chain, a hung one and a closed port are not, each with its reason.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_devnet::faults::FaultChange;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_node::health::{Expectations, NotReady};
use bts_node::ready::probe;
use bts_protocol::{ChainId, Prefix};
use bts_rpc::{HttpClient, HttpOptions, WsClient, WsOptions};
use std::time::Duration;
use tokio::net::TcpListener;

/// A devnet of `nodes` nodes with one-second blocks, its clock at now.
async fn devnet(nodes: usize) -> Devnet {
    let config = config_now(Prefix::BTS);
    Devnet::start_local("ready", config, nodes, ServerConfig::admin())
        .await
        .unwrap()
}

fn expect(chain_id: ChainId, max_head_age: Duration) -> Expectations {
    Expectations {
        chain_id: Some(chain_id),
        max_head_age,
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_fresh_node_on_the_expected_chain_is_ready() {
    let devnet = devnet(1).await;
    let chain_id = devnet.network().config().chain_id;
    let ready = probe(
        &devnet.nodes()[0].http_url(),
        &expect(chain_id, Duration::from_secs(10)),
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(ready.chain_id, chain_id);
    assert!(ready.head_block_number >= 1);
    // The node closes each HTTP connection after one answer, as witness_node does: probe after
    // probe (two calls each) is still ready. A pooled client said "not ready" to 6-8 of 40.
    for _ in 0..40 {
        probe(
            &devnet.nodes()[0].http_url(),
            &expect(chain_id, Duration::from_secs(10)),
            TIMEOUT,
        )
        .await
        .unwrap();
    }
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_frozen_node_is_not_ready_because_its_head_is_old() {
    let devnet = devnet(2).await;
    let chain_id = devnet.network().config().chain_id;
    let (live, frozen) = (&devnet.nodes()[0], &devnet.nodes()[1]);
    frozen.node.faults().apply(&FaultChange {
        frozen: Some(true),
        ..FaultChange::default()
    });
    let frozen_client = HttpClient::new(&frozen.http_url(), HttpOptions::default()).unwrap();
    let frozen_at = frozen_client
        .api()
        .get_dynamic_global_properties()
        .await
        .unwrap()
        .head_block_number;
    // Three more blocks on the live node: the frozen head is then at least 3 s old (blocks come at
    // their one-second slots), older than the 1 s allowed below.
    let live_ws = WsClient::connect(&live.ws_url(), WsOptions::default()).await.unwrap();
    let mut blocks = live_ws.set_block_applied_callback().await.unwrap();
    while blocks.recv().await.unwrap().block_num() < frozen_at + 3 {}

    let error = probe(&frozen.http_url(), &expect(chain_id, Duration::from_secs(1)), TIMEOUT)
        .await
        .unwrap_err();
    match &error {
        NotReady::Stale {
            head_block_number,
            max_secs,
            ..
        } => assert_eq!((*head_block_number, *max_secs), (frozen_at, 1)),
        other => panic!("expected a stale head, got {other:?}"),
    }
    assert!(error.to_string().contains("s old (max 1s)"), "{error}");
    // The live node is fine with the same expectations' chain and a normal allowance.
    assert!(
        probe(&live.http_url(), &expect(chain_id, Duration::from_secs(10)), TIMEOUT)
            .await
            .is_ok()
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_node_on_another_chain_is_not_ready() {
    let devnet = devnet(1).await;
    let node = &devnet.nodes()[0];
    node.node.faults().apply(&FaultChange {
        chain_id: Some(Some(ChainId::TESTNET)),
        ..FaultChange::default()
    });
    let mainnet = expect(ChainId::MAINNET, Duration::from_secs(10));
    let error = probe(&node.http_url(), &mainnet, TIMEOUT).await.unwrap_err();
    assert_eq!(
        error,
        NotReady::WrongChain {
            expected: ChainId::MAINNET,
            actual: ChainId::TESTNET
        }
    );
    assert!(
        error.to_string().starts_with("wrong chain: the node is on testnet"),
        "{error}"
    );
    // A ws:// URL is probed over HTTP on the same port, as witness_node serves both there.
    let ws_url = bts_node::health::probe_url(&node.ws_url()).unwrap();
    assert!(matches!(
        probe(&ws_url, &mainnet, TIMEOUT).await,
        Err(NotReady::WrongChain { .. })
    ));
    devnet.shutdown().await;
}

#[tokio::test]
async fn a_hung_node_and_a_closed_port_are_unreachable() {
    let devnet = devnet(1).await;
    let node = &devnet.nodes()[0];
    node.node.faults().apply(&FaultChange {
        hang: Some(true),
        ..FaultChange::default()
    });
    let any = expect(devnet.network().config().chain_id, Duration::from_secs(10));
    let hung = probe(&node.http_url(), &any, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(hung, NotReady::Unreachable { .. }), "{hung:?}");
    node.node.faults().apply(&FaultChange {
        hang: Some(false),
        ..FaultChange::default()
    });
    devnet.shutdown().await;

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let refused = probe(&url, &any, TIMEOUT).await.unwrap_err();
    assert!(
        refused.to_string().starts_with(&format!("no answer from {url}: ")),
        "{refused}"
    );
}
