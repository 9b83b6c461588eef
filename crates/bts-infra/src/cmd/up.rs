//! `bts-infra up`: the whole local stack on devnets, the main job on a fresh machine.
//!
//! A mainnet-like network (prefix BTS) and a testnet-like one (prefix TEST), each with several
//! nodes, and the gateway in front of both: mainnet-like on `/` and `/ws`, testnet-like on
//! `/testnet`, the faucet on `/onboarding`, as a public endpoint serves them. With `--tls-port`
//! the gateway serves the same routes over TLS, from certificate files or from a local ACME
//! server (pebble).

use crate::cmd::devnet::{NetworkReport, store_error};
use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_devnet::chain::ChainConfig;
use bts_devnet::ledger::Ledger;
use bts_devnet::store::DataDir;
use bts_devnet::{Devnet, ServerConfig};
use bts_faucet::config::Limits;
use bts_faucet::{Faucet, FaucetConfig};
use bts_gateway::config::{GatewayConfig, NetworkConfig};
use bts_protocol::Prefix;
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Arguments of `bts-infra up`.
#[derive(Args)]
pub(crate) struct UpArgs {
    /// Interface to listen on
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    host: IpAddr,
    /// First port: the gateway uses PORT, the faucet PORT+1, the prober's status page PORT+2,
    /// mainnet-like nodes PORT+10, PORT+11, ...,
    /// testnet-like ones PORT+20, ...; 0 picks free ports
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Nodes per network
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// Time between blocks, whole seconds
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = serve::parse_interval)]
    block_interval: u32,
    /// Serve /devnet/admin on every node, to inject faults
    #[arg(long)]
    admin: bool,
    /// Keep the stack's state here and resume it on restart: each network's chain in
    /// DIR/NETWORK/, the faucet's registrations in DIR/faucet.sqlite [default: in memory]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Also serve HTTPS and WSS on this port, with --tls-cert/--tls-key or a certificate from
    /// --acme-directory
    #[arg(long, value_name = "PORT")]
    tls_port: Option<u16>,
    /// Certificate chain (PEM) for the TLS port
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "tls_port"], conflicts_with = "acme_directory")]
    tls_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// A local ACME server's directory (pebble: https://127.0.0.1:14000/dir) to get the TLS
    /// port's certificate from, by TLS-ALPN-01 (its tlsPort must be --tls-port)
    #[arg(long, value_name = "URL", requires_all = ["tls_port", "tls_domain"])]
    acme_directory: Option<String>,
    /// The ACME server's own HTTPS root (pebble's minica.pem)
    #[arg(long, value_name = "FILE", requires = "acme_directory")]
    acme_ca: Option<std::path::PathBuf>,
    /// The name on the ACME certificate (resolving to this machine for the ACME server)
    #[arg(long, value_name = "NAME")]
    tls_domain: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// The networks `up` starts: name, prefix, port offset.
const NETWORKS: [(&str, Prefix, u16); 2] = [("mainnet-like", Prefix::BTS, 10), ("testnet-like", Prefix::TEST, 20)];

/// The gateway's path prefixes for each network, in `NETWORKS` order.
const GATEWAY_PATHS: [&[&str]; 2] = [&["/", "/ws"], &["/testnet"]];

