//! Weighted round-robin without locks: a smooth schedule (nginx's algorithm, so a backend of
//! weight 2 is picked every other time rather than twice in a row) computed once per backend
//! set, and an atomic cursor. Slots of backends that cannot be used are consumed and skipped, so
//! the healthy backends keep their relative weights.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One cycle of smooth weighted round-robin over `weights` (length = sum of the weights, each
/// index appearing `weights[i]` times, spread out). Weights of zero are left out.
pub fn smooth_schedule(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut schedule = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, &w) in current.iter_mut().zip(weights) {
            *c += i64::from(w);
        }
        let Some(best) = (0..weights.len())
            .filter(|&i| weights[i] > 0)
            .max_by_key(|&i| (current[i], -(i as i64)))
        else {
            break;
        };
        current[best] -= total;
        schedule.push(best);
    }
    schedule
}

/// A schedule and its cursor.
#[derive(Debug)]
pub struct RoundRobin {
    schedule: Vec<usize>,
    cursor: AtomicUsize,
}

impl RoundRobin {
    /// Round-robin over backends with these weights.
    pub fn new(weights: &[u32]) -> RoundRobin {
        RoundRobin {
            schedule: smooth_schedule(weights),
            cursor: AtomicUsize::new(0),
        }
    }

    /// The next backend for which `usable` holds; each slot tried is consumed. `None` after one
    /// whole cycle without a usable backend.
    pub fn next(&self, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.schedule.len();
        (0..len)
            .map(|_| self.schedule[self.cursor.fetch_add(1, Ordering::Relaxed) % len])
            .find(|&i| usable(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_smooth_and_weighted() {
        assert_eq!(smooth_schedule(&[1, 1, 1]), [0, 1, 2]);
        assert_eq!(smooth_schedule(&[5, 1, 1]), [0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(smooth_schedule(&[2, 1]), [0, 1, 0]);
        assert_eq!(smooth_schedule(&[0, 3]), [1, 1, 1]);
        assert!(smooth_schedule(&[]).is_empty());
    }

    #[test]
    fn turns_in_order() {
        let rr = RoundRobin::new(&[1, 1, 1]);
        let picks: Vec<_> = (0..6).map(|_| rr.next(|_| true).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn skipping_keeps_the_weights_of_the_rest() {
        let rr = RoundRobin::new(&[2, 1, 1]);
        let mut counts = [0; 3];
        for _ in 0..300 {
            counts[rr.next(|i| i != 1).unwrap()] += 1;
        }
        assert_eq!(counts, [200, 0, 100]);
        assert_eq!(rr.next(|_| false), None);
        assert_eq!(RoundRobin::new(&[]).next(|_| true), None);
    }
}
