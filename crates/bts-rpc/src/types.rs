//! Typed node answers: the objects of the database and broadcast APIs, with the fields the
//! infrastructure reads typed and every other field kept in a `rest` map.
//!
//! The typed fields are those a witness_node has sent since graphene's first release, so a
//! missing one is a real error; fields added by later hardforks (`total_pob`,
//! `creation_time`, ...) stay in `rest`, so older and newer nodes both decode.

use bts_protocol::json::{i64_compat, u64_compat};
use bts_protocol::{
    AccountId, AccountOptions, Asset, Authority, BlockId, ChainId, ObjectId, Signature, TimePointSec, TransactionId,
    WitnessId,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Fields an answer had beyond the typed ones, as the node sent them.
pub type Rest = Map<String, Value>;

/// `get_chain_properties` (object 2.11.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainProperties {
    /// `2.11.0`.
    pub id: ObjectId,
    /// The chain id.
    pub chain_id: ChainId,
    /// Minimum witness and committee counts and the like, fixed at genesis.
    pub immutable_parameters: Value,
    /// Other fields.
    #[serde(flatten)]
    pub rest: Rest,
}

/// `get_global_properties` (object 2.0.0): the chain parameters and the active producers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalProperties {
    /// `2.0.0`.
    pub id: ObjectId,
    /// The chain parameters the committee sets.
    pub parameters: ChainParameters,
    /// The active witnesses.
    pub active_witnesses: Vec<WitnessId>,
    /// Other fields (`next_available_vote_id`, `active_committee_members`, ...).
    #[serde(flatten)]
    pub rest: Rest,
}

/// `chain_parameters`: the subset infrastructure reads, and the rest as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainParameters {
    /// The fee schedule: `{"parameters":[[op_tag,{...}],...],"scale":10000}`. Kept as JSON: ask
    /// `get_required_fees` for the fee of an actual operation.
    pub current_fees: Value,
    /// Seconds between blocks.
    pub block_interval: u8,
    /// Seconds between maintenance intervals.
    pub maintenance_interval: u32,
    /// Largest transaction, in bytes.
    pub maximum_transaction_size: u32,
    /// Largest block, in bytes.
    pub maximum_block_size: u32,
    /// How far ahead of the head block time a transaction may expire, in seconds.
    pub maximum_time_until_expiration: u32,
    /// Largest number of entries in one authority.
    pub maximum_authority_membership: u16,
    /// Registrations per maintenance interval after which the account fee scales up.
    pub accounts_per_fee_scale: u16,
    /// The account fee is shifted left by this much at each scale step.
    pub account_fee_scale_bitshifts: u8,
    /// The longest a proposal may wait for approvals, in seconds.
    pub maximum_proposal_lifetime: u32,
    /// The review period a proposal needs when committee-account must approve it, in seconds.
    pub committee_proposal_review_period: u32,
    /// Other fields.
    #[serde(flatten)]
    pub rest: Rest,
}

/// `get_dynamic_global_properties` (object 2.1.0): the head of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicGlobalProperties {
    /// `2.1.0`.
    pub id: ObjectId,
    /// The head block's number.
    pub head_block_number: u32,
    /// The head block's id (TaPoS reference for new transactions).
    pub head_block_id: BlockId,
    /// The head block's time: the chain's "now".
    pub time: TimePointSec,
    /// The witness that produced the head block.
    pub current_witness: WitnessId,
    /// When the next maintenance interval starts.
    pub next_maintenance_time: TimePointSec,
    /// The last budget computation.
    pub last_budget_time: TimePointSec,
    /// What is left of the witness budget.
    #[serde(with = "i64_compat")]
    pub witness_budget: i64,
    /// Accounts registered since the last maintenance (drives the account fee scale).
    pub accounts_registered_this_interval: u32,
    /// Recent missed blocks, an indicator of production health.
    pub recently_missed_count: u32,
    /// The absolute slot number of the head block.
    #[serde(with = "u64_compat")]
    pub current_aslot: u64,
    /// Maintenance and other flags.
    pub dynamic_flags: u32,
    /// The last block that cannot be undone.
    pub last_irreversible_block_num: u32,
    /// Other fields (`recent_slots_filled`, `total_pob`, ...).
    #[serde(flatten)]
    pub rest: Rest,
}

