//! Answers that cannot change, kept; identical reads in flight, collapsed into one upstream call.
//!
//! Cacheable for good: `get_chain_id`, `get_chain_properties`, `get_config` (fixed for a running
//! node; the health checks pin the chain id), and `get_block` / `get_block_header` at or below the
//! network's last irreversible block. Everything else goes to a node, but identical concurrent
//! reads (same API, method and arguments, text for text) share one upstream call.
//!
//! Keys are per network, so a testnet answer never serves a mainnet request.

use serde_json::value::RawValue;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A request's identity for caching and collapsing: network, API name, method and argument text,
/// in one string (one allocation per request; the parts cannot contain the separator).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// The key of a call on `network`.
    pub fn new(network: &str, api: &str, method: &str, args: &RawValue) -> Key {
        let args = args.get();
        let mut key = String::with_capacity(network.len() + api.len() + method.len() + args.len() + 3);
        for part in [network, "\0", api, "\0", method, "\0", args] {
            key.push_str(part);
        }
        Key(key)
    }
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Whether the answer to `method(args)` on the database API can never change, given the
/// network's last irreversible block.
pub fn is_immutable(api: &str, method: &str, args: &RawValue, last_irreversible: Option<u32>) -> bool {
    if api != "database" {
        return false;
    }
    match method {
        "get_chain_id" | "get_chain_properties" | "get_config" => true,
        "get_block" | "get_block_header" => {
            let num = serde_json::from_str::<(u32,)>(args.get()).ok().map(|(n,)| n);
            matches!((num, last_irreversible), (Some(n), Some(lib)) if n <= lib)
        }
        _ => false,
    }
}

/// Whether collapsing identical concurrent calls is harmless: reads only, and none that
/// registers anything on the connection.
pub fn is_collapsible(api: &str, method: &str) -> bool {
    let read = method.starts_with("get_") || method.starts_with("lookup_") || method.starts_with("list_");
    api != "network_broadcast" && api != "login" && read && !method.starts_with("get_full_accounts")
}

/// The immutable answers, bounded: the oldest entry goes when the cache is full.
#[derive(Debug)]
pub struct Cache {
    max_entries: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: FastMap<Key, Arc<RawValue>>,
    order: VecDeque<Key>,
}

impl Cache {
    /// A cache of at most `max_entries` answers (0 disables it).
    pub fn new(max_entries: usize) -> Cache {
        Cache {
            max_entries,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// The stored answer, if any.
    pub fn get(&self, key: &Key) -> Option<Arc<RawValue>> {
        self.inner.lock().expect("cache lock").map.get(key).cloned()
    }

    /// Stores an answer.
    pub fn put(&self, key: Key, value: Arc<RawValue>) {
        if self.max_entries == 0 {
            return;
        }
        let mut e = self.inner.lock().expect("cache lock");
        if e.map.insert(key.clone(), value).is_none() {
            e.order.push_back(key);
            while e.order.len() > self.max_entries {
                if let Some(old) = e.order.pop_front() {
                    e.map.remove(&old);
                }
            }
        }
    }

    /// Number of stored answers.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("cache lock").map.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a collapsed call ends with: the result text (`Ok`), or nothing usable (`Err`), in which
/// case each waiter makes its own call.
pub type Shared = Result<Arc<RawValue>, ()>;

/// Identical calls in flight: per key, the followers waiting for the leader's outcome. A flight
/// that nobody joins costs one map entry and no channel (most reads: a channel per call was a
/// measurable part of the gateway's CPU per relayed call).
#[derive(Debug, Default)]
pub struct SingleFlight {
    inflight: Mutex<FastMap<Key, Vec<oneshot::Sender<Shared>>>>,
}

/// The first caller of a key leads: it makes the call and reports the outcome.
pub struct Leader<'a> {
    flight: &'a SingleFlight,
    /// `None` once finished.
    key: Option<Key>,
}

/// Whether to make the call or wait for the one in flight.
pub enum Turn<'a> {
    /// Make the call, then [`Leader::finish`].
    Lead(Leader<'a>),
    /// Another caller is making it: [`follow`].
    Follow(oneshot::Receiver<Shared>),
}

impl SingleFlight {
    /// Joins the flight for `key`.
    pub fn join(&self, key: Key) -> Turn<'_> {
        let mut inflight = self.inflight.lock().expect("single-flight lock");
        if let Some(followers) = inflight.get_mut(&key) {
            let (tx, rx) = oneshot::channel();
            followers.push(tx);
            return Turn::Follow(rx);
        }
        inflight.insert(key.clone(), Vec::new());
        Turn::Lead(Leader {
            flight: self,
            key: Some(key),
        })
    }

    /// Ends the flight of `key`, returning who joined it.
    fn end(&self, key: &Key) -> Followers {
        let followers = self.inflight.lock().expect("single-flight lock").remove(key);
        Followers(followers.unwrap_or_default())
    }
}

/// The callers that joined a finished flight, to be told its outcome.
#[must_use = "followers wait until told"]
pub struct Followers(Vec<oneshot::Sender<Shared>>);

impl Followers {
    /// Whether anyone joined.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tells every follower the outcome.
    pub fn send(self, outcome: &Shared) {
        for tx in self.0 {
            let _ = tx.send(outcome.clone());
        }
    }
}

impl Leader<'_> {
    /// Ends the flight: later callers of the key lead their own. Returns who joined, to be
    /// told the outcome (dropping them tells them to make their own calls).
    pub fn finish(mut self) -> Followers {
        let key = self.key.take().expect("a leader finishes once");
        self.flight.end(&key)
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        // A leader that never finished (its task was cancelled) must not strand its followers:
        // dropping their senders tells them to make their own calls.
        if let Some(key) = self.key.take() {
            drop(self.flight.end(&key));
        }
    }
}

