//! The status page's content, built from the history: per endpoint and region the current state,
//! the objective's standing, 90 days of daily uptime, the last day's latency, incidents seen from
//! any region, and the faucets' figures. `/status.json` is this, serialized; [`html`] draws it.

pub mod html;
pub mod svg;

use crate::Shared;
use crate::check::{Check, ErrorKind};
use crate::config::{Endpoint, EndpointKind};
use crate::round::unix;
use crate::slo::{self, Slo};
use crate::store::{Incident, Sample, StoreError};
use crate::tally::{Figures, Tally};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

/// Days of uptime bars.
pub const DAYS: i64 = 90;
/// The latency plot's span and bin, seconds.
pub const PLOT_SECS: i64 = 86_400;
/// One point of the latency plot per this many seconds.
pub const PLOT_BIN_SECS: i64 = 600;

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The heading.
    pub title: String,
    /// When this was built (RFC 3339).
    pub generated_at: String,
    /// The same, Unix seconds.
    pub generated_unix: i64,
    /// The region of the prober serving the page.
    pub region: String,
    /// Every region with history.
    pub regions: Vec<String>,
    /// All endpoints together.
    pub state: State,
    /// Each endpoint.
    pub endpoints: Vec<EndpointStatus>,
    /// Incidents of the last 90 days and those still open, newest first, regions merged.
    pub incidents: Vec<IncidentView>,
    /// Faucets' figures, as their `/api/v1/stats` last said.
    pub faucets: Vec<FaucetView>,
}

/// At a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Every check passes.
    Up,
    /// Something fails or warns, but wallets are served.
    Degraded,
    /// Every availability check fails.
    Down,
    /// No recent check.
    Unknown,
}

impl State {
    /// The word shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Degraded => "degraded",
            State::Down => "down",
            State::Unknown => "unknown",
        }
    }
}

/// One endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStatus {
    /// Its name.
    pub name: String,
    /// Its network.
    pub network: String,
    /// `api` or `faucet`.
    pub kind: &'static str,
    /// The objective over 30 days.
    pub objective: f64,
    /// Across regions: the worst known.
    pub state: State,
    /// Seen from each region.
    pub regions: Vec<RegionStatus>,
}

/// One endpoint seen from one region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionStatus {
    /// The region.
    pub region: String,
    /// Now.
    pub state: State,
    /// The last result of each check.
    pub checks: Vec<CheckNow>,
    /// The objective's standing.
    pub slo: Slo,
    /// The last 24 hours.
    pub last_day: Figures,
    /// One entry per day, oldest first, today last.
    pub days: Vec<Day>,
    /// Latency of the main check (ws, else http, else faucet) over the last day.
    pub latency: Vec<Point>,
}

/// A check's last result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckNow {
    /// The check.
    pub check: Check,
    /// When (Unix seconds).
    pub at: i64,
    /// Whether it passed.
    pub ok: bool,
    /// Its latency when it passed (ms; not for `tls`).
    pub latency_ms: Option<f64>,
    /// Why not.
    pub error: Option<ErrorKind>,
    /// What happened.
    pub detail: Option<String>,
}

/// One day.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Availability and the main check's latency.
    #[serde(flatten)]
    pub figures: Figures,
    /// Failures by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
}

/// A point of the latency plot.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    /// The bin's start (Unix seconds).
    pub at: i64,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

/// An incident, the regions that saw it merged.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// The endpoint.
    pub endpoint: String,
    /// First failed round (Unix seconds).
    pub started: i64,
    /// First good round after (Unix seconds); `None` while it lasts.
    pub ended: Option<i64>,
    /// How long it lasted (or lasts so far), seconds.
    pub duration_secs: i64,
    /// The regions that saw it.
    pub regions: Vec<String>,
    /// Error kinds seen.
    pub errors: Vec<ErrorKind>,
    /// The first failure's words.
    pub detail: String,
}

/// A faucet's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FaucetView {
    /// The faucet.
    pub name: String,
    /// Its network.
    pub network: String,
    /// Its `/api/v1/stats`, when it answered.
    pub stats: Option<Value>,
}

