//! The chain-wide objects that change as blocks and transactions apply: dynamic global
//! properties (2.1.0), the core asset's dynamic data (2.3.0) and the dynamic account_create fee.

use super::json::{int, uint};
use bts_protocol::{BlockId, TimePointSec, WitnessId};
use serde_json::{Value, json};

/// `dynamic_global_property_object::maintenance_flag`.
pub(crate) const MAINTENANCE_FLAG: u32 = 1;

/// `dynamic_global_property_object` (2.1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dgp {
    pub(crate) head_block_number: u32,
    pub(crate) head_block_id: BlockId,
    pub(crate) time: TimePointSec,
    pub(crate) current_witness: WitnessId,
    pub(crate) next_maintenance_time: TimePointSec,
    pub(crate) last_vote_tally_time: TimePointSec,
    pub(crate) last_budget_time: TimePointSec,
    pub(crate) accounts_registered_this_interval: u32,
    pub(crate) recently_missed_count: u32,
    pub(crate) current_aslot: u64,
    pub(crate) recent_slots_filled: u128,
    pub(crate) dynamic_flags: u32,
    pub(crate) last_irreversible_block_num: u32,
}

impl Dgp {
    /// The properties of block 0, as the node's `init_genesis` creates them.
    pub(crate) fn genesis(time: TimePointSec) -> Dgp {
        Dgp {
            head_block_number: 0,
            head_block_id: BlockId::default(),
            time,
            current_witness: WitnessId::default(),
            next_maintenance_time: TimePointSec(0),
            last_vote_tally_time: TimePointSec(0),
            last_budget_time: TimePointSec(0),
            accounts_registered_this_interval: 0,
            recently_missed_count: 0,
            current_aslot: 0,
            recent_slots_filled: u128::MAX,
            dynamic_flags: 0,
            last_irreversible_block_num: 0,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": "2.1.0",
            "head_block_number": self.head_block_number,
            "head_block_id": self.head_block_id,
            "time": self.time,
            "current_witness": self.current_witness,
            "next_maintenance_time": self.next_maintenance_time,
            "last_vote_tally_time": self.last_vote_tally_time,
            "last_budget_time": self.last_budget_time,
            "witness_budget": 0,
            "total_pob": 0,
            "total_inactive": 0,
            "accounts_registered_this_interval": self.accounts_registered_this_interval,
            "recently_missed_count": self.recently_missed_count,
            "current_aslot": uint(self.current_aslot),
            // fc writes a uint128 as a decimal string.
            "recent_slots_filled": self.recent_slots_filled.to_string(),
            "dynamic_flags": self.dynamic_flags,
            "last_irreversible_block_num": self.last_irreversible_block_num,
        })
    }
}

/// Small chain-wide values that transactions change; saved whole before a change, so a failed
/// transaction can put them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Globals {
    pub(crate) dgp: Dgp,
    /// The current account_create `basic_fee`: scaled up every `accounts_per_fee_scale`
    /// registrations, back down at maintenance.
    pub(crate) basic_fee: u64,
    /// Core asset `current_supply`.
    pub(crate) current_supply: i64,
}

impl Globals {
    /// The core asset's dynamic data (2.3.0).
    pub(crate) fn asset_dynamic_data_json(&self) -> Value {
        json!({
            "id": "2.3.0",
            "current_supply": int(self.current_supply),
            "confidential_supply": 0,
            "accumulated_fees": 0,
            "accumulated_collateral_fees": 0,
            "fee_pool": 0,
        })
    }
}
