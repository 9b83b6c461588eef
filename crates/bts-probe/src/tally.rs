//! What the history keeps of a set of checks: how many ran, how many succeeded, the successful
//! ones' latencies in fixed buckets, and the failures by kind.
//!
//! Raw samples and hourly rows are both read through a [`Tally`], and an hour's tally is the sum
//! of its samples' tallies, so downsampling loses nothing the page shows: the same quantiles come
//! out of an hour before and after its samples are folded into one row.

use crate::check::ErrorKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// Upper bounds of the latency buckets, in milliseconds; a last bucket takes the rest.
pub const BOUNDS_MS: [f64; 22] = [
    1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 750.0, 1000.0,
    1500.0, 2500.0, 5000.0, 10000.0,
];

/// Buckets, the overflow one included.
pub const BUCKETS: usize = BOUNDS_MS.len() + 1;

/// A set of checks summed up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Checks run.
    pub total: u64,
    /// Checks that succeeded.
    pub ok: u64,
    /// Successful checks per latency bucket.
    pub buckets: [u64; BUCKETS],
    /// Failed checks by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
}

/// A tally's figures for the page and the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Checks run.
    pub total: u64,
    /// Share that succeeded.
    pub availability: Option<f64>,
    /// Median latency of the successful checks, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

impl Tally {
    /// Adds one check: its latency when it succeeded, its kind when it failed.
    pub fn add(&mut self, result: Result<f64, ErrorKind>) {
        self.total += 1;
        match result {
            Ok(ms) => {
                self.ok += 1;
                self.buckets[bucket_of(ms)] += 1;
            }
            Err(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: &Tally) {
        self.total += other.total;
        self.ok += other.ok;
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
    }

    /// Checks that failed.
    pub fn bad(&self) -> u64 {
        self.total - self.ok
    }

    /// The share that succeeded; `None` without checks.
    pub fn availability(&self) -> Option<f64> {
        (self.total > 0).then(|| self.ok as f64 / self.total as f64)
    }

    /// The `q` quantile (0..=1) of the successful checks' latency, in ms, interpolated within
    /// its bucket; `None` without successes. The overflow bucket reports its lower bound.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.ok == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.ok as f64;
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { BOUNDS_MS[i - 1] };
                let Some(&upper) = BOUNDS_MS.get(i) else {
                    return Some(lower);
                };
                let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
                return Some(lower + (upper - lower) * within);
            }
            below += n;
        }
        Some(BOUNDS_MS[BOUNDS_MS.len() - 1])
    }

    /// Availability and the two quantiles.
    pub fn figures(&self) -> Figures {
        Figures {
            total: self.total,
            availability: self.availability(),
            p50_ms: self.quantile_ms(0.5),
            p99_ms: self.quantile_ms(0.99),
        }
    }

    /// The buckets as stored: counts separated by spaces, trailing zeros left out.
    pub fn buckets_text(&self) -> String {
        let used = self.buckets.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
        let parts: Vec<String> = self.buckets[..used].iter().map(u64::to_string).collect();
        parts.join(" ")
    }

    /// The errors as stored: `kind=n` separated by spaces.
    pub fn errors_text(&self) -> String {
        let parts: Vec<String> = self.errors.iter().map(|(k, n)| format!("{k}={n}")).collect();
        parts.join(" ")
    }

    /// A stored tally; unknown error kinds (a newer version's) are dropped, `None` if the text
    /// is damaged.
    pub fn from_text(total: u64, ok: u64, buckets: &str, errors: &str) -> Option<Tally> {
        let mut tally = Tally {
            total,
            ok,
            ..Tally::default()
        };
        for (i, n) in buckets.split_whitespace().enumerate() {
            *tally.buckets.get_mut(i)? = n.parse().ok()?;
        }
        for part in errors.split_whitespace() {
            let (kind, n) = part.split_once('=')?;
            if let Some(kind) = ErrorKind::parse(kind) {
                tally.errors.insert(kind, n.parse().ok()?);
            }
        }
        Some(tally)
    }
}

fn bucket_of(ms: f64) -> usize {
    BOUNDS_MS.iter().position(|&b| ms <= b).unwrap_or(BOUNDS_MS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let mut t = Tally::default();
        for ms in [12.0, 14.0, 18.0, 40.0] {
            t.add(Ok(ms));
        }
        t.add(Err(ErrorKind::Timeout));
        assert_eq!(t.availability(), Some(0.8));
        // Two of four in (10, 15]: the median is that bucket's upper bound.
        assert_eq!(t.quantile_ms(0.5), Some(15.0));
        // The 99th percentile is 0.96 of the way through the (30, 50] bucket.
        let p99 = t.quantile_ms(0.99).expect("successes");
        assert!((p99 - 49.2).abs() < 1e-9, "{p99}");
        let mut slow = Tally::default();
        slow.add(Ok(60_000.0));
        assert_eq!(slow.quantile_ms(0.99), Some(10_000.0));
        assert_eq!(Tally::default().quantile_ms(0.5), None);
    }

    #[test]
    fn merging_is_adding_and_the_text_form_round_trips() {
        let mut a = Tally::default();
        a.add(Ok(3.0));
        a.add(Err(ErrorKind::WrongChain));
        let mut b = Tally::default();
        b.add(Ok(250.0));
        b.add(Err(ErrorKind::WrongChain));
        b.add(Err(ErrorKind::StaleHead));
        let mut sum = a.clone();
        sum.merge(&b);
        let mut direct = Tally::default();
        for r in [
            Ok(3.0),
            Err(ErrorKind::WrongChain),
            Ok(250.0),
            Err(ErrorKind::WrongChain),
            Err(ErrorKind::StaleHead),
        ] {
            direct.add(r);
        }
        assert_eq!(sum, direct);
        assert_eq!(sum.errors_text(), "wrong_chain=2 stale_head=1");
        let back = Tally::from_text(sum.total, sum.ok, &sum.buckets_text(), &sum.errors_text());
        assert_eq!(back, Some(sum));
        assert_eq!(Tally::from_text(1, 1, "x", ""), None);
    }
}