impl Status {
    /// Builds the page from the history at `now`.
    pub(crate) async fn build(
        shared: &Shared,
        now: SystemTime,
        faucets: &HashMap<String, (std::time::Instant, Value)>,
    ) -> Result<Status, StoreError> {
        let at = unix(now);
        let today = at.div_euclid(86_400);
        let hourly = shared.store.hourly((today - DAYS + 1) * 86_400, None).await?;
        let recent = shared.store.samples(at - PLOT_SECS).await?;
        let stale_after = (3 * shared.config.interval.as_secs() as i64).max(300);
        let mut regions: BTreeSet<String> = hourly.keys().map(|k| k.1.clone()).collect();
        regions.insert(shared.config.region.clone());
        let mut endpoints = Vec::new();
        for endpoint in &shared.config.endpoints {
            let views: Vec<RegionStatus> = (regions.iter())
                .map(|region| region_status(endpoint, region, &hourly, &recent, at, stale_after))
                .filter(|r| r.region == shared.config.region || r.slo.availability.is_some())
                .collect();
            let known = views.iter().map(|r| r.state).filter(|s| *s != State::Unknown);
            endpoints.push(EndpointStatus {
                name: endpoint.name.clone(),
                network: endpoint.network.clone(),
                kind: match endpoint.kind {
                    EndpointKind::Api { .. } => "api",
                    EndpointKind::Faucet { .. } => "faucet",
                },
                objective: endpoint.objective,
                state: known.max().unwrap_or(State::Unknown),
                regions: views,
            });
        }
        let state = endpoints.iter().map(|e| e.state).max().unwrap_or(State::Unknown);
        let incidents = merge_incidents(shared.store.incidents((today - DAYS + 1) * 86_400).await?, at);
        let faucets = (shared.config.endpoints.iter())
            .filter(|e| matches!(e.kind, EndpointKind::Faucet { .. }))
            .map(|e| FaucetView {
                name: e.name.clone(),
                network: e.network.clone(),
                stats: faucets.get(&e.name).map(|(_, v)| v.clone()),
            })
            .collect();
        Ok(Status {
            title: shared.config.title.clone(),
            generated_at: humantime::format_rfc3339_seconds(now).to_string(),
            generated_unix: at,
            region: shared.config.region.clone(),
            regions: regions.into_iter().collect(),
            state,
            endpoints,
            incidents,
            faucets,
        })
    }
}

/// The check whose latency is plotted.
fn main_check(endpoint: &Endpoint) -> Check {
    match &endpoint.kind {
        EndpointKind::Api { ws: Some(_), .. } => Check::Ws,
        EndpointKind::Api { .. } => Check::Http,
        EndpointKind::Faucet { .. } => Check::Faucet,
    }
}

fn region_status(
    endpoint: &Endpoint,
    region: &str,
    hourly: &BTreeMap<crate::store::TallyKey, Tally>,
    recent: &[Sample],
    at: i64,
    stale_after: i64,
) -> RegionStatus {
    let main = main_check(endpoint);
    let today = at.div_euclid(86_400);
    let mut days: Vec<(Tally, Tally)> = vec![Default::default(); DAYS as usize];
    let mut month = Tally::default();
    for ((hour, r, name, check), tally) in hourly {
        if r != region || *name != endpoint.name {
            continue;
        }
        let Ok(index) = usize::try_from(hour.div_euclid(86_400) - (today - DAYS + 1)) else {
            continue;
        };
        let Some((all, latency)) = days.get_mut(index) else {
            continue;
        };
        if check.counts_for_availability() {
            all.merge(tally);
            // The window as the budget gauge has it: from the start of the hour 30 days back.
            if *hour >= (at - slo::WINDOW_SECS).div_euclid(3_600) * 3_600 {
                month.merge(tally);
            }
        }
        if *check == main {
            latency.merge(tally);
        }
    }
    let mine: Vec<&Sample> = (recent.iter())
        .filter(|s| s.region == region && s.endpoint == endpoint.name)
        .collect();
    let window = |secs: i64| {
        let mut t = Tally::default();
        for s in mine
            .iter()
            .filter(|s| s.at >= at - secs && s.check.counts_for_availability())
        {
            t.add(s.result);
        }
        t
    };
    let (hour, six, day) = (window(3_600), window(6 * 3_600), window(86_400));
    let mut last_day = day.figures();
    let mut main_day = Tally::default();
    mine.iter()
        .filter(|s| s.check == main)
        .for_each(|s| main_day.add(s.result));
    (last_day.p50_ms, last_day.p99_ms) = (main_day.quantile_ms(0.5), main_day.quantile_ms(0.99));
    let checks = current_checks(&mine, at, stale_after);
    RegionStatus {
        region: region.to_owned(),
        state: state_of(&checks),
        slo: Slo::new(endpoint.objective, &month, &six, &hour),
        last_day,
        days: (days.iter().enumerate())
            .map(|(i, (all, latency))| {
                let mut figures = all.figures();
                (figures.p50_ms, figures.p99_ms) = (latency.quantile_ms(0.5), latency.quantile_ms(0.99));
                Day {
                    day: day_name(today - DAYS + 1 + i as i64),
                    figures,
                    errors: all.errors.clone(),
                }
            })
            .collect(),
        latency: plot(&mine, main, at),
        checks,
    }
}