impl UpArgs {
    /// Runs the stack until Ctrl-C or SIGTERM.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        serve::block_on(async move {
            // Nodes close each HTTP connection after its answer, as witness_node does.
            let server = ServerConfig {
                admin: self.admin,
                ..ServerConfig::default()
            };
            let mut devnets = Vec::new();
            for (name, prefix, offset) in NETWORKS {
                let mut listeners = Vec::new();
                for i in 0..self.nodes {
                    let port = if self.port == 0 {
                        0
                    } else {
                        self.port.saturating_add(offset + i)
                    };
                    listeners.push(serve::bind(SocketAddr::new(self.host, port), "--port").await?);
                }
                let mut config = ChainConfig::devnet(prefix);
                config.block_interval = self.block_interval;
                config.genesis_time = bts_devnet::genesis_now(config.block_interval);
                let (config, ledger) = match &self.data_dir {
                    Some(dir) => self.stored_chain(&dir.join(name), config)?,
                    None => (config, Arc::new(Ledger::memory())),
                };
                devnets.push(Devnet::resume(name, config, ledger, listeners, server).await?);
            }
            let gateway_listener = serve::bind(SocketAddr::new(self.host, self.port), "--port").await?;
            let faucet_port = if self.port == 0 { 0 } else { self.port.saturating_add(1) };
            let faucet_listener = serve::bind(SocketAddr::new(self.host, faucet_port), "--port").await?;
            let faucet_addr = faucet_listener.local_addr()?;
            let mut config = gateway_config(&devnets, faucet_addr)?;
            let mut listeners = bts_gateway::Listeners::from(gateway_listener);
            if let Some(port) = self.tls_port {
                let tls_listener = serve::bind(SocketAddr::new(self.host, port), "--tls-port").await?;
                config.tls = Some(self.tls_config(tls_listener.local_addr()?)?);
                listeners.tls = Some(tls_listener);
            }
            let gateway = GatewayReport::new(
                listeners.plain.as_ref().expect("bound above").local_addr()?,
                listeners.tls.as_ref().map(|l| l.local_addr()).transpose()?,
                self.tls_domain.as_deref(),
            );
            let (stop_gateway, gateway_stopped) = tokio::sync::oneshot::channel::<()>();
            let gateway_task = tokio::spawn(async move {
                let shutdown = async move {
                    let _ = gateway_stopped.await;
                };
                bts_gateway::run(listeners, &config, None, None, shutdown).await
            });
            let database = match &self.data_dir {
                Some(dir) => format!("sqlite://{}?mode=rwc", dir.join("faucet.sqlite").display()),
                None => "sqlite::memory:".to_owned(),
            };
            let faucet = start_faucet(&devnets[0], faucet_listener, &database).await?;
            let faucet_report = FaucetReport::new(faucet.local_addr(), devnets[0].network().config().prefix);
            let (stop_faucet, faucet_stopped) = tokio::sync::oneshot::channel::<()>();
            let faucet_task = tokio::spawn(faucet.serve(async move {
                let _ = faucet_stopped.await;
            }));
            let probe_port = if self.port == 0 { 0 } else { self.port.saturating_add(2) };
            let probe_listener = serve::bind(SocketAddr::new(self.host, probe_port), "--port").await?;
            let prober = start_prober(
                probe_listener,
                &gateway,
                &devnets,
                self.block_interval,
                self.data_dir.as_deref(),
            )
            .await?;
            let status_page = format!("http://{}/", prober.local_addr());
            // The prober's first round must not find the gateway still checking its nodes.
            gateway_ready(&gateway.status).await;
            let (stop_prober, prober_stopped) = tokio::sync::oneshot::channel::<()>();
            let prober_task = tokio::spawn(prober.serve(async move {
                let _ = prober_stopped.await;
            }));
            let report = UpReport {
                status_page,
                gateway,
                faucet: faucet_report,
                networks: devnets
                    .iter()
                    .map(|d| {
                        NetworkReport::new(d.network().config(), d.nodes(), self.admin)
                            .named(d.network().name())
                            .stored_in(self.data_dir.as_ref().map(|dir| dir.join(d.network().name())))
                    })
                    .collect(),
            };
            let stop = serve::stop_signal();
            self.output.print(&report)?;
            stop.await;
            tracing::info!(target: "bts_infra::up", "stopping");
            let _ = stop_gateway.send(());
            let _ = stop_faucet.send(());
            let _ = stop_prober.send(());
            if let Ok(Err(e)) = prober_task.await {
                tracing::error!(target: "bts_infra::up", error = %e, "prober failed");
            }
            if let Ok(Err(e)) = faucet_task.await {
                tracing::error!(target: "bts_infra::up", error = %e, "faucet failed");
            }
            if let Ok(Err(e)) = gateway_task.await {
                tracing::error!(target: "bts_infra::up", error = %e, "gateway failed");
            }
            for devnet in devnets {
                devnet.shutdown().await;
            }
            tracing::info!(target: "bts_infra::up", "stopped cleanly");
            Ok(())
        })
    }
}

/// The gateway in front of the devnets' nodes.
impl UpArgs {
    /// The chain stored in `dir` (created from `fresh` the first time), with its blocks.
    fn stored_chain(&self, dir: &std::path::Path, fresh: ChainConfig) -> anyhow::Result<(ChainConfig, Arc<Ledger>)> {
        let data_dir = DataDir::new(dir);
        let config = match data_dir.stored_genesis().map_err(store_error)? {
            Some(stored) if stored.block_interval != self.block_interval => {
                return Err(InputError::new(format!(
                    "{} holds a chain with a block every {}s, not --block-interval {}s",
                    dir.display(),
                    stored.block_interval,
                    self.block_interval
                ))
                .hint("give the stored interval, or another --data-dir")
                .into());
            }
            Some(stored) => stored,
            None => fresh,
        };
        let ledger = data_dir.open(&config).map_err(store_error)?;
        Ok((config, Arc::new(ledger)))
    }

