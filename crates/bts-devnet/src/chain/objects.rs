//! The chain's objects (accounts, statistics, balances, witnesses, committee members) and their
//! JSON as witness_node 7.0 writes it.

use super::json::{int, to_value, uint};
use bts_protocol::{
    AccountId, AccountOptions, AssetId, Authority, CommitteeMemberId, ObjectId, PublicKey, TimePointSec, VoteId,
    WitnessId,
};
use serde_json::{Value, json};

/// Object type numbers in space 1 (protocol) and 2 (implementation).
pub(crate) mod kind {
    pub(crate) const ACCOUNT: (u8, u8) = (1, 2);
    pub(crate) const ASSET: (u8, u8) = (1, 3);
    pub(crate) const COMMITTEE_MEMBER: (u8, u8) = (1, 5);
    pub(crate) const WITNESS: (u8, u8) = (1, 6);
    pub(crate) const PROPOSAL: (u8, u8) = (1, 10);
    pub(crate) const OPERATION_HISTORY: (u8, u8) = (1, 11);
    pub(crate) const GLOBAL_PROPERTIES: (u8, u8) = (2, 0);
    pub(crate) const DYNAMIC_GLOBAL_PROPERTIES: (u8, u8) = (2, 1);
    pub(crate) const ASSET_DYNAMIC_DATA: (u8, u8) = (2, 3);
    pub(crate) const ACCOUNT_BALANCE: (u8, u8) = (2, 5);
    pub(crate) const ACCOUNT_STATISTICS: (u8, u8) = (2, 6);
    pub(crate) const ACCOUNT_HISTORY: (u8, u8) = (2, 9);
    pub(crate) const CHAIN_PROPERTIES: (u8, u8) = (2, 11);
}

/// An object id of a kind from [`kind`]; instances come from counters that never reach 2^48.
pub(crate) fn oid((space, type_id): (u8, u8), instance: u64) -> ObjectId {
    ObjectId {
        space,
        type_id,
        instance,
    }
}

/// `account_statistics_object` fields the devnet maintains (2.6.N, N = the account's instance).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Statistics {
    /// Instance of the newest 2.9 entry (0 when none, as the node's default id).
    pub(crate) most_recent_op: u64,
    pub(crate) total_ops: u64,
    pub(crate) lifetime_fees_paid: i64,
    pub(crate) pending_fees: i64,
    pub(crate) pending_vested_fees: i64,
    pub(crate) core_in_balance: i64,
}

/// `account_object` (1.2.N).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) id: AccountId,
    pub(crate) membership_expiration_date: TimePointSec,
    pub(crate) registrar: AccountId,
    pub(crate) referrer: AccountId,
    pub(crate) lifetime_referrer: AccountId,
    pub(crate) network_fee_percentage: u16,
    pub(crate) lifetime_referrer_fee_percentage: u16,
    pub(crate) referrer_rewards_percentage: u16,
    pub(crate) name: String,
    pub(crate) owner: Authority,
    pub(crate) active: Authority,
    pub(crate) options: AccountOptions,
    pub(crate) creation_block_num: u32,
    pub(crate) creation_time: TimePointSec,
}

impl Account {
    /// `is_lifetime_member`: membership never expires.
    pub(crate) fn is_lifetime_member(&self) -> bool {
        self.membership_expiration_date == TimePointSec::MAXIMUM
    }

    /// `is_member(now)`: lifetime, or an annual membership not yet expired.
    pub(crate) fn is_member(&self, now: TimePointSec) -> bool {
        now <= self.membership_expiration_date
    }

