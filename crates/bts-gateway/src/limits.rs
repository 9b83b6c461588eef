//! Protection: a request rate per client IP (token bucket), and WebSocket connection counts per
//! IP and in total. A limited client gets an answer that says so; nobody is left hanging.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

/// Requests per second per client IP, with a burst allowance.
pub struct RateLimit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_second: u32,
}

impl RateLimit {
    /// `per_second` requests per second per IP with bursts of `burst`; 0 disables the limit.
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        RateLimit { limiter, per_second }
    }

    /// Takes one request from `ip`'s bucket; false when it is empty.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.limiter.as_ref().is_none_or(|l| l.check_key(&ip).is_ok())
    }

    /// The configured rate, for messages.
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Forgets idle clients (call now and then, so the table does not grow without end).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This IP has too many connections.
    PerIp(usize),
    /// The gateway has too many connections.
    Total(usize),
}

impl Refusal {
    /// The message for the client.
    pub fn message(&self) -> String {
        match self {
            Refusal::PerIp(n) => {
                format!("too many WebSocket connections from your address (limit {n}): close some and retry")
            }
            Refusal::Total(n) => format!("the gateway is at its WebSocket connection limit ({n}): retry later"),
        }
    }
}

/// Open WebSocket connections per IP and in total.
#[derive(Debug)]
pub struct Connections {
    per_ip: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    by_ip: HashMap<IpAddr, usize>,
    total: usize,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    owner: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    /// At most `per_ip` connections from one IP and `total` in all (0 means no limit).
    pub fn new(per_ip: usize, total: usize) -> Arc<Connections> {
        Arc::new(Connections {
            per_ip,
            total,
            open: Mutex::new(Open::default()),
        })
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().expect("connections lock");
        if self.total != 0 && open.total >= self.total {
            return Err(Refusal::Total(self.total));
        }
        let mine = open.by_ip.get(&ip).copied().unwrap_or(0);
        if self.per_ip != 0 && mine >= self.per_ip {
            return Err(Refusal::PerIp(self.per_ip));
        }
        open.by_ip.insert(ip, mine + 1);
        open.total += 1;
        Ok(Slot {
            owner: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().expect("connections lock").total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().expect("connections lock");
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_per_ip() {
        let limit = RateLimit::new(1, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let allowed = (0..10).filter(|_| limit.allow(a)).count();
        assert_eq!(allowed, 3, "the burst, then empty");
        assert!(limit.allow(b), "another client has its own bucket");
        assert!(RateLimit::new(0, 0).allow(a), "0 disables");
    }

    #[test]
    fn connection_slots_are_counted_and_freed() {
        let c = Connections::new(2, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let s1 = c.admit(a).unwrap();
        let _s2 = c.admit(a).unwrap();
        assert_eq!(c.admit(a).unwrap_err(), Refusal::PerIp(2));
        let _s3 = c.admit(b).unwrap();
        assert_eq!(c.admit(b).unwrap_err(), Refusal::Total(3));
        drop(s1);
        assert!(c.admit(a).is_ok());
        assert!(Refusal::PerIp(2).message().contains("limit 2"));
    }
}
