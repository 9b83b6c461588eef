//! Shared by the prober's integration tests: devnets on port 0, the real gateway serving TLS from
//! certificate files made here (with the expiry a test needs), the real faucet, and waiting for
//! conditions (never sleeping where a condition can be awaited).

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_devnet::faults::FaultChange;
use bts_devnet::{Devnet, ServerConfig, config_now};
use bts_faucet::{Faucet, FaucetConfig};
use bts_probe::check::{Context, dial::Tls};
use bts_probe::{ProbeConfig, Prober};
use bts_protocol::Prefix;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;

/// Longest wait for a condition: a hang guard, not a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A devnet of `nodes` nodes with one-second blocks and the admin API on.
pub async fn devnet(nodes: usize) -> Devnet {
    Devnet::start_local("probe", config_now(Prefix::TEST), nodes, ServerConfig::admin())
        .await
        .expect("devnet")
}

/// Freezes or thaws node `i`'s head.
pub fn freeze(devnet: &Devnet, i: usize, frozen: bool) {
    devnet.nodes()[i].node.faults().apply(&FaultChange {
        frozen: Some(frozen),
        ..FaultChange::default()
    });
}

/// What a check needs, trusting `ca` besides the system's roots.
pub fn context(ca: Option<&Path>) -> Context {
    Context {
        tls: Tls::new(ca).expect("roots"),
        timeout: Duration::from_secs(5),
        cert_warn: Duration::from_secs(14 * 86_400),
    }
}

/// An address where nothing listens.
pub async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// A CA (`ca.pem`) and a certificate for 127.0.0.1 and localhost (`server.pem`, `server.key`)
/// valid until `days` days from now, in `dir`.
pub fn certificates(dir: &Path, days: u64) -> PathBuf {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bts-probe test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
    params.not_before = (SystemTime::now() - Duration::from_secs(86_400)).into();
    params.not_after = (SystemTime::now() + Duration::from_secs(days * 86_400)).into();
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("server.pem"), cert.pem()).expect("write");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write");
    dir.join("ca.pem")
}

/// The real gateway in front of `devnet`'s first node, on `/`, plain and TLS (from the files of
/// [`certificates`] in `dir`).
pub struct Gateway {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub async fn start(devnet: &Devnet, dir: &Path) -> Gateway {
        let toml = format!(
            "[tls]\n[[tls.certificate]]\ncert = \"{0}/server.pem\"\nkey = \"{0}/server.key\"\n\
             [[network]]\nname = \"mainnet\"\nchain-id = \"{1}\"\n[[network.backend]]\nurl = \"{2}\"\n",
            dir.display(),
            devnet.network().config().chain_id,
            devnet.nodes()[0].ws_url()
        );
        let mut config = bts_gateway::GatewayConfig::from_toml(&toml, "<test>").expect("gateway config");
        let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let tls = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (plain_addr, tls_addr) = (plain.local_addr().expect("addr"), tls.local_addr().expect("addr"));
        if let Some(t) = config.tls.as_mut() {
            t.listen = tls_addr;
        }
        let listeners = bts_gateway::Listeners {
            plain: Some(plain),
            tls: Some(tls),
            redirect: None,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            bts_gateway::run(listeners, &config, None, None, shutdown)
                .await
                .expect("the gateway runs");
        });
        let gateway = Gateway {
            plain: plain_addr,
            tls: tls_addr,
            stop,
            task,
        };
        // Ready once its health check admitted the node.
        let ctx = context(Some(&dir.join("ca.pem")));
        until("the gateway serves", || async {
            bts_probe::check::http::get_json(&ctx, &format!("http://{plain_addr}/status.json"))
                .await
                .is_ok_and(|s| s.to_string().contains("\"eligible\":true"))
        })
        .await;
        gateway
    }

    /// Stops it as an operator would: it closes its listeners.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Waits until `condition` holds, checking every 100 ms; fails after [`PATIENCE`].
pub async fn until<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The faucet as `bts-infra up` runs it, on the devnet's registrar.
pub async fn faucet(net: &Devnet, db: &Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    let chain = net.network().config();
    let key = chain.registrar_private_key.clone().expect("the devnet's registrar key");
    let nodes = net.nodes().iter().map(|n| n.http_url()).collect();
    let database = format!("sqlite://{}", db.display());
    let mut config = FaucetConfig::new(
        chain.registrar_name.clone(),
        key,
        chain.chain_id,
        chain.prefix,
        nodes,
        database,
    );
    config.limits = bts_faucet::config::Limits::OFF;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let faucet = Faucet::start(listener, config).await.expect("faucet");
    let url = format!("http://{}", faucet.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(faucet.serve(async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

pub struct Running {
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    rounds: tokio::sync::watch::Receiver<u64>,
}

pub async fn start(config: ProbeConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let prober = Prober::start(listener, config).await.expect("prober");
    let url = format!("http://{}", prober.local_addr());
    let rounds = prober.rounds();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        prober
            .serve(async move {
                let _ = stopped.await;
            })
            .await
            .expect("the prober serves");
    });
    Running {
        url,
        stop,
        task,
        rounds,
    }
}

impl Running {
    pub async fn after_rounds(&mut self, n: u64) {
        let want = *self.rounds.borrow() + n;
        tokio::time::timeout(PATIENCE, self.rounds.wait_for(|r| *r >= want))
            .await
            .expect("rounds run")
            .expect("the prober runs");
    }

    pub async fn status(&self) -> Value {
        bts_probe::check::http::get_json(&context(None), &format!("{}/status.json", self.url))
            .await
            .expect("status.json")
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("stopped cleanly");
    }
}
