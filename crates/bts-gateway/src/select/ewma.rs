//! Peak-EWMA latency (Finagle's and Linkerd's load metric): an exponentially weighted moving
//! average that jumps up at once to a slower observation and decays back down over `DECAY`, so a
//! backend that just became slow stops being picked at once, and one that recovered is tried again.
//!
//! The estimator is pure math on `(cost, elapsed)`; [`AtomicPeakEwma`] keeps it in two atomics so
//! the request path updates it without locks. Time is passed in (`tokio::time::Instant`), so
//! tests can pause it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The time constant of the decay: an observation's weight falls to 1/e after this long.
pub const DECAY: Duration = Duration::from_secs(10);

/// The new cost after observing `rtt` (both in nanoseconds) `elapsed` after the last update: the
/// observation itself if it is higher (the peak), else the decayed average moved towards it.
pub fn update(cost: f64, elapsed: Duration, rtt: f64) -> f64 {
    if rtt > cost {
        return rtt;
    }
    let w = weight(elapsed);
    cost * w + rtt * (1.0 - w)
}

/// The cost `elapsed` after the last update, with no new observation: it decays towards zero, so
/// an idle backend is eventually tried again.
pub fn decayed(cost: f64, elapsed: Duration) -> f64 {
    cost * weight(elapsed)
}

fn weight(elapsed: Duration) -> f64 {
    (-elapsed.as_secs_f64() / DECAY.as_secs_f64()).exp()
}

/// A peak-EWMA estimate shared between threads.
#[derive(Debug)]
pub struct AtomicPeakEwma {
    /// The cost in nanoseconds, as `f64` bits.
    cost: AtomicU64,
    /// When it was last updated, in nanoseconds since `epoch`.
    stamp: AtomicU64,
    epoch: Instant,
}

impl AtomicPeakEwma {
    /// An estimate with no observation yet (cost zero), its clock starting at `epoch`.
    pub fn new(epoch: Instant) -> AtomicPeakEwma {
        AtomicPeakEwma {
            cost: AtomicU64::new(0f64.to_bits()),
            stamp: AtomicU64::new(0),
            epoch,
        }
    }

    /// Adds an observation made at `now`. Concurrent updates retry, so none is lost.
    pub fn observe(&self, rtt: Duration, now: Instant) {
        let now_ns = self.nanos(now);
        let rtt = rtt.as_nanos() as f64;
        let mut current = self.cost.load(Ordering::Relaxed);
        loop {
            let elapsed = Duration::from_nanos(now_ns.saturating_sub(self.stamp.load(Ordering::Relaxed)));
            let next = update(f64::from_bits(current), elapsed, rtt).to_bits();
            match self
                .cost
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.stamp.fetch_max(now_ns, Ordering::Relaxed);
    }

    /// The estimate at `now`, in nanoseconds.
    pub fn estimate(&self, now: Instant) -> f64 {
        let cost = f64::from_bits(self.cost.load(Ordering::Relaxed));
        let elapsed = self.nanos(now).saturating_sub(self.stamp.load(Ordering::Relaxed));
        decayed(cost, Duration::from_nanos(elapsed))
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: f64 = 1e6;

    #[test]
    fn peaks_at_once_and_decays_slowly() {
        assert_eq!(
            update(10.0 * MS, Duration::ZERO, 50.0 * MS),
            50.0 * MS,
            "a slower answer is taken at once"
        );
        let after = update(50.0 * MS, DECAY, 10.0 * MS);
        let expected = 50.0 * MS / std::f64::consts::E + 10.0 * MS * (1.0 - 1.0 / std::f64::consts::E);
        assert!((after - expected).abs() < 1.0, "{after} vs {expected}");
        assert!(
            update(50.0 * MS, Duration::ZERO, 10.0 * MS) == 50.0 * MS,
            "no time passed: no weight moved"
        );
        assert!(decayed(50.0 * MS, DECAY * 5) < MS, "an idle backend is tried again");
    }

    #[test]
    fn atomic_estimate_follows_the_given_clock() {
        let start = Instant::now();
        let e = AtomicPeakEwma::new(start);
        assert_eq!(e.estimate(start), 0.0);
        e.observe(Duration::from_millis(20), start);
        assert_eq!(e.estimate(start), 20.0 * MS);
        let later = e.estimate(start + DECAY);
        assert!((later - 20.0 * MS / std::f64::consts::E).abs() < 1e3, "{later}");
        e.observe(Duration::from_millis(1), start + DECAY);
        let moved = e.estimate(start + DECAY);
        assert!(
            later < moved && moved < 20.0 * MS,
            "a reading decays towards zero, an answer towards itself"
        );
        assert_eq!(
            e.estimate(start),
            e.estimate(start + DECAY),
            "a clock read before the update does not rewind it"
        );
    }
}
