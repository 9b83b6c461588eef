//! Service level objectives, the arithmetic of docs/kpis.md.
//!
//! An objective `O` (0.999) over a 30-day window allows a share `1 − O` of failed checks: the
//! error budget. Over any window, the burn rate is the failed share divided by `1 − O`: at 1 the
//! budget lasts exactly 30 days, at 14.4 an hour spends 2 % of it. The budget left is
//! `1 − failed share over 30 days / (1 − O)`: 1 untouched, 0 spent, negative overspent.

use crate::tally::Tally;
use serde::Serialize;

/// The objective's window.
pub const WINDOW_SECS: i64 = 30 * 86_400;

/// An endpoint's standing against its objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slo {
    /// The objective (0.999).
    pub objective: f64,
    /// Availability over the last 30 days (of what the history holds).
    pub availability: Option<f64>,
    /// Share of the budget left.
    pub budget_remaining: Option<f64>,
    /// Burn rate over the last hour.
    pub burn_1h: Option<f64>,
    /// Burn rate over the last six hours.
    pub burn_6h: Option<f64>,
}

/// The burn rate of `tally` against `objective`; `None` without checks.
pub fn burn_rate(tally: &Tally, objective: f64) -> Option<f64> {
    (tally.total > 0).then(|| (tally.bad() as f64 / tally.total as f64) / (1.0 - objective))
}

impl Slo {
    /// The standing from the tallies of the three windows.
    pub fn new(objective: f64, month: &Tally, six_hours: &Tally, hour: &Tally) -> Slo {
        Slo {
            objective,
            availability: month.availability(),
            budget_remaining: burn_rate(month, objective).map(|b| 1.0 - b),
            burn_1h: burn_rate(hour, objective),
            burn_6h: burn_rate(six_hours, objective),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::ErrorKind;

    fn tally(ok: u64, bad: u64) -> Tally {
        let mut t = Tally::default();
        (0..ok).for_each(|_| t.add(Ok(10.0)));
        (0..bad).for_each(|_| t.add(Err(ErrorKind::Connect)));
        t
    }

    #[test]
    fn the_budget_and_burn_rates_follow_the_definitions() {
        // 99.9 % over 30 days: one check a minute is 43,200 checks, 43.2 of which may fail.
        // 20 failed: 20 / 43.2 = 46.3 % of the budget spent.
        let month = tally(43_180, 20);
        // In the last hour, 6 of 60 failed: 10 % failing against 0.1 % allowed, burn rate 100.
        let hour = tally(54, 6);
        let six = tally(354, 6);
        let slo = Slo::new(0.999, &month, &six, &hour);
        let left = slo.budget_remaining.expect("checks");
        assert!((left - (1.0 - 20.0 / 43.2)).abs() < 1e-9, "{left}");
        assert!((slo.burn_1h.expect("checks") - 100.0).abs() < 1e-6);
        assert!((slo.burn_6h.expect("checks") - 6.0 / 360.0 / 0.001).abs() < 1e-6);
        let overspent = Slo::new(0.999, &tally(900, 100), &Tally::default(), &Tally::default());
        assert!(overspent.budget_remaining.expect("checks") < -98.0);
        assert_eq!(overspent.burn_1h, None);
    }
}
