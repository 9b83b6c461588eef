//! Each check against real servers: devnet nodes (healthy, frozen, of another chain), nothing
//! listening, a server that never answers, and the real gateway serving TLS from certificate
//! files (near expiry, far from it, untrusted), then stopped. Each failure has its own kind.

mod support;

use bts_probe::check::{self, Check, ErrorKind, Outcome};
use bts_probe::config::{Endpoint, EndpointKind};
use bts_protocol::ChainId;
use std::time::{Duration, SystemTime};
use support::{Gateway, certificates, context, dead_addr, devnet, freeze, until};

fn api(ws: Option<String>, http: Option<String>, chain_id: ChainId) -> Endpoint {
    Endpoint {
        name: "main".into(),
        network: "mainnet".into(),
        kind: EndpointKind::Api {
            ws,
            http,
            chain_id,
            max_head_age: Duration::from_secs(3),
        },
        objective: 0.999,
    }
}

/// A server that accepts connections and never answers: its address, and the task to abort.
async fn silent_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    (addr, held)
}

/// Each outcome as (check, error kind), `None` for a pass.
fn kinds(outcomes: &[Outcome]) -> Vec<(Check, Option<ErrorKind>)> {
    outcomes
        .iter()
        .map(|o| (o.check, o.result.as_ref().err().map(|f| f.kind)))
        .collect()
}

#[tokio::test]
async fn a_healthy_node_passes_and_another_chain_is_wrong_chain() {
    let net = devnet(1).await;
    let node = &net.nodes()[0];
    let chain = net.network().config().chain_id;
    let ctx = context(None);
    let outcomes = check::endpoint(
        &ctx,
        &api(Some(node.ws_url()), Some(node.http_url()), chain),
        SystemTime::now(),
    )
    .await;
    assert_eq!(
        kinds(&outcomes),
        [(Check::Ws, None), (Check::Http, None)],
        "{outcomes:?}"
    );
    let head = outcomes[0].head.expect("the ws check saw the head");
    assert!(head.number >= 1 && head.age < 3.0, "{head:?}");

    let outcomes = check::endpoint(
        &ctx,
        &api(Some(node.ws_url()), Some(node.http_url()), ChainId::MAINNET),
        SystemTime::now(),
    )
    .await;
    assert_eq!(
        kinds(&outcomes),
        [
            (Check::Ws, Some(ErrorKind::WrongChain)),
            (Check::Http, Some(ErrorKind::WrongChain))
        ]
    );
    let detail = &outcomes[0].result.as_ref().expect_err("wrong chain").detail;
    assert!(
        detail.contains(&chain.to_string()) && detail.contains(&ChainId::MAINNET.to_string()),
        "{detail}"
    );
    net.shutdown().await;
}

#[tokio::test]
async fn a_frozen_node_is_a_stale_head_until_it_thaws() {
    let net = devnet(1).await;
    let node = &net.nodes()[0];
    let endpoint = api(
        Some(node.ws_url()),
        Some(node.http_url()),
        net.network().config().chain_id,
    );
    let ctx = context(None);
    freeze(&net, 0, true);
    // The head stops; once it is older than max-head-age (3 s) both checks say so.
    until("a stale head", || async {
        kinds(&check::endpoint(&ctx, &endpoint, SystemTime::now()).await)
            == [
                (Check::Ws, Some(ErrorKind::StaleHead)),
                (Check::Http, Some(ErrorKind::StaleHead)),
            ]
    })
    .await;
    freeze(&net, 0, false);
    until("a fresh head again", || async {
        kinds(&check::endpoint(&ctx, &endpoint, SystemTime::now()).await) == [(Check::Ws, None), (Check::Http, None)]
    })
    .await;
    net.shutdown().await;
}

#[tokio::test]
async fn nothing_listening_is_connect_and_silence_is_timeout() {
    let dead = dead_addr().await;
    let mut ctx = context(None);
    let endpoint = api(
        Some(format!("ws://{dead}/")),
        Some(format!("http://{dead}/")),
        ChainId::MAINNET,
    );
    let outcomes = check::endpoint(&ctx, &endpoint, SystemTime::now()).await;
    assert_eq!(
        kinds(&outcomes),
        [
            (Check::Ws, Some(ErrorKind::Connect)),
            (Check::Http, Some(ErrorKind::Connect))
        ]
    );
    // A server that accepts and never answers.
    let (addr, held) = silent_server().await;
    ctx.timeout = Duration::from_millis(500);
    let endpoint = api(
        Some(format!("ws://{addr}/")),
        Some(format!("http://{addr}/")),
        ChainId::MAINNET,
    );
    let outcomes = check::endpoint(&ctx, &endpoint, SystemTime::now()).await;
    assert_eq!(
        kinds(&outcomes),
        [
            (Check::Ws, Some(ErrorKind::Timeout)),
            (Check::Http, Some(ErrorKind::Timeout))
        ]
    );
    held.abort();
}

