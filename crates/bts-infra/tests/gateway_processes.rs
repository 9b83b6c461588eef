//! The gateway's failover scenarios with process-level faults instead of injected ones: its
//! backends are `bts-infra devnet` processes of one chain, and under load one is killed with
//! SIGKILL, one frozen with SIGSTOP, and one made to lag by stopping the node it follows.
//! Clients must not see an error, and the gateway's pool must say what happened.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support_procs;

use bts_gateway::config::{GatewayConfig, NetworkConfig};
use bts_rpc::{HttpClient, HttpOptions, WsClient, WsOptions};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support_procs::{Proc, wait_for_block};
use tokio::net::TcpListener;

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
    notices: AtomicU64,
}

fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The gateway's view of backend `index`: (eligible, reason).
async fn backend(gateway: &str, index: usize) -> (bool, String) {
    let body = reqwest_status(gateway).await;
    let b = &body["networks"][0]["backends"][index];
    (
        b["eligible"].as_bool().unwrap(),
        b["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn reqwest_status(gateway: &str) -> Value {
    let addr = gateway.trim_start_matches("http://").trim_end_matches('/').to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    })
    .await
    .unwrap()
}

/// Waits until the gateway sees backend `index` as `eligible`; returns the reason it gives.
async fn wait_backend(gateway: &str, index: usize, eligible: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (now, reason) = backend(gateway, index).await;
        if now == eligible {
            return reason;
        }
        assert!(
            Instant::now() < deadline,
            "backend {index} never became eligible={eligible} ({reason})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_frozen_and_lagging_processes_cost_clients_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let producer = Proc::start("producer", dir.path(), &flags(&["--block-interval", "1s"]));
    let mut f1 = Proc::start("f1", dir.path(), &flags(&["--follow", &producer.ws()]));
    // f2 follows a node the gateway does not know: stopping that one makes f2 lag.
    let hidden = Proc::start("hidden", dir.path(), &flags(&["--follow", &producer.ws()]));
    let f2 = Proc::start("f2", dir.path(), &flags(&["--follow", &hidden.ws()]));
    wait_for_block(&f2.http(), 2).await;

    let chain_id = producer.report["chain_id"].as_str().unwrap().parse().unwrap();
    let urls = [producer.ws(), f1.ws(), f2.ws()];
    let network = NetworkConfig::new("mainnet", chain_id, &urls).unwrap();
    let mut config = GatewayConfig::with_networks(vec![network]).unwrap();
    config.health.interval = Duration::from_millis(300);
    config.health.timeout = Duration::from_millis(600);
    config.limits.requests_per_second_per_ip = 0;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}/", listener.local_addr().unwrap());
    let ws_gateway = format!("ws://{}/", listener.local_addr().unwrap());
    let (stop_gateway, gateway_stopped) = tokio::sync::oneshot::channel::<()>();
    let gateway_task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = gateway_stopped.await;
        };
        bts_gateway::run(listener, &config, None, None, shutdown).await.unwrap();
    });
    for i in 0..3 {
        wait_backend(&gateway, i, true).await;
    }

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let client = WsClient::connect(&ws_gateway, WsOptions::default()).await.unwrap();
        let mut blocks = client.set_block_applied_callback().await.unwrap();
        let (t, s) = (tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let api = client.api();
            while !s.load(Ordering::Relaxed) {
                tokio::select! {
                    b = blocks.recv() => if b.is_some() { t.notices.fetch_add(1, Ordering::Relaxed); },
                    r = api.get_dynamic_global_properties() => {
                        let counter = if r.is_ok() { &t.ok } else { &t.errors };
                        counter.fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = r { eprintln!("ws read failed: {e}"); }
                    }
                }
            }
        }));
    }
    for i in 0..4u64 {
        let client = HttpClient::new(&gateway, HttpOptions::default()).unwrap();
        let (t, s) = (tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                let r = client
                    .api()
                    .get_objects(&[format!("1.2.{}", i % 8).parse().unwrap()])
                    .await;
                let counter = if r.is_ok() { &t.ok } else { &t.errors };
                counter.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = r {
                    eprintln!("http read failed: {e}");
                }
            }
        }));
    }

    // 1. f1 is killed: out of the pool; restarted from its data dir: back in.
    tokio::time::sleep(Duration::from_secs(1)).await;
    f1.kill9();
    eprintln!("killed f1: {}", wait_backend(&gateway, 1, false).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    f1.restart();
    wait_backend(&gateway, 1, true).await;

    // 2. f1 is frozen (SIGSTOP): its checks time out, it is out; thawed, it is back.
    f1.signal("STOP");
    eprintln!("froze f1: {}", wait_backend(&gateway, 1, false).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    f1.signal("CONT");
    wait_backend(&gateway, 1, true).await;

    // 3. f2's upstream is frozen: f2 still answers, but its head stops, and it is out for lag.
    hidden.signal("STOP");
    let reason = wait_backend(&gateway, 2, false).await;
    // The gateway names it by its stopped head (older than the pool's) or its block lag.
    assert!(
        reason.contains("stopped") || reason.contains("behind"),
        "out for lag: {reason}"
    );
    hidden.signal("CONT");
    wait_backend(&gateway, 2, true).await;

    let notices_before = tally.notices.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, errors) = (tally.ok.load(Ordering::Relaxed), tally.errors.load(Ordering::Relaxed));
    let notices_after = tally.notices.load(Ordering::Relaxed) - notices_before;
    eprintln!("reads ok {ok}, errors {errors}, block notices in the last 3 s {notices_after}");
    assert_eq!(errors, 0, "no client-visible errors for reads");
    assert!(ok > 100, "the load ran ({ok} reads)");
    assert!(
        notices_after >= 3,
        "sessions still receive block notices ({notices_after})"
    );
    let _ = stop_gateway.send(());
    gateway_task.await.unwrap();
    drop((producer, hidden, f2));
}
