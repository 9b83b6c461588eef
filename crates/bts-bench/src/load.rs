//! The calls the bench sends, and the measuring window every load phase shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Numbers every call: the JSON-RPC id and the argument that makes each call's text unique.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// The next call number.
pub(crate) fn next_call() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Call `n`: `get_objects` of one of eight existing accounts (`1.2.0` .. `1.2.7`) plus `1.2.<n>`,
/// which for all but the first few calls does not exist (the node answers `null` for it).
///
/// Every call's arguments differ, so bts-gateway's collapsing of identical concurrent reads
/// (same API, method and argument text) never applies and no proxy could answer from a cache;
/// each call costs the node one small account lookup and returns one account object, as a
/// wallet's typical read does.
pub(crate) fn call_body(n: u64) -> String {
    format!(
        r#"{{"id":{n},"jsonrpc":"2.0","method":"call","params":[0,"get_objects",[["1.2.{}","1.2.{n}"]]]}}"#,
        n % 8
    )
}

/// What a load phase sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// [`call_body`]: a fresh read each time, which every call must take to the node.
    Fresh,
    /// [`cached_body`]: a read whose answer never changes, which bts-gateway serves from its
    /// cache (and the other proxies pass on).
    Cached,
}

impl Call {
    /// The text of call `n`.
    pub(crate) fn body(self, n: u64) -> String {
        match self {
            Call::Fresh => call_body(n),
            Call::Cached => cached_body(n),
        }
    }
}

/// Call `n` of the cached phase: `get_chain_id`, whose answer is the same for the node's life.
pub(crate) fn cached_body(n: u64) -> String {
    format!(r#"{{"id":{n},"jsonrpc":"2.0","method":"call","params":[0,"get_chain_id",[]]}}"#)
}

/// The `login` call a wallet sends first on a WebSocket (API 1, anonymous).
pub(crate) const LOGIN: &str = r#"{"id":1,"method":"call","params":[1,"login",["",""]]}"#;

/// Whether an answer carries a JSON-RPC result (rather than an error or nothing usable).
pub(crate) fn is_result(answer: &[u8]) -> bool {
    answer.windows(9).any(|w| w == b"\"result\":")
}

/// A phase's time line: load from `begin`, counted from `start` (after the warm-up) to `end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// When load starts.
    pub(crate) begin: Instant,
    /// When counting starts.
    pub(crate) start: Instant,
    /// When load and counting stop.
    pub(crate) end: Instant,
}

impl Window {
    /// A window starting now: `warmup`, then `duration` counted.
    pub(crate) fn from_now(warmup: Duration, duration: Duration) -> Window {
        let begin = Instant::now();
        Window {
            begin,
            start: begin + warmup,
            end: begin + warmup + duration,
        }
    }

    /// Whether a call that started at `started` and ended at `done` is counted: wholly inside.
    pub(crate) fn counts(&self, started: Instant, done: Instant) -> bool {
        started >= self.start && done <= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_differ_in_their_arguments() {
        let a = call_body(9);
        let b = call_body(17);
        assert_eq!(
            a,
            r#"{"id":9,"jsonrpc":"2.0","method":"call","params":[0,"get_objects",[["1.2.1","1.2.9"]]]}"#
        );
        let args = |b: &str| serde_json::from_str::<serde_json::Value>(b).expect("json")["params"][2].clone();
        assert_ne!(args(&a), args(&b));
        assert!(is_result(br#"{"id":1,"result":[]}"#) && !is_result(br#"{"id":1,"error":{}}"#));
    }
}