/// Waits for the leader's outcome; `Err` when it has none to share.
pub async fn follow(rx: oneshot::Receiver<Shared>) -> Shared {
    rx.await.unwrap_or(Err(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Arc<RawValue> {
        Arc::from(RawValue::from_string(s.to_owned()).unwrap())
    }

    #[test]
    fn what_is_immutable() {
        let one = RawValue::from_string("[5]".into()).unwrap();
        assert!(is_immutable("database", "get_chain_id", &one, None));
        assert!(is_immutable("database", "get_block", &one, Some(5)));
        assert!(
            !is_immutable("database", "get_block", &one, Some(4)),
            "above the LIB it can still change"
        );
        assert!(!is_immutable("database", "get_block", &one, None));
        assert!(!is_immutable(
            "database",
            "get_dynamic_global_properties",
            &one,
            Some(9)
        ));
        assert!(!is_immutable("history", "get_chain_id", &one, None));
        assert!(is_collapsible("database", "get_dynamic_global_properties"));
        assert!(!is_collapsible("network_broadcast", "broadcast_transaction"));
        assert!(!is_collapsible("database", "set_subscribe_callback"));
    }

    #[test]
    fn bounded_and_keyed_by_network() {
        let c = Cache::new(2);
        let args = RawValue::from_string("[]".into()).unwrap();
        let k = |n: &str| Key::new(n, "database", "get_chain_id", &args);
        c.put(k("mainnet"), raw("\"a\""));
        c.put(k("testnet"), raw("\"b\""));
        assert_eq!(c.get(&k("mainnet")).unwrap().get(), "\"a\"");
        c.put(k("third"), raw("\"c\""));
        assert_eq!(c.len(), 2);
        assert!(c.get(&k("mainnet")).is_none(), "the oldest went");
        assert!(Cache::new(0).is_empty());
    }

    #[tokio::test]
    async fn followers_get_the_leaders_answer_or_go_themselves() {
        let f = SingleFlight::default();
        let args = RawValue::from_string("[]".into()).unwrap();
        let key = Key::new("n", "database", "get_dynamic_global_properties", &args);
        let Turn::Lead(leader) = f.join(key.clone()) else {
            panic!("first caller leads")
        };
        let Turn::Follow(rx) = f.join(key.clone()) else {
            panic!("second caller follows")
        };
        let followers = leader.finish();
        assert!(!followers.is_empty());
        followers.send(&Ok(raw("{}")));
        assert_eq!(follow(rx).await.unwrap().get(), "{}");
        // A flight nobody joined has nobody to tell.
        let Turn::Lead(alone) = f.join(key.clone()) else {
            panic!("flight ended, a new one starts")
        };
        assert!(alone.finish().is_empty());
        // A leader dropped without an answer releases its followers with an error.
        let Turn::Lead(leader) = f.join(key.clone()) else {
            panic!("flight ended, a new one starts")
        };
        let Turn::Follow(rx) = f.join(key) else {
            panic!("follows")
        };
        drop(leader);
        assert!(follow(rx).await.is_err());
    }
}