    /// `[tls]` for the TLS listener at `addr`: certificate files, or ACME from a local server.
    fn tls_config(&self, addr: SocketAddr) -> anyhow::Result<bts_gateway::config::TlsConfig> {
        let mut certificates = bts_tls::TlsSettings {
            files: Vec::new(),
            acme: None,
            reload_interval: std::time::Duration::from_secs(10),
        };
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            certificates.files.push(bts_tls::FileCert {
                cert: cert.clone(),
                key: key.clone(),
            });
        } else if let (Some(directory), Some(domain)) = (&self.acme_directory, &self.tls_domain) {
            bts_tls::settings::check_domain(domain)
                .map_err(|e| crate::error::InputError::new(format!("--tls-domain: {e}")))?;
            let directory = bts_tls::settings::directory_url(directory)
                .map_err(|e| crate::error::InputError::new(format!("--acme-directory: {e}")))?;
            certificates.acme = Some(bts_tls::AcmeSettings {
                directory,
                directory_ca: self.acme_ca.clone(),
                contact: Vec::new(),
                domains: vec![domain.clone()],
                challenge: bts_tls::Challenge::TlsAlpn01,
                dns_hook: None,
                dns_wait: std::time::Duration::ZERO,
                state_dir: std::env::temp_dir().join(format!("bts-infra-up-acme-{}", std::process::id())),
                renew_before: std::time::Duration::from_secs(30 * 86_400),
                retry_initial: std::time::Duration::from_secs(5),
                retry_max: std::time::Duration::from_secs(300),
                eab: None,
            });
        } else {
            return Err(crate::error::InputError::new("--tls-port needs a certificate")
                .hint("give --tls-cert and --tls-key, or --acme-directory and --tls-domain")
                .into());
        }
        Ok(bts_gateway::config::TlsConfig {
            listen: addr,
            redirect_listen: None,
            public_port: None,
            hsts: None,
            hsts_include_subdomains: false,
            certificates,
        })
    }
}

/// The gateway in front of the devnets, with the faucet under `/onboarding`.
fn gateway_config(devnets: &[Devnet], faucet: SocketAddr) -> anyhow::Result<GatewayConfig> {
    let mut networks = Vec::new();
    for (devnet, paths) in devnets.iter().zip(GATEWAY_PATHS) {
        let urls: Vec<String> = devnet.nodes().iter().map(|n| n.ws_url()).collect();
        let name = devnet.network().name();
        let network = NetworkConfig::new(name, devnet.network().config().chain_id, &urls)?.with_paths(paths);
        networks.push(network);
    }
    let mut config = GatewayConfig::with_networks(networks)?;
    config.http_routes.push(bts_gateway::config::HttpRoute {
        path_prefix: "/onboarding".into(),
        hosts: Vec::new(),
        upstream: format!("http://{faucet}"),
        strip_prefix: false,
    });
    Ok(config)
}

/// The faucet on the mainnet-like devnet, registering with its registrar: no limits (a local
/// demo), an in-memory database, and its nodes directly (it fails over between them itself).
async fn start_faucet(devnet: &Devnet, listener: tokio::net::TcpListener, database: &str) -> anyhow::Result<Faucet> {
    let chain = devnet.network().config();
    let nodes = devnet.nodes().iter().map(|n| n.http_url()).collect();
    let key = chain
        .registrar_private_key
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the stored chain does not hold its registrar's private key"))?;
    let mut config = FaucetConfig::new(
        chain.registrar_name.clone(),
        key,
        chain.chain_id,
        chain.prefix,
        nodes,
        database,
    );
    config.limits = Limits::OFF;
    config.path_prefix = Some("/onboarding".to_owned());
    // The gateway forwards /onboarding here; its X-Forwarded-For names the client.
    config.proxy.trusted = vec![
        ipnet::IpNet::from(IpAddr::from([127, 0, 0, 1])),
        ipnet::IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ];
    Faucet::start(listener, config)
        .await
        .map_err(|e| anyhow::anyhow!("the faucet did not start: {e}"))
}

