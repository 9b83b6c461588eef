//! Faults a node can be told to have, for tests and demos of the gateway: slow answers, a frozen
//! head, a head that lags while it advances, dropped connections, a wrong chain id, no answers at
//! all.
//!
//! They are set through the admin endpoint (`POST /devnet/admin`), which exists only when the
//! devnet runs with `--admin`; a devnet without it behaves like a healthy node.

use bts_protocol::ChainId;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// The faults of one node. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultState {
    /// Added before every answer, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// The node stops applying blocks: its head falls behind the network's.
    #[serde(default)]
    pub frozen: bool,
    /// The node keeps applying blocks, this many behind the network's head (a slow node).
    #[serde(default)]
    pub lag_blocks: u32,
    /// The node accepts requests and never answers them (a hung process).
    #[serde(default)]
    pub hang: bool,
    /// The node reports this chain id instead of its own (a node on the wrong network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<ChainId>,
}

/// A change to the faults: fields left out keep their value; `drop_connections` closes every
/// open WebSocket once.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultChange {
    /// New added latency in milliseconds.
    pub latency_ms: Option<u64>,
    /// Freeze or thaw the head.
    pub frozen: Option<bool>,
    /// Stay this many blocks behind (0: keep up).
    pub lag_blocks: Option<u32>,
    /// Hang or answer again.
    pub hang: Option<bool>,
    /// Report another chain id; `null` restores the real one.
    #[serde(default, with = "double_option")]
    pub chain_id: Option<Option<ChainId>>,
    /// Close every open connection now.
    #[serde(default)]
    pub drop_connections: bool,
}

/// Distinguishes a missing field (no change) from `null` (clear the value).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A node's faults, readable from any task.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<FaultState>,
    changed: Notify,
}

impl Faults {
    /// The current faults.
    pub fn get(&self) -> FaultState {
        self.state.lock().expect("faults lock").clone()
    }

    /// Applies a change and returns the new faults.
    pub fn apply(&self, change: &FaultChange) -> FaultState {
        let new = {
            let mut s = self.state.lock().expect("faults lock");
            if let Some(v) = change.latency_ms {
                s.latency_ms = v;
            }
            if let Some(v) = change.frozen {
                s.frozen = v;
            }
            if let Some(v) = change.lag_blocks {
                s.lag_blocks = v;
            }
            if let Some(v) = change.hang {
                s.hang = v;
            }
            if let Some(v) = change.chain_id {
                s.chain_id = v;
            }
            s.clone()
        };
        self.changed.notify_waiters();
        new
    }

    /// Whether the head is frozen.
    pub fn frozen(&self) -> bool {
        self.state.lock().expect("faults lock").frozen
    }

    /// How many blocks behind the network the node stays.
    pub fn lag_blocks(&self) -> u32 {
        self.state.lock().expect("faults lock").lag_blocks
    }

    /// The added latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.state.lock().expect("faults lock").latency_ms)
    }

    /// Whether the node hangs.
    pub fn hanging(&self) -> bool {
        self.state.lock().expect("faults lock").hang
    }

    /// The chain id the node claims, if it lies about it.
    pub fn fake_chain_id(&self) -> Option<ChainId> {
        self.state.lock().expect("faults lock").chain_id
    }

    /// Completes at the next change of the faults. Create it before checking the state, so a
    /// change in between is not missed.
    pub fn thawed(&self) -> Notified<'_> {
        self.changed.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_keep_what_they_do_not_name() {
        let f = Faults::default();
        let change: FaultChange = serde_json::from_str(r#"{"latency_ms": 200, "frozen": true}"#).unwrap();
        f.apply(&change);
        let change: FaultChange = serde_json::from_str(
            r#"{"frozen": false, "chain_id": "39f5e2ede1f8bc1a3a54a7914414e3779e33193f1f5693510e73cb7a87617447"}"#,
        )
        .unwrap();
        let s = f.apply(&change);
        assert_eq!((s.latency_ms, s.frozen, s.chain_id.is_some()), (200, false, true));
        let s = f.apply(&serde_json::from_str(r#"{"chain_id": null}"#).unwrap());
        assert_eq!(s.chain_id, None);
        assert!(serde_json::from_str::<FaultChange>(r#"{"latency": 5}"#).is_err());
    }
}
