//! The outside-in prober (`bts-infra probe`): from where it runs (one per region), it checks the
//! public endpoints as a wallet meets them, keeps their history, and serves a status page.
//!
//! Every `interval` a round runs (`round.rs`): each endpoint's checks ([`check`]) over fresh
//! connections, the outcomes into Prometheus metrics ([`metrics`]) and the history ([`store`]:
//! every check for two days, hourly tallies for 400 days), incidents opened and closed, the error
//! budgets ([`slo`]) updated. The listener serves the status page as HTML without JavaScript and
//! as JSON ([`page`]), `/metrics` and `/health`.

pub mod check;
pub mod config;
pub mod metrics;
pub mod page;
mod round;
pub mod slo;
pub mod store;
pub mod tally;

pub use config::{ProbeConfig, RawConfig};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tokio::time::MissedTickBehavior;

/// Why the prober could not start or stopped.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// The history database.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The TLS client (`ca-file`).
    #[error("TLS: {0}")]
    Tls(String),
    /// The listener.
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// What the rounds and the page share.
pub(crate) struct Shared {
    config: ProbeConfig,
    store: store::Store,
    metrics: metrics::Metrics,
    ctx: check::Context,
    rounds: Mutex<round::RoundState>,
    /// The page's last rendering, reused until the next round.
    page: Mutex<Option<(u64, Arc<page::Status>)>>,
    /// Rounds finished.
    round_count: watch::Sender<u64>,
}

/// A prober, bound and with its history open, not yet probing.
pub struct Prober {
    shared: Arc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Prober {
    /// Opens the history and prepares the checks; serves on `listener` once [`Prober::serve`]
    /// runs. Incidents this region left open (a restart during an outage) are closed when their
    /// endpoint's next round succeeds.
    pub async fn start(listener: TcpListener, config: ProbeConfig) -> Result<Prober, ProbeError> {
        let addr = listener.local_addr().map_err(ProbeError::Serve)?;
        let tls = check::dial::Tls::new(config.ca_file.as_deref()).map_err(ProbeError::Tls)?;
        let store = store::Store::open(&config.database_url).await?;
        let metrics = metrics::Metrics::new(&config.region);
        for endpoint in &config.endpoints {
            metrics.endpoint(endpoint);
        }
        let mut state = round::RoundState::default();
        let now = round::unix(SystemTime::now());
        for incident in store.incidents(i64::MAX).await? {
            if incident.region != config.region || incident.ended.is_some() {
                continue;
            }
            if config.endpoints.iter().any(|e| e.name == incident.endpoint) {
                state.resume(&incident);
            } else {
                // Its endpoint is no longer probed: nothing would ever close it.
                store.close_incident(incident.id, now).await?;
            }
        }
        let shared = Shared {
            ctx: check::Context {
                tls,
                timeout: config.timeout,
                cert_warn: config.cert_warn,
            },
            config,
            store,
            metrics,
            rounds: Mutex::new(state),
            page: Mutex::new(None),
            round_count: watch::channel(0).0,
        };
        Ok(Prober {
            shared: Arc::new(shared),
            listener,
            addr,
        })
    }

    /// Where the status page answers.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A receiver of the number of rounds finished (tests wait on it).
    pub fn rounds(&self) -> watch::Receiver<u64> {
        self.shared.round_count.subscribe()
    }

    /// Probes every `interval` and serves the page until `shutdown` completes; a round in
    /// progress is finished (its checks stored) before returning.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ProbeError> {
        let shared = self.shared;
        let (stop, mut stopped) = watch::channel(false);
        let rounds = tokio::spawn({
            let shared = shared.clone();
            async move {
                let mut ticker = tokio::time::interval(shared.config.interval);
                ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = stopped.wait_for(|s| *s) => break,
                        _ = ticker.tick() => {}
                    }
                    if let Err(e) = shared.round(SystemTime::now()).await {
                        tracing::error!(target: "bts_probe", error = %e, "the round's results could not be stored");
                    }
                    shared.round_count.send_modify(|n| *n += 1);
                }
            }
        });
        let app = Router::new()
            .route("/", get(html))
            .route("/status.json", get(json))
            .route("/metrics", get(metrics_text))
            .route("/health", get(|| async { "ok" }))
            .with_state(shared.clone());
        let served = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        let _ = stop.send(true);
        let _ = rounds.await;
        shared.store.close().await;
        tracing::info!(target: "bts_probe", addr = %self.addr, "prober stopped");
        served.map_err(ProbeError::Serve)
    }
}

impl Shared {
    /// The status, built at most once per round.
    async fn status(&self) -> Result<Arc<page::Status>, store::StoreError> {
        let round = *self.round_count.borrow();
        let mut cached = self.page.lock().await;
        if let Some((at, status)) = cached.as_ref()
            && *at == round
        {
            return Ok(status.clone());
        }
        let faucets = self.rounds.lock().await.faucet_stats.clone();
        let status = Arc::new(page::Status::build(self, SystemTime::now(), &faucets).await?);
        *cached = Some((round, status.clone()));
        Ok(status)
    }
}

async fn html(State(shared): State<Arc<Shared>>) -> Response {
    match shared.status().await {
        Ok(status) => Html(page::html::render(&status)).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn json(State(shared): State<Arc<Shared>>) -> Response {
    match shared.status().await {
        Ok(status) => axum::Json(status.as_ref().clone()).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}

fn unavailable(e: store::StoreError) -> Response {
    tracing::error!(target: "bts_probe", error = %e, "the status page could not read the history");
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "the status page cannot read its history right now; try again in a minute\n",
    )
        .into_response()
}