/// The prober, from outside as a wallet: both networks and the faucet through the gateway, every
/// 10 s, its history beside the faucet's with `--data-dir`.
async fn start_prober(
    listener: tokio::net::TcpListener,
    gateway: &GatewayReport,
    devnets: &[Devnet],
    block_interval: u32,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<bts_probe::Prober> {
    let database = match data_dir {
        Some(dir) => format!("sqlite://{}?mode=rwc", dir.join("probe.sqlite").display()),
        None => "sqlite::memory:".to_owned(),
    };
    let max_head_age = format!("{}s", 10 * block_interval.max(1));
    // Built as the file's raw layer, so a --data-dir path needs no TOML quoting.
    let mut raw = bts_probe::RawConfig {
        region: Some("local".into()),
        title: Some("bts-infra up: local stack status".into()),
        interval: Some("10s".into()),
        timeout: Some("5s".into()),
        database_url: Some(database),
        ..bts_probe::RawConfig::default()
    };
    for (devnet, (ws, http)) in devnets.iter().zip([
        (&gateway.mainnet_ws, Some(&gateway.mainnet_http)),
        (&gateway.testnet_ws, None),
    ]) {
        let name = devnet.network().name();
        raw.endpoint.push(bts_probe::config::RawEndpoint {
            name: Some(name.into()),
            network: Some(name.into()),
            ws: Some(ws.clone()),
            http: http.cloned(),
            chain_id: Some(devnet.network().config().chain_id.to_string()),
            max_head_age: Some(max_head_age.clone()),
            objective: None,
        });
    }
    raw.faucet.push(bts_probe::config::RawFaucet {
        name: Some("faucet".into()),
        network: Some(devnets[0].network().name().into()),
        url: Some(gateway.faucet.clone()),
        objective: None,
    });
    let config = bts_probe::ProbeConfig::build(raw).map_err(|e| anyhow::anyhow!("the prober's configuration: {e}"))?;
    bts_probe::Prober::start(listener, config)
        .await
        .map_err(|e| anyhow::anyhow!("the prober did not start: {e}"))
}

/// Waits (a few seconds at most) until the gateway's every network has a node to send work to.
async fn gateway_ready(status: &str) {
    let ctx = bts_probe::check::Context {
        tls: bts_probe::check::dial::Tls::new(None).expect("without a ca-file there is nothing to fail on"),
        timeout: std::time::Duration::from_secs(1),
        cert_warn: std::time::Duration::ZERO,
    };
    let url = format!("{status}.json");
    for _ in 0..100 {
        let ready = bts_probe::check::http::get_json(&ctx, &url).await.is_ok_and(|s| {
            let networks = s["networks"].as_array().cloned().unwrap_or_default();
            let eligible = |n: &serde_json::Value| n["eligible_backends"].as_u64().unwrap_or(0) > 0;
            !networks.is_empty() && networks.iter().all(eligible)
        });
        if ready {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tracing::warn!(target: "bts_infra::up", "the gateway has no healthy node yet: the status page may show a failed first round");
}

/// Where the faucet answers, with a command to try it.
#[derive(Serialize)]
struct FaucetReport {
    url: String,
    example: String,
}

impl FaucetReport {
    fn new(addr: SocketAddr, prefix: Prefix) -> FaucetReport {
        let url = format!("http://{addr}/onboarding");
        let example = format!(
            "echo 'a long passphrase' > pw && bts-infra account register --faucet {url} --name alice-1 --password-file pw --prefix {prefix}"
        );
        FaucetReport { url, example }
    }
}

/// Where the gateway answers.
#[derive(Serialize)]
struct GatewayReport {
    mainnet_ws: String,
    mainnet_http: String,
    testnet_ws: String,
    faucet: String,
    status: String,
    metrics: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mainnet_wss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    faucet_https: Option<String>,
}

impl GatewayReport {
    fn new(addr: SocketAddr, tls: Option<SocketAddr>, domain: Option<&str>) -> GatewayReport {
        let tls_host = tls.map(|t| format!("{}:{}", domain.map_or(t.ip().to_string(), str::to_owned), t.port()));
        GatewayReport {
            mainnet_ws: format!("ws://{addr}/"),
            mainnet_http: format!("http://{addr}/"),
            testnet_ws: format!("ws://{addr}/testnet"),
            faucet: format!("http://{addr}/onboarding"),
            status: format!("http://{addr}/status"),
            metrics: format!("http://{addr}/metrics"),
            mainnet_wss: tls_host.as_ref().map(|h| format!("wss://{h}/")),
            faucet_https: tls_host.map(|h| format!("https://{h}/onboarding")),
        }
    }
}

/// What `up` started.
#[derive(Serialize)]
struct UpReport {
    status_page: String,
    gateway: GatewayReport,
    faucet: FaucetReport,
    networks: Vec<NetworkReport>,
}

impl Report for UpReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "bts-infra up: local stack running; Ctrl-C stops it")?;
        writeln!(out)?;
        let g = &self.gateway;
        writeln!(out, "gateway (the endpoint for wallets)")?;
        writeln!(out, "  mainnet-like  {}  {}", g.mainnet_ws, g.mainnet_http)?;
        writeln!(out, "  testnet-like  {}", g.testnet_ws)?;
        writeln!(out, "  faucet        {}", g.faucet)?;
        if let (Some(wss), Some(https)) = (&g.mainnet_wss, &g.faucet_https) {
            writeln!(out, "  over TLS      {wss}  {https}")?;
        }
        writeln!(out, "  status        {}   metrics {}", g.status, g.metrics)?;
        writeln!(out)?;
        writeln!(
            out,
            "status page (the prober, checking the gateway as a wallet)  {}",
            self.status_page
        )?;
        writeln!(out)?;
        writeln!(out, "faucet (mainnet-like)  {}", self.faucet.url)?;
        writeln!(out, "  try: {}", self.faucet.example)?;
        for network in &self.networks {
            writeln!(out)?;
            network.write_text(out)?;
        }
        Ok(())
    }
}