#[tokio::test]
async fn the_gateways_certificate_is_checked_as_a_wallet_would_and_a_stopped_gateway_is_connect() {
    let net = devnet(1).await;
    let chain = net.network().config().chain_id;
    let dir = tempfile::tempdir().expect("dir");
    // Five days left: within the 14-day warning.
    let ca = certificates(dir.path(), 5);
    let gateway = Gateway::start(&net, dir.path()).await;
    let endpoint = api(
        Some(format!("wss://localhost:{}/", gateway.tls.port())),
        Some(format!("https://localhost:{}/", gateway.tls.port())),
        chain,
    );
    let now = SystemTime::now();
    let outcomes = check::endpoint(&context(Some(&ca)), &endpoint, now).await;
    assert_eq!(
        kinds(&outcomes),
        [
            (Check::Ws, None),
            (Check::Http, None),
            (Check::Tls, Some(ErrorKind::CertExpiring))
        ],
        "{outcomes:?}"
    );
    let left = outcomes[2]
        .cert_expiry
        .expect("expiry")
        .duration_since(now)
        .expect("future");
    assert!(
        left > Duration::from_secs(4 * 86_400) && left <= Duration::from_secs(5 * 86_400),
        "{left:?}"
    );
    let detail = &outcomes[2].result.as_ref().expect_err("expiring").detail;
    assert!(detail.contains("renew"), "{detail}");

    // The same certificate is fine for a prober told to warn 3 days ahead.
    let mut relaxed = context(Some(&ca));
    relaxed.cert_warn = Duration::from_secs(3 * 86_400);
    let outcomes = check::endpoint(&relaxed, &endpoint, SystemTime::now()).await;
    assert_eq!(
        kinds(&outcomes),
        [(Check::Ws, None), (Check::Http, None), (Check::Tls, None)]
    );

    // Without the CA, as a wallet that does not trust it: the handshake fails.
    let outcomes = check::endpoint(&context(None), &endpoint, SystemTime::now()).await;
    assert_eq!(
        kinds(&outcomes),
        [
            (Check::Ws, Some(ErrorKind::Tls)),
            (Check::Http, Some(ErrorKind::Tls)),
            (Check::Tls, Some(ErrorKind::Tls))
        ]
    );

    gateway.stop().await;
    let outcomes = check::endpoint(&context(Some(&ca)), &endpoint, SystemTime::now()).await;
    assert_eq!(
        kinds(&outcomes),
        [
            (Check::Ws, Some(ErrorKind::Connect)),
            (Check::Http, Some(ErrorKind::Connect))
        ],
        "no handshake reached: no tls check"
    );
    net.shutdown().await;
}

#[tokio::test]
async fn hostile_servers_cannot_flood_or_hold_a_check() {
    // A "node" that answers login with a 1 MiB message.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        use futures_util::{SinkExt, StreamExt};
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                if ws.next().await.is_some() {
                    let huge = format!("{{\"id\":1,\"result\":\"{}\"}}", "x".repeat(1 << 20));
                    let _ = ws.send(tokio_tungstenite::tungstenite::Message::text(huge)).await;
                }
                while ws.next().await.is_some() {}
            });
        }
    });
    let ctx = context(None);
    let endpoint = api(Some(format!("ws://{addr}/")), None, ChainId::MAINNET);
    let outcomes = check::endpoint(&ctx, &endpoint, SystemTime::now()).await;
    assert_eq!(
        kinds(&outcomes),
        [(Check::Ws, Some(ErrorKind::Protocol))],
        "{outcomes:?}"
    );
    let detail = &outcomes[0].result.as_ref().expect_err("refused").detail;
    assert!(
        detail.chars().count() <= check::DETAIL_MAX + 1,
        "{} characters",
        detail.len()
    );
    server.abort();

    // A faucet whose statistics never come: the read gives up at the timeout.
    let (addr, held) = silent_server().await;
    let mut ctx = context(None);
    ctx.timeout = Duration::from_millis(300);
    let read = check::http::get_json(&ctx, &format!("http://{addr}/api/v1/stats")).await;
    assert_eq!(read.expect_err("no answer").kind, ErrorKind::Timeout);
    held.abort();
}
