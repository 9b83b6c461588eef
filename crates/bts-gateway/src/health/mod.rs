//! Backend health from chain state, not TCP: a pure state machine ([`PoolHealth`]) fed with the
//! results of checks that the probe tasks ([`probe`]) make. Time is passed in (the wall clock at
//! which a check was sent), so the rules are unit-tested with constructed observations.
//!
//! # Rules (one pool = the backends of one network)
//!
//! A backend is **out** when any of these holds, checked in this order at each of its checks:
//! 1. **wrong chain**: it reported another chain id than its network's. It is never used until a
//!    later connection reports the right one and it passes `success-threshold` checks.
//! 2. **failing**: `fail-threshold` consecutive checks failed (error or timeout).
//! 3. **lagging**: its head is more than `max-lag-blocks` behind the pool's *reference* head:
//!    the second-highest head among backends that answered their last check (with one, its own),
//!    so that one runaway node cannot condemn the others, raised to a higher head that the wall
//!    clock vouches for: a backend whose head was at most two block intervals old at its check
//!    (it follows a live chain) and no further ahead of the second-highest than the time between
//!    the two heads' blocks allows. Without that, in a pool of two (the common setup per region)
//!    the second-highest is the lower head, and a node that falls behind while still advancing
//!    would never be behind.
//! 4. **stopped**: its head time, measured against the wall clock at its own check, is more than
//!    two block intervals older than the pool's corroborated freshness (the second-freshest among
//!    the answering backends and the wall clock itself), *and* another backend with a higher head
//!    advanced within the last two block intervals plus one health interval. Measuring each age
//!    at its own check makes the rule independent of when the checks happen; the wall clock as a
//!    voter makes it work with two backends; the "others advanced" condition keeps it quiet when
//!    the whole chain stops.
//!
//! A backend that is out comes **back** after `success-threshold` consecutive good checks (an
//! answer on the right chain that breaks none of the rules). A backend never seen healthy
//! (at start, or added by a reload) is admitted by its **first** good check, so a fresh gateway
//! serves within one interval; until then it is `unknown` and not used.
//!
//! A frozen node is out by its third check after the freeze at the latest (two block intervals
//! to become older than a healthy node can be, plus the sampling of one health interval); with
//! 1 s blocks and a 1.5 s interval, usually by its second.
//!
//! **Chain stalled**: when every answering backend's head is older than `stall-after` (default
//! the larger of 30 s and 10 block intervals) by the wall clock, the pool is flagged. The rules
//! above never empty a pool by lag (the backend with the corroborated head is never behind it),
//! so the pool keeps serving, and the status says the chain stalled, not the nodes.

mod history;
pub mod probe;
mod reason;

pub use history::{Availability, LatencyHistogram};
pub use reason::{FailKind, Reason};

use crate::config::HealthSettings;
use crate::pool::BackendId;
use bts_protocol::{ChainId, TimePointSec};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The chain state one check read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// `head_block_number`.
    pub number: u32,
    /// `time`: the head block's timestamp.
    pub time: TimePointSec,
    /// `last_irreversible_block_num`.
    pub last_irreversible: u32,
}

/// A check that answered on the right chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The node's head.
    pub head: Head,
    /// The chain's block interval in seconds, as the node reported it.
    pub block_interval: u32,
    /// How long `get_dynamic_global_properties` took.
    pub rtt: Duration,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult {
    /// An answer on the right chain.
    Answered(Observation),
    /// The node serves another chain.
    WrongChain(ChainId),
    /// No answer within the timeout.
    Timeout,
    /// Any other failure, as text (`cannot connect: ...`, a node error).
    Error(String),
}

/// A backend's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Never checked successfully: not used yet.
    Unknown,
    /// Used.
    Healthy,
    /// Not used, for the reason given.
    Out,
}

impl State {
    /// `unknown`, `healthy`, `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Healthy => "healthy",
            State::Out => "out",
        }
    }
}

/// The thresholds the rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The health interval (part of the "others advanced recently" window).
    pub interval: Duration,
    /// See [`HealthSettings::max_lag_blocks`].
    pub max_lag_blocks: u32,
    /// See [`HealthSettings::fail_threshold`].
    pub fail_threshold: u32,
    /// See [`HealthSettings::success_threshold`].
    pub success_threshold: u32,
    /// See [`HealthSettings::stall_after`].
    pub stall_after: Option<Duration>,
}

