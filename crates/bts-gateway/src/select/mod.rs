//! Picking a backend for new work, per network: `round-robin` (healthy only, weights honoured),
//! `latency` (peak-EWMA cost times requests in flight, power of two choices) and `geo` (the
//! client's region order, latency within a region).
//!
//! Each piece is small, pure and tested alone ([`ewma`], [`p2c`], [`round_robin`], [`region`]);
//! [`Strategy::pick`] puts them together over backend indices, with usability, cost and region
//! given as functions, so the pool can call it from the request path without locks or allocation.

pub mod ewma;
pub mod p2c;
pub mod region;
pub mod round_robin;

use region::RegionOrder;
use round_robin::RoundRobin;

/// A network's selection, ready to pick.
#[derive(Debug)]
pub enum Strategy {
    /// Weighted round-robin.
    RoundRobin(RoundRobin),
    /// Power of two choices on cost.
    Latency,
    /// Region order, then power of two choices on cost within the first region that has a
    /// usable backend.
    Geo(RegionOrder),
}

/// What a pick knows about the backends `0..n`.
pub struct Candidates<U, C, R> {
    /// How many backends.
    pub n: usize,
    /// Whether backend `i` may take the work (eligible and not already tried).
    pub usable: U,
    /// Backend `i`'s cost: peak-EWMA latency × (requests in flight + 1).
    pub cost: C,
    /// Backend `i`'s region index (in [`RegionOrder::regions`]).
    pub region: R,
}

impl Strategy {
    /// The backend index for new work; `client` is the client's (country, continent) for geo.
    pub fn pick<U, C, R>(
        &self,
        c: &Candidates<U, C, R>,
        client: (Option<&str>, Option<&str>),
        random: u64,
    ) -> Option<usize>
    where
        U: Fn(usize) -> bool,
        C: Fn(usize) -> f64,
        R: Fn(usize) -> Option<usize>,
    {
        match self {
            Strategy::RoundRobin(rr) => rr.next(&c.usable),
            Strategy::Latency => p2c::pick(c.n, &c.usable, &c.cost, random),
            Strategy::Geo(order) => order
                .order(client.0, client.1)
                .iter()
                .find_map(|&r| p2c::pick(c.n, |i| (c.usable)(i) && (c.region)(i) == Some(r), &c.cost, random)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn geo() -> Strategy {
        let mut prefer = BTreeMap::new();
        prefer.insert("JP".to_owned(), vec!["asia".to_owned()]);
        prefer.insert("*".to_owned(), vec!["us".to_owned()]);
        Strategy::Geo(RegionOrder::new(&prefer, &["us", "asia"]))
    }

    #[test]
    fn geo_prefers_the_clients_region_then_falls_back() {
        // Backends 0, 1 in us; 2, 3 in asia; 3 is the cheaper in asia.
        let region = |i: usize| Some(usize::from(i >= 2));
        let cost = |i: usize| [1.0, 1.0, 5.0, 2.0][i];
        let all = Candidates {
            n: 4,
            usable: |_| true,
            cost,
            region,
        };
        let s = geo();
        for r in 0..50 {
            assert_eq!(s.pick(&all, (Some("JP"), Some("AS")), r), Some(3));
            assert!(s.pick(&all, (Some("US"), Some("NA")), r).unwrap() < 2);
        }
        let asia_down = Candidates {
            n: 4,
            usable: |i| i < 2,
            cost,
            region,
        };
        assert!(
            s.pick(&asia_down, (Some("JP"), None), 9).unwrap() < 2,
            "falls back to us"
        );
        let none = Candidates {
            n: 4,
            usable: |_| false,
            cost,
            region,
        };
        assert_eq!(s.pick(&none, (Some("JP"), None), 9), None);
    }

    #[test]
    fn latency_prefers_the_faster_and_counts_load() {
        let s = Strategy::Latency;
        let in_flight = [0.0, 9.0];
        let c = Candidates {
            n: 2,
            usable: |_| true,
            // Backend 1 is twice as fast but has 9 requests in flight.
            cost: |i| [2.0, 1.0][i] * (in_flight[i] + 1.0),
            region: |_| None,
        };
        assert!((0..20).all(|r| s.pick(&c, (None, None), r) == Some(0)));
    }
}
