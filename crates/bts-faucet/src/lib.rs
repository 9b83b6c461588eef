//! bts-faucet: the BitShares onboarding faucet. New users of bitshares-ui and other wallets get an
//! account registered and paid for by a lifetime-member registrar, with the referral share going
//! to their referrer (70% by default, per the 2017 infrastructure worker proposal).
//!
//! * [`config`]: the configuration, two layers (raw TOML/env/flags, then [`FaucetConfig`]).
//! * `http`: the API every wallet expects (`POST [/{prefix}]/api/v1/accounts`, CORS, HTTP 201 on
//!   success, HTTP 200 `{"error":{"base":[...]}}` on refusal), statistics, metrics.
//! * `register`: checks, limits, referrer, fee, signing, broadcast with fail-over, and the
//!   database row that makes a registration neither lost nor done twice ([`store`]).
//! * `reconcile`: settles rows a crash or an outage left unsettled, at start and periodically.
//! * [`client`]: a client that posts as bitshares-ui does.
//!
//! ```no_run
//! # async fn demo(config: bts_faucet::FaucetConfig) -> Result<(), bts_faucet::FaucetError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(bts_faucet::FaucetError::Serve)?;
//! let faucet = bts_faucet::Faucet::start(listener, config).await?; // start-up checks done here
//! println!("faucet on http://{}/api/v1/accounts", faucet.local_addr());
//! faucet.serve(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

pub mod client;
pub mod client_ip;
pub mod config;
mod error;
mod http;
mod locks;
mod metrics;
mod nodes;
mod reconcile;
mod register;
pub mod registrar;
mod startup;
mod state;
mod stats;
pub mod store;

pub use client::{FaucetClient, FaucetReply, NewAccount};
pub use config::{FaucetConfig, Limits, UnknownReferrer};
pub use error::FaucetError;
pub use register::request::TEST_PREFIX;
pub use register::{AccountRequest, Rejection};
pub use startup::StartupError;

use bts_protocol::AccountId;
use state::Shared;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A faucet that passed its start-up checks and is ready to serve.
#[derive(Debug)]
pub struct Faucet {
    shared: Arc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Faucet {
    /// Opens the database, checks the nodes (chain id, prefix) and the registrar (exists, is a
    /// lifetime member, the key is in its active authority), and settles the registrations a
    /// previous run left unsettled. Refuses to start, with a message saying why, otherwise.
    pub async fn start(listener: TcpListener, config: FaucetConfig) -> Result<Faucet, FaucetError> {
        config.check()?;
        let addr = listener.local_addr().map_err(FaucetError::Serve)?;
        let metrics = metrics::Metrics::new();
        let t = config.timeouts;
        let nodes = nodes::Nodes::new(&config.nodes, t.node, t.broadcast, metrics.clone()).map_err(|source| {
            FaucetError::NodeUrl {
                url: config.nodes.join(", "),
                source,
            }
        })?;
        // The chain first: a faucet pointed at the wrong chain should not even create its database.
        let registrar = startup::check(&nodes, &config).await?;
        let url = store::redact_url(&config.database_url);
        let store = store::Store::open(&config.database_url)
            .await
            .map_err(|source| FaucetError::Database {
                url: url.clone(),
                source,
            })?;
        let shared = Arc::new(Shared::new(config, nodes, store, registrar, metrics));
        let unsettled = shared.reconcile(Duration::ZERO).await;
        // A registrar about to run dry is said at start, not discovered when registrations fail.
        let figures = shared.chain_figures().await;
        if let (Some(balance), Some(fee)) = (figures.balance(), figures.registration_fee())
            && let Some(warning) = shared.low_balance_warning(&registrar::Funding::new(balance, fee))
        {
            tracing::warn!(target: "bts_faucet::startup", "{warning}");
        }
        tracing::info!(target: "bts_faucet", %addr, database = %url, unsettled, "faucet ready");
        Ok(Faucet { shared, listener, addr })
    }

    /// The address it serves on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registrar account found on chain: its id and name.
    pub fn registrar(&self) -> (AccountId, &str) {
        (self.shared.registrar.id, &self.shared.registrar.name)
    }

    /// Serves until `shutdown` completes, then stops accepting, lets every request in flight
    /// finish its bookkeeping, stops the reconciler and closes the database.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), FaucetError> {
        let shared = self.shared;
        let (stop, stopped) = watch::channel(false);
        let interval = shared.config.timeouts.reconcile_interval;
        let reconciler = tokio::spawn(reconcile::run_periodically(shared.clone(), interval, stopped));
        let service = http::service(shared.clone());
        let make = axum::ServiceExt::into_make_service_with_connect_info::<SocketAddr>(service);
        let served = axum::serve(self.listener, make).with_graceful_shutdown(shutdown).await;
        // Registrations run in their own tasks; wait until the last one has written its row.
        drop(shared.in_flight.write().await);
        let _ = stop.send(true);
        let _ = reconciler.await;
        shared.store.close().await;
        tracing::info!(target: "bts_faucet", addr = %self.addr, "faucet stopped");
        served.map_err(FaucetError::Serve)
    }
}

/// Starts a faucet on `listener` (bind it yourself; port 0 in tests) and serves until `shutdown`
/// completes: [`Faucet::start`] then [`Faucet::serve`].
pub async fn run(
    listener: TcpListener,
    config: FaucetConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), FaucetError> {
    Faucet::start(listener, config).await?.serve(shutdown).await
}
