//! The pool the data plane programs against, on a real devnet: reload keeps unchanged backends
//! (identity, health, probe) and retires removed ones (their sessions are told), cordoning takes a
//! backend out of selection, latency selection avoids a slow node, round-robin honours weights,
//! routing by path, and shutdown stops the probes.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_control;

use bts_devnet::faults::FaultChange;
use bts_gateway::config::BackendConfig;
use bts_gateway::pool::ReloadSummary;
use bts_gateway::{BackendId, Gateway, GatewayError, NetworkConfig, Selection};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use support_control::{config, devnet, fault, guard, start, until};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn counts(network: &bts_gateway::Network, n: usize) -> HashMap<BackendId, usize> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        *counts.entry(network.pick(CLIENT, &[]).unwrap().id()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_unchanged_backends_and_retires_removed_ones() {
    let net = devnet(3).await;
    let full = config(&net);
    let gw = start(&full).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    let ids: Vec<BackendId> = network.backends().iter().map(|b| b.id()).collect();
    let removed = network.backends()[2].clone();
    let mut removed_watch = removed.eligible();

    let mut smaller = full.clone();
    smaller.networks[0].backends.truncate(2);
    let summary = gw.reload(&smaller).unwrap();
    assert_eq!(
        summary,
        ReloadSummary {
            added: 0,
            kept: 2,
            removed: 1
        }
    );
    let after = gw.network("devnet").unwrap();
    assert_eq!(after.backends().iter().map(|b| b.id()).collect::<Vec<_>>(), ids[..2]);
    assert_eq!(
        after.eligible_count(),
        2,
        "kept backends stay in use without a new check"
    );
    guard(
        "the removed backend's sessions are told",
        removed_watch.wait_for(|e| !*e),
    )
    .await
    .unwrap();
    assert!(
        !counts(&network, 100).contains_key(&ids[2]),
        "the old snapshot no longer picks it either"
    );

    let summary = gw.reload(&full).unwrap();
    assert_eq!(
        summary,
        ReloadSummary {
            added: 1,
            kept: 2,
            removed: 0
        }
    );
    let again = gw.network("devnet").unwrap();
    let fresh = again.backends()[2].clone();
    assert_ne!(fresh.id(), ids[2], "a backend that comes back is a new one");
    until(&gw, &again, "the re-added backend admitted", |_| fresh.is_eligible()).await;

    // Adding a network on another path routes to it; the first is untouched.
    let mut two = full.clone();
    let urls = [net.nodes()[0].ws_url()];
    let other = NetworkConfig::new("second", support_control::chain_id(&net), &urls).unwrap();
    two.networks.push(other.with_paths(&["/second"]));
    gw.reload(&two).unwrap();
    let second = gw.network_for(None, "/second/ws").unwrap();
    assert_eq!(second.name(), "second");
    assert_eq!(gw.network_for(None, "/").unwrap().name(), "devnet");
    until(&gw, &second, "the new network serving", |n| n.eligible_count() == 1).await;
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordoned_backends_are_not_picked_and_sessions_are_told() {
    let net = devnet(2).await;
    let gw = start(&config(&net)).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 2).await;
    let (a, b) = (network.backends()[0].clone(), network.backends()[1].clone());
    let mut pinned = a.eligible();
    a.cordon(true);
    assert!(pinned.has_changed().unwrap() && !*pinned.borrow_and_update());
    assert_eq!(counts(&network, 50), HashMap::from([(b.id(), 50)]));
    assert_eq!(support_control::backend_status(&gw, 0)["cordoned"], true);
    assert_eq!(
        network.pick(CLIENT, &[b.id()]).map(|x| x.id()),
        None,
        "nothing left to try"
    );
    a.cordon(false);
    assert_eq!(network.eligible_count(), 2);
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_selection_avoids_a_slow_node() {
    let net = devnet(3).await;
    let slow = FaultChange {
        latency_ms: Some(150),
        ..FaultChange::default()
    };
    fault(&net, 0, slow);
    let gw = start(&config(&net)).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 3).await;
    let slow_id = network.backends()[0].id();
    // Power of two choices never keeps the dearer of two: the slow node loses every pair.
    assert!(!counts(&network, 300).contains_key(&slow_id));
    // Requests in flight count: a fast node with 10 000 in flight costs more than the slow one.
    let busy = network.backends()[1].clone();
    let guards: Vec<_> = (0..10_000).map(|_| busy.begin()).collect();
    assert_eq!(busy.in_flight(), 10_000);
    let picked = counts(&network, 300);
    assert!(!picked.contains_key(&busy.id()), "{picked:?}");
    drop(guards);
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_honours_weights() {
    let net = devnet(2).await;
    let mut cfg = config(&net);
    let urls: Vec<String> = net.nodes().iter().map(|n| n.ws_url()).collect();
    cfg.networks[0].selection = Selection::RoundRobin;
    cfg.networks[0].backends = vec![
        BackendConfig::new(&urls[0]).unwrap(),
        BackendConfig::new(&urls[1]).unwrap(),
    ];
    cfg.networks[0].backends[1].weight = 3;
    let gw = start(&cfg).await;
    let network = gw.network("devnet").unwrap();
    until(&gw, &network, "every backend healthy", |n| n.eligible_count() == 2).await;
    let ids: Vec<BackendId> = network.backends().iter().map(|b| b.id()).collect();
    let picked = counts(&network, 400);
    assert_eq!((picked[&ids[0]], picked[&ids[1]]), (100, 300));
    gw.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_probes() {
    let net = devnet(1).await;
    let gw = start(&config(&net)).await;
    guard("shutdown", gw.shutdown()).await;
    assert!(matches!(gw.reload(&config(&net)), Err(GatewayError::ShutDown)));
    // The networks stay readable after the probes stopped.
    assert_eq!(gw.network("devnet").unwrap().eligible_count(), 1);
    net.shutdown().await;
}

#[test]
fn starting_needs_a_runtime() {
    let cfg = bts_gateway::GatewayConfig::with_networks(vec![
        NetworkConfig::new("m", bts_protocol::ChainId::MAINNET, &["ws://127.0.0.1:9"]).unwrap(),
    ])
    .unwrap();
    assert!(matches!(Gateway::start(&cfg), Err(GatewayError::NoRuntime)));
}
