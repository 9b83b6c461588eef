//! When to renew and when to retry: pure functions of the certificate's validity, the settings and
//! the time (passed in).

use std::time::{Duration, SystemTime};

/// When a certificate valid from `not_before` to `not_after` is due for renewal: `renew_before`
/// ahead of expiry, or after two thirds of its lifetime if that is sooner (short-lived
/// certificates, and CAs that issue for less than `renew_before`).
pub fn renewal_due(not_before: SystemTime, not_after: SystemTime, renew_before: Duration) -> SystemTime {
    let lifetime = not_after.duration_since(not_before).unwrap_or_default();
    let by_fraction = not_before + lifetime * 2 / 3;
    if renew_before >= lifetime {
        // A margin as long as the certificate would renew it the moment it arrives.
        return by_fraction;
    }
    (not_after - renew_before).min(by_fraction)
}

/// The wait after `failures` consecutive failures (1 or more): `initial`, doubled each time, at
/// most `max`.
pub fn retry_after(failures: u32, initial: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    initial.saturating_mul(1 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn ninety_day_certificates_renew_thirty_days_ahead() {
        let start = UNIX_EPOCH + DAY * 1000;
        let due = renewal_due(start, start + DAY * 90, DAY * 30);
        assert_eq!(due, start + DAY * 60);
    }

    #[test]
    fn short_lived_certificates_renew_at_two_thirds() {
        let start = UNIX_EPOCH + DAY * 1000;
        assert_eq!(renewal_due(start, start + DAY * 6, DAY * 30), start + DAY * 4);
        // Long-lived ones too (pebble's five years), as Caddy does: a third of the lifetime
        // is left for retries should the CA be down.
        assert_eq!(renewal_due(start, start + DAY * 1800, DAY * 30), start + DAY * 1200);
    }

    #[test]
    fn retries_back_off_to_a_ceiling() {
        let (initial, max) = (Duration::from_secs(60), Duration::from_secs(6 * 3600));
        assert_eq!(retry_after(1, initial, max), Duration::from_secs(60));
        assert_eq!(retry_after(2, initial, max), Duration::from_secs(120));
        assert_eq!(retry_after(5, initial, max), Duration::from_secs(960));
        assert_eq!(retry_after(40, initial, max), max);
    }
}