/// An account object (1.2.x) as `get_account_by_name`, `lookup_account_names` and
/// `get_accounts` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The account id.
    pub id: AccountId,
    /// `2106-02-07T06:28:15` for a lifetime member, a past time for a basic account.
    pub membership_expiration_date: TimePointSec,
    /// Who paid the registration fee.
    pub registrar: AccountId,
    /// Who gets the referral share of this account's fees.
    pub referrer: AccountId,
    /// The lifetime member who gets the rest of the referral share (its own id for an LTM).
    pub lifetime_referrer: AccountId,
    /// Share of fees to the network, in hundredths of a percent.
    pub network_fee_percentage: u16,
    /// Share of fees to the lifetime referrer, in hundredths of a percent.
    pub lifetime_referrer_fee_percentage: u16,
    /// Share of the referral part that goes to the referrer, in hundredths of a percent.
    pub referrer_rewards_percentage: u16,
    /// The account name.
    pub name: String,
    /// The owner authority.
    pub owner: Authority,
    /// The active authority.
    pub active: Authority,
    /// Memo key and votes.
    pub options: AccountOptions,
    /// The account's statistics object (2.6.x).
    pub statistics: ObjectId,
    /// Other fields (whitelists, special authorities, `creation_time`, ...).
    #[serde(flatten)]
    pub rest: Rest,
}

impl Account {
    /// A lifetime member: its membership never expires (`account_object::is_lifetime_member`).
    pub fn is_lifetime_member(&self) -> bool {
        self.membership_expiration_date == TimePointSec::MAXIMUM
    }

    /// A lifetime or (at `now`, the chain's head time) annual member: not a basic account
    /// (`account_object::is_member`).
    pub fn is_member(&self, now: TimePointSec) -> bool {
        now <= self.membership_expiration_date
    }
}

/// A block header as `get_block_header` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// The previous block's id.
    pub previous: BlockId,
    /// When the block was produced.
    pub timestamp: TimePointSec,
    /// The witness that produced it.
    pub witness: WitnessId,
    /// ripemd160 merkle root of the transactions, as hex.
    pub transaction_merkle_root: String,
    /// Header extensions, as sent.
    #[serde(default)]
    pub extensions: Value,
}

impl BlockHeader {
    /// This block's number: one more than the previous block's.
    pub fn block_num(&self) -> u32 {
        self.previous.block_num().saturating_add(1)
    }
}

/// A signed block as `get_block` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    #[serde(flatten)]
    pub header: BlockHeader,
    /// The producing witness's signature.
    pub witness_signature: Signature,
    /// The transactions, as processed transactions in node JSON.
    pub transactions: Vec<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub rest: Rest,
}

/// `broadcast_transaction_synchronous`'s answer: where the transaction was included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastConfirmation {
    /// The transaction id.
    pub id: TransactionId,
    /// The block it is in.
    pub block_num: u32,
    /// Its position in the block.
    pub trx_num: u32,
    /// The processed transaction (with `operation_results`), as sent.
    pub trx: Value,
}

/// One entry of `get_required_fees`: a fee, or for a proposal `[fee, [inner fees...]]`, of which
/// the proposal's own fee is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequiredFee(pub(crate) Asset);

impl<'de> Deserialize<'de> for RequiredFee {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Plain(Asset),
            Proposal((Asset, Value)),
        }
        match Wire::deserialize(d)? {
            Wire::Plain(fee) | Wire::Proposal((fee, _)) => Ok(RequiredFee(fee)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_fee_shapes() {
        let fees: Vec<RequiredFee> = serde_json::from_value(json!([
            {"amount": 2_000_000, "asset_id": "1.3.0"},
            [{"amount": "5000000000", "asset_id": "1.3.0"}, [{"amount": 1, "asset_id": "1.3.0"}]],
        ]))
        .unwrap();
        assert_eq!(
            fees,
            [
                RequiredFee(Asset::core(2_000_000)),
                RequiredFee(Asset::core(5_000_000_000))
            ]
        );
        assert!(serde_json::from_value::<RequiredFee>(json!("junk")).is_err());
    }

    #[test]
    fn header_block_num() {
        let header: BlockHeader = serde_json::from_value(json!({
            "previous": "0000003d65ca018f5c2afed1ce3b67b620254cd3",
            "timestamp": "2026-11-22T11:10:40",
            "witness": "1.6.10",
            "transaction_merkle_root": "3fd5f6e33ed1ec97a09da9453e97d5e40d404d8f",
            "extensions": []
        }))
        .unwrap();
        assert_eq!(header.block_num(), 62);
    }
}