impl From<&HealthSettings> for Rules {
    fn from(s: &HealthSettings) -> Self {
        Rules {
            interval: s.interval,
            max_lag_blocks: s.max_lag_blocks,
            fail_threshold: s.fail_threshold.max(1),
            success_threshold: s.success_threshold.max(1),
            stall_after: s.stall_after,
        }
    }
}

/// One backend's health record.
#[derive(Debug, Clone)]
pub struct Tracker {
    state: State,
    reason: Reason,
    /// The last answer, and the wall clock at which that check was sent.
    last: Option<(Observation, SystemTime)>,
    /// Whether the last check answered on the right chain (only those vote).
    reporting: bool,
    /// When (check time) its head number last increased.
    advanced_at: Option<SystemTime>,
    failures: u32,
    good: u32,
    checks: u64,
    failed_checks: u64,
    behind: Option<u32>,
    availability: Availability,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            state: State::Unknown,
            reason: Reason::NotChecked,
            last: None,
            reporting: false,
            advanced_at: None,
            failures: 0,
            good: 0,
            checks: 0,
            failed_checks: 0,
            behind: None,
            availability: Availability::default(),
        }
    }
}

impl Tracker {
    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Why.
    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    /// The last answered check and when it was sent.
    pub fn last(&self) -> Option<&(Observation, SystemTime)> {
        self.last.as_ref()
    }

    /// Blocks behind the corroborated head at the last answered check.
    pub fn behind(&self) -> Option<u32> {
        self.behind
    }

    /// Checks made, and how many of them did not pass.
    pub fn checks(&self) -> (u64, u64) {
        (self.checks, self.failed_checks)
    }

    /// Passed checks over time.
    pub fn availability(&self) -> &Availability {
        &self.availability
    }
}

/// A stalled chain: every answering head is old.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// The freshest head.
    pub head: Head,
    /// Its age by the wall clock.
    pub age: Duration,
}

/// The health of one network's backends.
#[derive(Debug, Clone)]
pub struct PoolHealth {
    network: String,
    chain_id: ChainId,
    rules: Rules,
    trackers: BTreeMap<BackendId, Tracker>,
}

impl PoolHealth {
    /// An empty pool for `network`, which serves `chain_id`.
    pub fn new(network: &str, chain_id: ChainId, rules: Rules) -> PoolHealth {
        PoolHealth {
            network: network.to_owned(),
            chain_id,
            rules,
            trackers: BTreeMap::new(),
        }
    }

    /// Replaces the thresholds (a reload); records are kept.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Starts tracking a backend (state unknown). Tracking one already tracked changes nothing.
    pub fn add(&mut self, id: BackendId) {
        self.trackers.entry(id).or_default();
    }

    /// Stops tracking a backend.
    pub fn remove(&mut self, id: BackendId) {
        self.trackers.remove(&id);
    }

    /// A backend's record.
    pub fn tracker(&self, id: BackendId) -> Option<&Tracker> {
        self.trackers.get(&id)
    }

    /// Records one check of `id`, sent at `wall`, and applies the rules; returns its new state
    /// (`None` if `id` is not tracked).
    pub fn record(&mut self, id: BackendId, result: CheckResult, wall: SystemTime) -> Option<State> {
        let rules = self.rules;
        let verdict = match result {
            CheckResult::Answered(obs) => {
                let tracker = self.trackers.get_mut(&id)?;
                let advanced = tracker.last.is_none_or(|(o, _)| obs.head.number > o.head.number);
                if advanced {
                    tracker.advanced_at = Some(wall);
                }
                tracker.last = Some((obs, wall));
                tracker.reporting = true;
                tracker.failures = 0;
                Ok(self.verdict(id, &obs, wall))
            }
            CheckResult::WrongChain(reported) => Err(Reason::WrongChain {
                reported,
                expected: self.chain_id,
                network: self.network.clone(),
            }),
            CheckResult::Timeout => Err(self.failure(id, FailKind::Timeout, String::new())?),
            CheckResult::Error(text) => Err(self.failure(id, FailKind::Error, text)?),
        };
        let tracker = self.trackers.get_mut(&id)?;
        tracker.checks += 1;
        let passed = matches!(verdict, Ok(Ok(_)));
        tracker.failed_checks += u64::from(!passed);
        tracker.availability.record(wall, passed);
        match verdict {
            Ok(Ok(reason)) => tracker.pass(reason, rules),
            Ok(Err(reason)) => tracker.fall(reason),
            Err(reason) => tracker.fail(reason, rules),
        }
        Some(tracker.state)
    }