/// The checks of the latest round, if it is recent (a round's checks share its time).
fn current_checks(mine: &[&Sample], at: i64, stale_after: i64) -> Vec<CheckNow> {
    let Some(last) = mine.iter().map(|s| s.at).max().filter(|&t| t >= at - stale_after) else {
        return Vec::new();
    };
    let mut latest: BTreeMap<Check, &Sample> = BTreeMap::new();
    for s in mine.iter().filter(|s| s.at == last) {
        latest.insert(s.check, s);
    }
    (latest.into_values())
        .map(|s| CheckNow {
            check: s.check,
            at: s.at,
            ok: s.result.is_ok(),
            latency_ms: s.result.ok().filter(|_| s.check != Check::Tls),
            error: s.result.err(),
            detail: s.detail.clone(),
        })
        .collect()
}

fn state_of(checks: &[CheckNow]) -> State {
    let availability: Vec<&CheckNow> = checks.iter().filter(|c| c.check.counts_for_availability()).collect();
    if availability.is_empty() {
        State::Unknown
    } else if availability.iter().all(|c| !c.ok) {
        State::Down
    } else if checks.iter().any(|c| !c.ok) {
        State::Degraded
    } else {
        State::Up
    }
}

fn plot(mine: &[&Sample], main: Check, at: i64) -> Vec<Point> {
    let first = (at - PLOT_SECS).div_euclid(PLOT_BIN_SECS) + 1;
    let mut bins: BTreeMap<i64, Tally> = BTreeMap::new();
    for s in mine.iter().filter(|s| s.check == main && s.result.is_ok()) {
        let bin = s.at.div_euclid(PLOT_BIN_SECS);
        if bin >= first {
            bins.entry(bin).or_default().add(s.result);
        }
    }
    (bins.into_iter())
        .map(|(bin, t)| Point {
            at: bin * PLOT_BIN_SECS,
            p50_ms: t.quantile_ms(0.5),
            p99_ms: t.quantile_ms(0.99),
        })
        .collect()
}

/// Incidents of one endpoint that overlap in time are one, seen from several regions.
fn merge_incidents(mut incidents: Vec<Incident>, now: i64) -> Vec<IncidentView> {
    incidents.sort_by_key(|i| (i.endpoint.clone(), i.started));
    let mut out: Vec<IncidentView> = Vec::new();
    for i in incidents {
        let end = i.ended.unwrap_or(now);
        if let Some(last) = out.last_mut()
            && last.endpoint == i.endpoint
            && i.started <= last.ended.unwrap_or(now)
        {
            last.ended = match (last.ended, i.ended) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            last.duration_secs = last.ended.unwrap_or(now) - last.started;
            if !last.regions.contains(&i.region) {
                last.regions.push(i.region);
            }
            for e in i.errors {
                if !last.errors.contains(&e) {
                    last.errors.push(e);
                }
            }
            continue;
        }
        out.push(IncidentView {
            endpoint: i.endpoint,
            started: i.started,
            ended: i.ended,
            duration_secs: end - i.started,
            regions: vec![i.region],
            errors: i.errors,
            detail: i.detail,
        });
    }
    out.sort_by_key(|i| std::cmp::Reverse(i.started));
    out
}

/// `YYYY-MM-DD` of a Unix day number.
pub fn day_name(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