    /// Every key in the owner and active authorities and the memo key (`get_key_references`).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.owner
            .key_auths
            .iter()
            .chain(self.active.key_auths.iter())
            .map(|(k, _)| k)
            .chain([&self.options.memo_key])
    }

    /// The statistics object's id, 2.6.N.
    pub(crate) fn stats_id(&self) -> ObjectId {
        oid(kind::ACCOUNT_STATISTICS, self.id.instance())
    }

    /// The account object as the node writes it.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "membership_expiration_date": self.membership_expiration_date,
            "registrar": self.registrar,
            "referrer": self.referrer,
            "lifetime_referrer": self.lifetime_referrer,
            "network_fee_percentage": self.network_fee_percentage,
            "lifetime_referrer_fee_percentage": self.lifetime_referrer_fee_percentage,
            "referrer_rewards_percentage": self.referrer_rewards_percentage,
            "name": self.name,
            "owner": to_value(&self.owner),
            "active": to_value(&self.active),
            "options": to_value(&self.options),
            "num_committee_voted": 0,
            "statistics": self.stats_id(),
            "whitelisting_accounts": [],
            "blacklisting_accounts": [],
            "whitelisted_accounts": [],
            "blacklisted_accounts": [],
            "owner_special_authority": [0, {}],
            "active_special_authority": [0, {}],
            "top_n_control_flags": 0,
            "creation_block_num": self.creation_block_num,
            "creation_time": self.creation_time,
        })
    }

    /// The account's statistics object (2.6.N) as the node writes it.
    pub(crate) fn stats_json(&self, s: &Statistics) -> Value {
        json!({
            "id": self.stats_id(),
            "owner": self.id,
            "name": self.name,
            "most_recent_op": oid(kind::ACCOUNT_HISTORY, s.most_recent_op),
            "total_ops": uint(s.total_ops),
            "removed_ops": 0,
            "total_core_in_orders": 0,
            "total_core_inactive": 0,
            "total_core_pob": 0,
            "total_core_pol": 0,
            "total_pob_value": 0,
            "total_pol_value": 0,
            "core_in_balance": int(s.core_in_balance),
            "has_cashback_vb": false,
            "is_voting": false,
            "last_vote_time": TimePointSec(0),
            "vp_all": 0,
            "vp_active": 0,
            "vp_committee": 0,
            "vp_witness": 0,
            "vp_worker": 0,
            "vote_tally_time": TimePointSec(0),
            "lifetime_fees_paid": int(s.lifetime_fees_paid),
            "pending_fees": int(s.pending_fees),
            "pending_vested_fees": int(s.pending_vested_fees),
        })
    }
}

/// `account_balance_object` (2.5.N).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Balance {
    pub(crate) instance: u64,
    pub(crate) owner: AccountId,
    pub(crate) asset: AssetId,
    pub(crate) amount: i64,
    /// Set whenever a core balance changes, cleared by maintenance (as the node does).
    pub(crate) maintenance_flag: bool,
}

impl Balance {
    pub(crate) fn id(&self) -> ObjectId {
        oid(kind::ACCOUNT_BALANCE, self.instance)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "owner": self.owner,
            "asset_type": self.asset,
            "balance": int(self.amount),
            "maintenance_flag": self.maintenance_flag,
        })
    }
}

/// `witness_object` (1.6.N); 1.6.0 is the node's empty "null witness".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Witness {
    pub(crate) id: WitnessId,
    pub(crate) account: AccountId,
    pub(crate) signing_key: PublicKey,
    pub(crate) vote_id: VoteId,
    pub(crate) last_aslot: u64,
    pub(crate) total_missed: i64,
    pub(crate) last_confirmed_block_num: u32,
}

impl Witness {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "witness_account": self.account,
            "last_aslot": uint(self.last_aslot),
            "signing_key": self.signing_key,
            "vote_id": self.vote_id,
            "total_votes": 0,
            "url": "",
            "total_missed": int(self.total_missed),
            "last_confirmed_block_num": self.last_confirmed_block_num,
        })
    }
}

/// `committee_member_object` (1.5.N).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitteeMember {
    pub(crate) id: CommitteeMemberId,
    pub(crate) account: AccountId,
    pub(crate) vote_id: VoteId,
}

impl CommitteeMember {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "committee_member_account": self.account,
            "vote_id": self.vote_id,
            "total_votes": 0,
            "url": "",
        })
    }
}

/// A core-asset amount as the node prints it (`asset_object::amount_to_pretty_string`):
/// integer part, then the fraction padded to the precision when it is not zero, then the symbol.
pub(crate) fn pretty_amount(amount: i64, precision: u8, symbol: &str) -> String {
    let scale = 10i64.pow(u32::from(precision));
    let mut out = (amount / scale).to_string();
    let decimals = (amount % scale).unsigned_abs();
    if decimals != 0 {
        if amount < 0 && out == "0" {
            out = "-0".to_owned();
        }
        let padded = (scale.unsigned_abs() + decimals).to_string();
        out.push('.');
        out.push_str(&padded[1..]);
    }
    format!("{out} {symbol}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_amounts_are_the_nodes() {
        assert_eq!(pretty_amount(100_000_000, 5, "BTS"), "1000 BTS");
        assert_eq!(pretty_amount(200_014_062, 5, "BTS"), "2000.14062 BTS");
        assert_eq!(pretty_amount(50_000, 5, "TEST"), "0.50000 TEST");
        assert_eq!(pretty_amount(-50_000, 5, "BTS"), "-0.50000 BTS");
        assert_eq!(pretty_amount(0, 5, "BTS"), "0 BTS");
    }
}