    /// Counts a failed check; the reason to report.
    fn failure(&mut self, id: BackendId, kind: FailKind, last: String) -> Option<Reason> {
        let threshold = self.rules.fail_threshold;
        let tracker = self.trackers.get_mut(&id)?;
        tracker.reporting = false;
        tracker.failures = tracker.failures.saturating_add(1);
        Some(Reason::Failing {
            count: tracker.failures,
            threshold,
            kind,
            last,
        })
    }

    /// Rules 3 and 4 for an answer of `id`: `Ok(in-sync reason)` or `Err(why it is out)`.
    fn verdict(&mut self, id: BackendId, obs: &Observation, wall: SystemTime) -> Result<Reason, Reason> {
        let head = obs.head.number;
        let reference = self.reference().map_or(head, |h| h.number);
        let behind = reference.saturating_sub(head);
        if let Some(t) = self.trackers.get_mut(&id) {
            t.behind = Some(behind);
        }
        if behind > self.rules.max_lag_blocks {
            return Err(Reason::Lagging { head, reference });
        }
        let interval = obs.block_interval.max(1);
        let own_age = age(wall, obs.head.time);
        let reference_age = second_lowest(self.voters().map(|(_, (o, w))| age(*w, o.head.time)));
        let behind_secs = own_age - reference_age;
        if behind_secs > f64::from(2 * interval) && self.others_advanced(id, head, wall, interval) {
            return Err(Reason::Stopped {
                head,
                behind_secs,
                limit_secs: 2 * interval,
            });
        }
        Ok(Reason::InSync { head, behind })
    }

    /// Whether a backend other than `id`, with a head above `head`, advanced within two block
    /// intervals plus one health interval before `wall`.
    fn others_advanced(&self, id: BackendId, head: u32, wall: SystemTime, interval: u32) -> bool {
        let window = Duration::from_secs(u64::from(2 * interval)) + self.rules.interval;
        let since = wall.checked_sub(window).unwrap_or(UNIX_EPOCH);
        self.trackers.iter().any(|(other, t)| {
            *other != id
                && t.reporting
                && t.last.is_some_and(|(o, _)| o.head.number > head)
                && t.advanced_at.is_some_and(|a| a >= since)
        })
    }

    /// The backends that answered their last check, with that answer.
    fn voters(&self) -> impl Iterator<Item = (BackendId, &(Observation, SystemTime))> {
        self.trackers
            .iter()
            .filter(|(_, t)| t.reporting)
            .filter_map(|(id, t)| t.last.as_ref().map(|l| (*id, l)))
    }

    /// The pool's head: the reference head (see the module's rule 3) with the corroborated last
    /// irreversible block (the second-highest reported).
    pub fn head(&self) -> Option<Head> {
        let mut head = self.reference()?;
        head.last_irreversible = corroborated(self.voters().map(|(_, (o, _))| o.head.last_irreversible))?;
        Some(head)
    }

    /// The reference head: the second-highest among the answering backends (the only one with
    /// one), or a higher head of a live backend that the clock vouches for (rule 3).
    fn reference(&self) -> Option<Head> {
        let voters: Vec<(Observation, SystemTime)> = self.voters().map(|(_, l)| *l).collect();
        let mut heads: Vec<Head> = voters.iter().map(|(o, _)| o.head).collect();
        heads.sort_by_key(|h| std::cmp::Reverse(h.number));
        let second = *heads.get(1).or(heads.first())?;
        let vouched = voters
            .iter()
            .filter(|(o, wall)| {
                let interval = o.block_interval.max(1);
                // Live: its head was young when it was read (a head from the future is not).
                let age = age(*wall, o.head.time);
                let live = (-f64::from(interval)..=f64::from(2 * interval)).contains(&age);
                // Plausible: no more blocks ahead than slots between the two heads' times, plus
                // one for the sampling.
                let slots = o.head.time.secs().saturating_sub(second.time.secs()) / interval;
                live && o.head.number > second.number && o.head.number - second.number <= slots + 1
            })
            .map(|(o, _)| o.head)
            .max_by_key(|h| h.number);
        Some(vouched.unwrap_or(second))
    }

