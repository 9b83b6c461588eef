//! Power of two choices: pick two distinct candidates at random and keep the cheaper. Nearly as
//! good as always picking the cheapest, without herding every request onto one backend between
//! two cost updates (Mitzenmacher; the balancer of Finagle, Linkerd and Envoy).
//!
//! Candidates are indices that pass a predicate, so the request path neither allocates nor locks:
//! one pass counts them, a second finds the two that the random number chose.

use std::sync::atomic::{AtomicU64, Ordering};

/// Of the indices `0..n` for which `usable` holds, two chosen by `random` (distinct when there are
/// two or more); the one with the lower `cost` (the first on a tie). `None` when none is usable.
pub fn pick(n: usize, usable: impl Fn(usize) -> bool, cost: impl Fn(usize) -> f64, random: u64) -> Option<usize> {
    let count = (0..n).filter(|&i| usable(i)).count();
    match count {
        0 => None,
        1 => (0..n).find(|&i| usable(i)),
        _ => {
            let a = (random % count as u64) as usize;
            let mut b = ((random >> 32) % (count as u64 - 1)) as usize;
            if b >= a {
                b += 1;
            }
            let mut usable_indices = (0..n).filter(|&i| usable(i));
            let (first, second) = if a < b { (a, b) } else { (b, a) };
            let x = usable_indices.nth(first);
            let y = usable_indices.nth(second - first - 1);
            // The first draw wins ties, so equal costs spread evenly.
            let (drawn_first, drawn_second) = if a < b { (x, y) } else { (y, x) };
            match (drawn_first, drawn_second) {
                (Some(p), Some(q)) => Some(if cost(q) < cost(p) { q } else { p }),
                // Usability changed between the two passes (a health update): take what was found.
                (p, q) => p.or(q),
            }
        }
    }
}

/// A small random number source for selection: SplitMix64 on an atomic counter, so concurrent
/// requests each get their own number without a lock. Not for anything secret.
#[derive(Debug)]
pub struct Rng(AtomicU64);

impl Rng {
    /// A generator starting at `seed` (tests pass a constant; the gateway, the clock).
    pub fn new(seed: u64) -> Rng {
        Rng(AtomicU64::new(seed))
    }

    /// A generator seeded from the wall clock.
    pub fn from_clock() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng::new(nanos)
    }

    /// The next number.
    pub fn next(&self) -> u64 {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_cheaper_of_two() {
        let costs = [5.0, 1.0, 9.0];
        let rng = Rng::new(7);
        let mut wins = [0; 3];
        for _ in 0..3000 {
            wins[pick(3, |_| true, |i| costs[i], rng.next()).unwrap()] += 1;
        }
        // The cheapest wins whenever it is drawn (2 of 3 pairs); the dearest never wins.
        assert_eq!(wins[2], 0);
        assert!(wins[1] > 1800 && wins[0] > 800, "{wins:?}");
    }

    #[test]
    fn two_choices_are_distinct_and_unusable_ones_skipped() {
        for r in 0..200u64 {
            let rng = Rng::new(r);
            assert_eq!(
                pick(4, |i| i == 1 || i == 3, |i| [0.0, 2.0, 0.0, 1.0][i], rng.next()),
                Some(3)
            );
        }
        assert_eq!(pick(4, |i| i == 2, |_| 1.0, 42), Some(2));
        assert_eq!(pick(4, |_| false, |_| 1.0, 42), None);
        assert_eq!(pick(0, |_| true, |_| 1.0, 42), None);
    }

    #[test]
    fn equal_costs_spread_evenly() {
        let rng = Rng::new(1);
        let mut wins = [0u32; 4];
        for _ in 0..4000 {
            wins[pick(4, |_| true, |_| 1.0, rng.next()).unwrap()] += 1;
        }
        assert!(wins.iter().all(|&w| (700..1300).contains(&w)), "{wins:?}");
    }
}
