//! The health probe of one backend: a task that keeps one WebSocket to the node (bts-rpc's
//! `WsClient`, which reconnects by itself) and checks it every interval.
//!
//! A check: on every new connection (and every [`RECHECK`] checks), `get_chain_id` (a mismatch is
//! a wrong chain) and `get_global_properties` (the block interval); then
//! `get_dynamic_global_properties` for the head block number and time and the last irreversible
//! block. The wall clock is read when the check starts, which is what the health rules compare
//! head times against. A failed real request wakes the probe for an early check (at most one per
//! third of an interval), so a dead node is noticed before the next tick.

use super::{CheckResult, Head, Observation};
use crate::config::HealthSettings;
use crate::pool::{Backend, Pool};
use bts_protocol::ChainId;
use bts_rpc::{Backoff, RpcError, WsClient, WsOptions};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

/// The chain id is verified again after this many checks on the same connection.
pub const RECHECK: u32 = 40;

/// Checks `backend` every `settings.interval` and records each result in `pool`, until `stop`
/// turns true (or its sender is dropped). Closes its connection before returning.
pub(crate) async fn run(
    backend: Arc<Backend>,
    pool: Arc<Pool>,
    settings: HealthSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut probe = Probe::new(backend.ws_url(), pool.chain_id(), settings);
    let mut ticker = tokio::time::interval(settings.interval);
    // After a slow check, keep a whole interval between checks rather than catching up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    let mut last_check: Option<Instant> = None;
    loop {
        tokio::select! {
            () = &mut stopped => break,
            _ = ticker.tick() => {}
            () = backend.suspect.notified() => {
                if last_check.is_some_and(|t| t.elapsed() < settings.interval / 3) {
                    continue;
                }
                ticker.reset();
            }
        }
        last_check = Some(Instant::now());
        let wall = SystemTime::now();
        let result = tokio::select! {
            () = &mut stopped => break,
            result = probe.check() => result,
        };
        pool.record(&backend, result, wall);
    }
    probe.close().await;
}

/// One backend's connection and what has been verified on it.
struct Probe {
    url: String,
    expected: ChainId,
    options: WsOptions,
    client: Option<WsClient>,
    /// The connection number (`ConnectionStatus::connections`) whose chain id was verified.
    verified: Option<u64>,
    checks_since_verified: u32,
    block_interval: u32,
}

impl Probe {
    fn new(url: &str, expected: ChainId, settings: HealthSettings) -> Probe {
        Probe {
            url: url.to_owned(),
            expected,
            options: WsOptions {
                call_timeout: settings.timeout,
                connect_timeout: settings.timeout,
                backoff: Backoff {
                    initial: Duration::from_millis(100),
                    max: settings.interval,
                },
                ping_interval: Some(Duration::from_secs(10)),
                notice_buffer: 16,
            },
            client: None,
            verified: None,
            checks_since_verified: 0,
            block_interval: 3,
        }
    }

    async fn check(&mut self) -> CheckResult {
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => return CheckResult::Error(e.to_string()),
        };
        let connection = client.status().borrow().connections;
        if (self.verified != Some(connection) || self.checks_since_verified >= RECHECK)
            && let Err(result) = self.verify(&client, connection).await
        {
            return result;
        }
        self.checks_since_verified += 1;
        let start = Instant::now();
        let dgp = match client.api().get_dynamic_global_properties().await {
            Ok(d) => d,
            Err(e) => return failure(&client, e),
        };
        let rtt = start.elapsed();
        let now_connection = client.status().borrow().connections;
        if now_connection != connection {
            // The answer may have come on a new connection: verify it before trusting the answer.
            if let Err(result) = self.verify(&client, now_connection).await {
                return result;
            }
        }
        CheckResult::Answered(Observation {
            head: Head {
                number: dgp.head_block_number,
                time: dgp.time,
                last_irreversible: dgp.last_irreversible_block_num,
            },
            block_interval: self.block_interval,
            rtt,
        })
    }

    /// Checks the chain id on connection number `connection` and learns the block interval.
    async fn verify(&mut self, client: &WsClient, connection: u64) -> Result<(), CheckResult> {
        self.verified = None;
        let chain_id = client.api().get_chain_id().await.map_err(|e| failure(client, e))?;
        if chain_id != self.expected {
            return Err(CheckResult::WrongChain(chain_id));
        }
        let properties = client
            .api()
            .get_global_properties()
            .await
            .map_err(|e| failure(client, e))?;
        self.block_interval = u32::from(properties.parameters.block_interval).max(1);
        self.verified = Some(connection);
        self.checks_since_verified = 0;
        Ok(())
    }

    /// The open client, connecting first if there is none.
    async fn client(&mut self) -> Result<WsClient, RpcError> {
        if let Some(c) = &self.client
            && !c.status().borrow().closed
        {
            return Ok(c.clone());
        }
        let client = WsClient::connect(&self.url, self.options.clone()).await?;
        self.client = Some(client.clone());
        self.verified = None;
        Ok(client)
    }

    async fn close(self) {
        if let Some(c) = self.client {
            c.close().await;
        }
    }
}

/// A failed call as a check result: a timeout on a live connection is a timeout (a hung node); on
/// a lost one, the connection is the error.
fn failure(client: &WsClient, error: RpcError) -> CheckResult {
    match error {
        RpcError::Timeout if client.status().borrow().connected => CheckResult::Timeout,
        RpcError::Timeout => CheckResult::Error("connection lost; reconnecting".into()),
        other => CheckResult::Error(other.to_string()),
    }
}
