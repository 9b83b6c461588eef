//! One round of checks: every endpoint at once, the outcomes into the metrics and the history,
//! incidents opened and closed, the hour rolled up, the error budgets updated.

use crate::Shared;
use crate::check::{self, ErrorKind, Outcome};
use crate::config::{Endpoint, EndpointKind};
use crate::slo;
use crate::store::{Sample, StoreError};
use crate::tally::Tally;
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often a faucet's figures are read (its `/api/v1/stats` asks the chain).
const FAUCET_STATS_EVERY: Duration = Duration::from_secs(300);

/// An endpoint's run of failed rounds, and its open incident.
#[derive(Debug, Default)]
pub(crate) struct Track {
    failed_rounds: u32,
    first_failure: Option<(i64, String)>,
    kinds: BTreeSet<ErrorKind>,
    open: Option<i64>,
}

/// What rounds remember between them.
#[derive(Debug, Default)]
pub(crate) struct RoundState {
    pub(crate) tracks: HashMap<String, Track>,
    pub(crate) faucet_stats: HashMap<String, (std::time::Instant, Value)>,
}

impl RoundState {
    /// Picks up an incident left open by an earlier run of this region's prober.
    pub(crate) fn resume(&mut self, incident: &crate::store::Incident) {
        if incident.ended.is_some() {
            return;
        }
        let track = self.tracks.entry(incident.endpoint.clone()).or_default();
        track.open = Some(incident.id);
        track.failed_rounds = u32::MAX / 2;
        track.first_failure = Some((incident.started, incident.detail.clone()));
        track.kinds = incident.errors.iter().copied().collect();
    }
}

/// Unix seconds of `t`.
pub(crate) fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Shared {
    /// Runs one round at wall-clock `now`.
    pub(crate) async fn round(&self, now: SystemTime) -> Result<(), StoreError> {
        // Never before the folded hours (a clock stepped back): such checks would never be
        // counted.
        let folded = self.store.through(&self.config.region).await?.unwrap_or(i64::MIN);
        let at = unix(now).max(folded);
        let checks = self.config.endpoints.iter().map(|e| check::endpoint(&self.ctx, e, now));
        let results = join_all(checks).await;
        let mut samples = Vec::new();
        for (endpoint, outcomes) in self.config.endpoints.iter().zip(&results) {
            for o in outcomes {
                self.metrics.outcome(endpoint, o);
                samples.push(self.sample(at, endpoint, o));
            }
        }
        self.store.insert(&samples).await?;
        for (endpoint, outcomes) in self.config.endpoints.iter().zip(&results) {
            self.track(endpoint, outcomes, at).await?;
        }
        self.store.roll_up(&self.config.region, at).await?;
        self.budgets(at).await?;
        self.faucet_figures().await;
        self.metrics
            .round(now.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()));
        Ok(())
    }

    fn sample(&self, at: i64, endpoint: &Endpoint, o: &Outcome) -> Sample {
        Sample {
            at,
            region: self.config.region.clone(),
            endpoint: endpoint.name.clone(),
            network: endpoint.network.clone(),
            check: o.check,
            result: match &o.result {
                Ok(d) => Ok(d.as_secs_f64() * 1000.0),
                Err(f) => Err(f.kind),
            },
            detail: o.result.as_ref().err().map(|f| f.detail.clone()),
        }
    }

    /// Opens an incident after `incident-after` failed rounds in a row (dated from the first),
    /// closes it at the first good round.
    async fn track(&self, endpoint: &Endpoint, outcomes: &[Outcome], at: i64) -> Result<(), StoreError> {
        let failures: Vec<_> = outcomes
            .iter()
            .filter(|o| o.check.counts_for_availability())
            .filter_map(|o| o.result.as_ref().err())
            .collect();
        let mut state = self.rounds.lock().await;
        let track = state.tracks.entry(endpoint.name.clone()).or_default();
        if failures.is_empty() {
            if let Some(id) = track.open.take() {
                self.store.close_incident(id, at).await?;
                tracing::info!(target: "bts_probe", endpoint = %endpoint.name, "endpoint recovered");
            }
            *track = Track::default();
            return Ok(());
        }
        track.failed_rounds += 1;
        let first = track
            .first_failure
            .get_or_insert_with(|| (at, failures[0].detail.clone()))
            .clone();
        let before = track.kinds.len();
        track.kinds.extend(failures.iter().map(|f| f.kind));
        let kinds: Vec<ErrorKind> = track.kinds.iter().copied().collect();
        match track.open {
            None if track.failed_rounds >= self.config.incident_after => {
                let id = (self.store)
                    .open_incident(&self.config.region, &endpoint.name, first.0, &kinds, &first.1)
                    .await?;
                track.open = Some(id);
                tracing::warn!(target: "bts_probe", endpoint = %endpoint.name, errors = ?kinds, detail = %first.1, "endpoint failing");
            }
            Some(id) if kinds.len() != before => self.store.incident_errors(id, &kinds).await?,
            _ => {}
        }
        Ok(())
    }

    /// The error budget gauges, from the last 30 days of this region's history.
    async fn budgets(&self, at: i64) -> Result<(), StoreError> {
        let hourly = self
            .store
            .hourly(at - slo::WINDOW_SECS, Some(&self.config.region))
            .await?;
        for endpoint in &self.config.endpoints {
            let mut month = Tally::default();
            for ((_, region, name, check), tally) in &hourly {
                if *region == self.config.region && *name == endpoint.name && check.counts_for_availability() {
                    month.merge(tally);
                }
            }
            if let Some(burn) = slo::burn_rate(&month, endpoint.objective) {
                self.metrics.budget(endpoint, 1.0 - burn);
            }
        }
        Ok(())
    }

    /// Reads each faucet's `/api/v1/stats` when the last reading is older than
    /// [`FAUCET_STATS_EVERY`]; a failed reading keeps the last one.
    async fn faucet_figures(&self) {
        for endpoint in &self.config.endpoints {
            let EndpointKind::Faucet { url } = &endpoint.kind else {
                continue;
            };
            let fresh = (self.rounds.lock().await.faucet_stats.get(&endpoint.name))
                .is_some_and(|(t, _)| t.elapsed() < FAUCET_STATS_EVERY);
            if fresh {
                continue;
            }
            match check::http::get_json(&self.ctx, &format!("{url}/api/v1/stats")).await {
                Ok(stats) => {
                    let mut state = self.rounds.lock().await;
                    state
                        .faucet_stats
                        .insert(endpoint.name.clone(), (std::time::Instant::now(), stats));
                }
                Err(f) => {
                    tracing::debug!(target: "bts_probe", faucet = %endpoint.name, error = %f.detail, "no figures")
                }
            }
        }
    }
}
