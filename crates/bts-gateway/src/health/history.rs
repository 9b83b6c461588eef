//! What happened recently, for the status page: availability (the fraction of health checks that
//! passed, in five-minute buckets over a day) and latency quantiles (a small log-scale histogram
//! over the last five to ten minutes, updated without locks from the request path).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Width of one availability bucket.
const BUCKET: Duration = Duration::from_secs(300);
/// Buckets kept: one day.
const KEEP: usize = 288;

/// Passed and total health checks per five-minute bucket over the last day.
#[derive(Debug, Clone, Default)]
pub struct Availability {
    /// (bucket start in unix seconds, passed, total), oldest first.
    buckets: VecDeque<(u64, u32, u32)>,
}

impl Availability {
    /// Counts one check made at `wall`.
    pub fn record(&mut self, wall: SystemTime, passed: bool) {
        let start = bucket_start(wall);
        match self.buckets.back_mut() {
            Some((s, p, t)) if *s == start => {
                *p += u32::from(passed);
                *t += 1;
            }
            // A clock that stepped back lands in the newest bucket rather than reordering them.
            Some((s, p, t)) if *s > start => {
                *p += u32::from(passed);
                *t += 1;
            }
            _ => self.buckets.push_back((start, u32::from(passed), 1)),
        }
        while self.buckets.len() > KEEP {
            self.buckets.pop_front();
        }
    }

    /// The fraction of checks that passed in the buckets that overlap the last `window` before
    /// `wall`; `None` without checks.
    pub fn fraction(&self, wall: SystemTime, window: Duration) -> Option<f64> {
        let since = unix(wall).saturating_sub(window.as_secs());
        let (passed, total) = self
            .buckets
            .iter()
            .filter(|(start, _, _)| start + BUCKET.as_secs() > since)
            .fold((0u64, 0u64), |(p, t), (_, bp, bt)| {
                (p + u64::from(*bp), t + u64::from(*bt))
            });
        (total > 0).then(|| passed as f64 / total as f64)
    }

    /// One value per hour for the last `hours` hours, oldest first (`None`: no checks that hour).
    pub fn hourly(&self, wall: SystemTime, hours: usize) -> Vec<Option<f64>> {
        let now = unix(wall);
        (0..hours)
            .rev()
            .map(|h| {
                let end = now.saturating_sub(h as u64 * 3600);
                let begin = end.saturating_sub(3600);
                let (p, t) = self
                    .buckets
                    .iter()
                    .filter(|(s, _, _)| *s + BUCKET.as_secs() > begin && *s <= end)
                    .fold((0u64, 0u64), |(p, t), (_, bp, bt)| {
                        (p + u64::from(*bp), t + u64::from(*bt))
                    });
                (t > 0).then(|| p as f64 / t as f64)
            })
            .collect()
    }
}

fn unix(wall: SystemTime) -> u64 {
    wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn bucket_start(wall: SystemTime) -> u64 {
    let secs = unix(wall);
    secs - secs % BUCKET.as_secs()
}

/// Number of histogram buckets; bucket `i` holds latencies up to `FIRST × GROWTH^i`.
const BINS: usize = 64;
/// Upper bound of the first bucket, in microseconds.
const FIRST_US: f64 = 50.0;
/// Ratio between bucket bounds: quantiles are exact to within 25 %.
const GROWTH: f64 = 1.25;
/// How long a window collects before it becomes the previous one.
const ROTATE: Duration = Duration::from_secs(300);

/// Latency quantiles over the last five to ten minutes: two log-scale histograms, the current
/// and the previous window. Recording is two relaxed atomic adds, so the request path can call it.
#[derive(Debug)]
pub struct LatencyHistogram {
    windows: [[AtomicU32; BINS]; 2],
    current: AtomicUsize,
    /// Unix seconds at which the current window started.
    started: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            windows: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU32::new(0))),
            current: AtomicUsize::new(0),
            started: AtomicU64::new(0),
        }
    }
}

