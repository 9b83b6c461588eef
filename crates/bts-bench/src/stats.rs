//! What one load phase counted: answers, errors and latencies, merged over the workers.

use std::time::Duration;

/// The counts of one worker or of a whole phase.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Answers that carried a JSON-RPC result, within the measured window.
    pub(crate) ok: u64,
    /// Failed calls (transport errors, non-200 statuses, JSON-RPC errors), within the window.
    pub(crate) errors: u64,
    /// Latency of each good answer, in microseconds.
    pub(crate) latencies_us: Vec<u32>,
    /// Open loop only: each good answer's latency from the time its call was due, in
    /// microseconds. It adds to the latency the time a call waited for its connection (or the
    /// generator) when the target could not keep up, which latency from sending hides.
    pub(crate) from_due_us: Vec<u32>,
    /// New-connection phases: good answers whose TLS handshake resumed a session.
    pub(crate) resumed: u64,
}

impl Tally {
    /// Counts one call that started inside the measured window.
    pub(crate) fn record(&mut self, ok: bool, latency: Duration) {
        if ok {
            self.ok += 1;
            self.latencies_us.push(micros(latency));
        } else {
            self.errors += 1;
        }
    }

    /// Counts one open-loop call that was due inside the measured window.
    pub(crate) fn record_due(&mut self, ok: bool, from_send: Duration, from_due: Duration) {
        self.record(ok, from_send);
        if ok {
            self.from_due_us.push(micros(from_due));
        }
    }

    /// Adds another worker's counts.
    pub(crate) fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.resumed += other.resumed;
        self.latencies_us.extend(other.latencies_us);
        self.from_due_us.extend(other.from_due_us);
    }

    /// Good answers per second over `window`.
    pub(crate) fn rate(&self, window: Duration) -> f64 {
        self.ok as f64 / window.as_secs_f64()
    }

    /// The latency percentiles of the good answers, from sending.
    pub(crate) fn latency(&mut self) -> Latency {
        Latency::of(&mut self.latencies_us)
    }

    /// Open loop: the latency percentiles from the time each call was due.
    pub(crate) fn latency_from_due(&mut self) -> Latency {
        Latency::of(&mut self.from_due_us)
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Median and 99th percentile, in milliseconds (NaN when nothing was answered).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    /// 50th percentile.
    pub(crate) p50_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
}

impl Latency {
    fn of(us: &mut [u32]) -> Latency {
        us.sort_unstable();
        Latency {
            p50_ms: percentile(us, 0.50),
            p99_ms: percentile(us, 0.99),
        }
    }
}

/// The `q` quantile (nearest rank) of sorted microseconds, in milliseconds.
fn percentile(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut t = Tally::default();
        for us in 1..=100 {
            t.record(true, Duration::from_micros(us * 1000));
        }
        t.record(false, Duration::ZERO);
        let l = t.latency();
        assert_eq!((l.p50_ms, l.p99_ms), (50.0, 99.0));
        assert_eq!((t.ok, t.errors), (100, 1));
        assert!(Tally::default().latency().p99_ms.is_nan());
    }
}
