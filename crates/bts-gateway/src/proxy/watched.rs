//! Watched objects across a session's move: changes made while the session was between nodes
//! reach the client.
//!
//! A node watches the objects a client fetched after `set_subscribe_callback`, and notifies their
//! changes. A change made while the session moves is notified by neither node: the old one is
//! gone, the new one starts watching when the recipe's fetches are replayed. So the session keeps
//! a fingerprint of each object the client has seen (from answers to watching fetches and from
//! notices), and when a replayed fetch answers with an object whose fingerprint differs, the
//! client gets a change notice for it, once. Objects it never saw are not notified.
//!
//! Pure; bounded: at most [`MAX_OBJECTS`] fingerprints per session (8 bytes each plus the id).

use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// Fingerprints kept per session; objects beyond are not followed across moves.
const MAX_OBJECTS: usize = 4096;

/// The objects one session's client has seen, by id.
#[derive(Debug, Default)]
pub(super) struct Watched {
    seen: HashMap<String, u64>,
}

fn fingerprint(object: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    object.to_string().hash(&mut h);
    h.finish()
}

/// Whether `s` looks like an object id, `N.N.N`.
fn is_object_id(s: &str) -> bool {
    let mut parts = s.split('.');
    (0..3).all(|_| {
        parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }) && parts.next().is_none()
}

/// Every object with an id in `value` (an answer's result, a notice's arguments): the objects of
/// `get_objects`, the account, statistics and balances inside `get_full_accounts`, ...
fn objects(value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            if let Some(id) = map.get("id").and_then(Value::as_str).filter(|id| is_object_id(id)) {
                out.push((id.to_owned(), value.clone()));
            } else {
                map.values().for_each(|v| objects(v, out));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, out)),
        _ => {}
    }
}

impl Watched {
    /// The client received `raw` (a watching fetch's result, or a subscribe notice's
    /// arguments): remember what it saw.
    pub(super) fn saw(&mut self, raw: &RawValue) {
        let Ok(value) = serde_json::from_str::<Value>(raw.get()) else {
            return;
        };
        let mut found = Vec::new();
        objects(&value, &mut found);
        for (id, object) in found {
            if self.seen.len() < MAX_OBJECTS || self.seen.contains_key(&id) {
                self.seen.insert(id, fingerprint(&object));
            }
        }
    }

    /// A replayed fetch answered `raw` on the new node: the objects the client saw that differ
    /// now (remembered as seen, since the caller notifies them).
    pub(super) fn changed(&mut self, raw: &RawValue) -> Vec<Value> {
        let Ok(value) = serde_json::from_str::<Value>(raw.get()) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        objects(&value, &mut found);
        let mut out = Vec::new();
        for (id, object) in found {
            let now = fingerprint(&object);
            if let Some(before) = self.seen.get_mut(&id)
                && *before != now
            {
                *before = now;
                out.push(object);
            }
        }
        out
    }

    /// The session's subscriptions were cancelled or replaced.
    pub(super) fn clear(&mut self) {
        self.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_rpc::message::to_raw;
    use serde_json::json;

    #[test]
    fn only_objects_the_client_saw_and_that_changed_are_notified() {
        let mut w = Watched::default();
        w.saw(&to_raw(&json!([{"id": "1.2.7", "name": "faucet", "balance": 1}, null])));
        // A full account: the nested account and balance objects count.
        w.saw(&to_raw(
            &json!([["alice", {"account": {"id": "1.2.8", "n": 1}, "balances": [{"id": "2.5.1", "amount": 5}]}]]),
        ));
        let after = to_raw(&json!([
            {"id": "1.2.7", "name": "faucet", "balance": 2},
            {"id": "1.2.8", "n": 1},
            {"id": "2.5.1", "amount": 6},
            {"id": "1.2.99", "never": "seen"},
        ]));
        let changed = w.changed(&after);
        let ids: Vec<&str> = changed.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1.2.7", "2.5.1"]);
        assert!(w.changed(&after).is_empty(), "notified once");
    }

    #[test]
    fn notices_update_what_the_client_saw() {
        let mut w = Watched::default();
        w.saw(&to_raw(&json!([{"id": "2.1.0", "head_block_number": 5}])));
        // The node notified the change itself: nothing to add after a move.
        w.saw(&to_raw(&json!([[{"id": "2.1.0", "head_block_number": 6}]])));
        assert!(
            w.changed(&to_raw(&json!([{"id": "2.1.0", "head_block_number": 6}])))
                .is_empty()
        );
        assert!(is_object_id("2.1.0") && !is_object_id("2.1") && !is_object_id("a.b.c") && !is_object_id("1.2.3.4"));
    }
}