impl LatencyHistogram {
    /// Counts one latency.
    pub fn record(&self, latency: Duration) {
        let window = self.current.load(Ordering::Relaxed) & 1;
        self.windows[window][bin(latency)].fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a new window when the current one is older than five minutes (the older window is
    /// cleared first, so concurrent records are never lost from both). Call from one task.
    pub fn rotate(&self, wall: SystemTime) {
        let now = unix(wall);
        let started = self.started.load(Ordering::Relaxed);
        if started == 0 {
            self.started.store(now, Ordering::Relaxed);
        } else if now.saturating_sub(started) >= ROTATE.as_secs() {
            let next = (self.current.load(Ordering::Relaxed) + 1) & 1;
            for count in &self.windows[next] {
                count.store(0, Ordering::Relaxed);
            }
            self.current.store(next, Ordering::Relaxed);
            self.started.store(now, Ordering::Relaxed);
        }
    }

    /// Latencies counted in both windows.
    pub fn count(&self) -> u64 {
        self.windows
            .iter()
            .flatten()
            .map(|c| u64::from(c.load(Ordering::Relaxed)))
            .sum()
    }

    /// The `q` quantile (0.5 for the median), as the upper bound of its bucket; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = (0..BINS)
            .map(|i| {
                self.windows
                    .iter()
                    .map(|w| u64::from(w[i].load(Ordering::Relaxed)))
                    .sum()
            })
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bound(i));
            }
        }
        Some(bound(BINS - 1))
    }
}

/// The bucket of a latency.
fn bin(latency: Duration) -> usize {
    let us = latency.as_secs_f64() * 1e6;
    if us <= FIRST_US {
        return 0;
    }
    let i = ((us / FIRST_US).ln() / GROWTH.ln()).ceil();
    (i as usize).min(BINS - 1)
}

/// The upper bound of bucket `i`.
fn bound(i: usize) -> Duration {
    Duration::from_secs_f64(FIRST_US * GROWTH.powi(i as i32) / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn availability_over_hour_and_day() {
        let mut a = Availability::default();
        let day = 86_400 * 1000;
        // Ten hours ago: all failed; the last hour: three of four passed.
        for i in 0..4 {
            a.record(at(day - 36_000 + i), false);
        }
        for (i, ok) in [true, true, false, true].into_iter().enumerate() {
            a.record(at(day - 600 + i as u64 * 60), ok);
        }
        assert_eq!(a.fraction(at(day), Duration::from_secs(3600)), Some(0.75));
        assert_eq!(a.fraction(at(day), Duration::from_secs(86_400)), Some(3.0 / 8.0));
        assert_eq!(a.fraction(at(day + 86_400 * 2), Duration::from_secs(3600)), None);
        let hourly = a.hourly(at(day), 24);
        assert_eq!(hourly.len(), 24);
        assert_eq!(hourly[23], Some(0.75));
        assert_eq!(hourly[13], Some(0.0));
        assert_eq!(hourly[0], None);
    }

    #[test]
    fn availability_keeps_one_day() {
        let mut a = Availability::default();
        for i in 0..1000 {
            a.record(at(i * 300), true);
        }
        assert_eq!(a.buckets.len(), KEEP);
    }

    #[test]
    fn quantiles_within_a_bucket() {
        let h = LatencyHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.quantile(0.5).unwrap().as_secs_f64() * 1000.0;
        let p99 = h.quantile(0.99).unwrap().as_secs_f64() * 1000.0;
        assert!((50.0..=63.0).contains(&p50), "{p50}");
        assert!((99.0..=124.0).contains(&p99), "{p99}");
        assert_eq!(h.count(), 100);
        h.record(Duration::from_secs(3600));
        assert!(h.quantile(1.0).unwrap() >= Duration::from_secs(60));
    }

    #[test]
    fn windows_rotate_and_forget() {
        let h = LatencyHistogram::default();
        h.rotate(at(1000));
        h.record(Duration::from_millis(5));
        h.rotate(at(1000 + 300));
        h.record(Duration::from_millis(7));
        assert_eq!(h.count(), 2, "the previous window still counts");
        h.rotate(at(1000 + 600));
        assert_eq!(h.count(), 1, "the window before it is gone");
    }
}