    /// The block interval the backends report (seconds), if any answered.
    pub fn block_interval(&self) -> Option<u32> {
        self.voters().map(|(_, (o, _))| o.block_interval.max(1)).max()
    }

    /// Whether the chain stalled at `wall`: every answering backend's head is older than
    /// `stall-after` (default the larger of 30 s and 10 block intervals).
    pub fn stall(&self, wall: SystemTime) -> Option<Stall> {
        let freshest = self.voters().map(|(_, (o, _))| o.head).max_by_key(|h| h.time)?;
        let threshold = self.rules.stall_after.unwrap_or_else(|| {
            let interval = u64::from(self.block_interval().unwrap_or(3));
            Duration::from_secs(30.max(10 * interval))
        });
        let head_time = UNIX_EPOCH + Duration::from_secs(u64::from(freshest.time.secs()));
        let age = wall.duration_since(head_time).ok()?;
        (age > threshold).then_some(Stall { head: freshest, age })
    }
}

impl Tracker {
    /// A good check.
    fn pass(&mut self, reason: Reason, rules: Rules) {
        match self.state {
            State::Unknown | State::Healthy => {
                self.state = State::Healthy;
                self.good = 0;
                self.reason = reason;
            }
            State::Out => {
                self.good += 1;
                let was = match &self.reason {
                    Reason::Recovering { was, .. } => was.clone(),
                    other => Box::new(other.clone()),
                };
                if self.good >= rules.success_threshold {
                    self.state = State::Healthy;
                    self.good = 0;
                    self.reason = reason;
                } else {
                    self.reason = Reason::Recovering {
                        good: self.good,
                        needed: rules.success_threshold,
                        was,
                    };
                }
            }
        }
    }

    /// An answer that breaks a rule (lagging, stopped): out at once.
    fn fall(&mut self, reason: Reason) {
        self.state = State::Out;
        self.good = 0;
        self.reason = reason;
    }

    /// A failed check or a wrong chain: out at the threshold (a wrong chain at once).
    fn fail(&mut self, reason: Reason, rules: Rules) {
        self.good = 0;
        let out = match &reason {
            Reason::Failing { count, .. } => *count >= rules.fail_threshold,
            _ => true,
        };
        if out {
            self.state = State::Out;
        }
        // A backend still in use shows the failures that count towards taking it out.
        self.reason = reason;
    }
}

/// The second-highest value (the highest that another backend corroborates), or the only one.
fn corroborated(values: impl Iterator<Item = u32>) -> Option<u32> {
    let mut top: [Option<u32>; 2] = [None, None];
    for v in values {
        if top[0].is_none_or(|t| v > t) {
            top = [Some(v), top[0]];
        } else if top[1].is_none_or(|t| v > t) {
            top[1] = Some(v);
        }
    }
    top[1].or(top[0])
}

/// The second-lowest of the ages and the wall clock's own age (0): the pool's corroborated
/// freshness. With one backend, its own age (or 0 if it is ahead of the clock).
fn second_lowest(ages: impl Iterator<Item = f64>) -> f64 {
    let mut low = [0.0_f64, f64::INFINITY];
    for a in ages {
        if a < low[0] {
            low = [a, low[0]];
        } else if a < low[1] {
            low[1] = a;
        }
    }
    low[1]
}

/// How old a head time is at `wall`, in seconds (negative if the head is ahead of the clock).
fn age(wall: SystemTime, head_time: TimePointSec) -> f64 {
    let now = wall.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    now - f64::from(head_time.secs())
}

#[cfg(test)]
mod tests;
