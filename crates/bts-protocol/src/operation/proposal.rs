//! Proposals: `proposal_create` (22) wraps operations that need approvals the proposer does not
//! hold; `proposal_update` (23) adds or removes approvals.

use super::{InvalidOperation, Operation, check};
use crate::asset::Asset;
use crate::authority::Extensions;
use crate::flat::FlatSet;
use crate::id::{AccountId, ProposalId};
use crate::keys::PublicKey;
use crate::raw::{Pack, RawError, Reader, Unpack};
use crate::time::TimePointSec;
use serde::{Deserialize, Serialize};

/// `op_wrapper`: one proposed operation, `{"op": [tag, {fields}]}` in JSON, the operation alone
/// in raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpWrapper {
    /// The proposed operation.
    pub op: Operation,
}

impl Pack for OpWrapper {
    fn pack(&self, out: &mut Vec<u8>) {
        self.op.pack(out);
    }
}

impl Unpack for OpWrapper {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        r.nested("proposed operation", Operation::unpack)
            .map(|op| OpWrapper { op })
    }
}

/// `proposal_create_operation`: propose a transaction of `proposed_ops` that executes once the
/// authorities it needs have approved it (at `expiration_time` when there is a review period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalCreate {
    /// Fee paid by `fee_paying_account`.
    pub fee: Asset,
    /// Pays the fee; any account may propose.
    pub fee_paying_account: AccountId,
    /// When the proposal expires (and, with a review period, executes if approved).
    pub expiration_time: TimePointSec,
    /// The operations proposed, executed together in one transaction.
    pub proposed_ops: Vec<OpWrapper>,
    /// Seconds before expiry during which approvals may only be removed; required, of at least
    /// the chain's `committee_proposal_review_period`, when the committee must approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_period_seconds: Option<u32>,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(ProposalCreate {
    fee,
    fee_paying_account,
    expiration_time,
    proposed_ops,
    review_period_seconds,
    extensions
});

/// `proposal_update_operation`: add or remove approvals of a proposal. Adding an account's active
/// (owner) approval needs that account's active (owner) authority in the same transaction; a
/// key approval needs the key's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalUpdate {
    /// Fee paid by `fee_paying_account`.
    pub fee: Asset,
    /// Pays the fee.
    pub fee_paying_account: AccountId,
    /// The proposal.
    pub proposal: ProposalId,
    /// Accounts approving with their active authority.
    #[serde(default)]
    pub active_approvals_to_add: FlatSet<AccountId>,
    /// Active approvals withdrawn.
    #[serde(default)]
    pub active_approvals_to_remove: FlatSet<AccountId>,
    /// Accounts approving with their owner authority.
    #[serde(default)]
    pub owner_approvals_to_add: FlatSet<AccountId>,
    /// Owner approvals withdrawn.
    #[serde(default)]
    pub owner_approvals_to_remove: FlatSet<AccountId>,
    /// Keys approving directly.
    #[serde(default)]
    pub key_approvals_to_add: FlatSet<PublicKey>,
    /// Key approvals withdrawn.
    #[serde(default)]
    pub key_approvals_to_remove: FlatSet<PublicKey>,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(ProposalUpdate {
    fee,
    fee_paying_account,
    proposal,
    active_approvals_to_add,
    active_approvals_to_remove,
    owner_approvals_to_add,
    owner_approvals_to_remove,
    key_approvals_to_add,
    key_approvals_to_remove,
    extensions
});

impl ProposalUpdate {
    /// An update that approves `proposal` with the active authorities of `approvers`, paid by
    /// `fee_paying_account` (the fee is set later).
    pub fn approve(fee_paying_account: AccountId, proposal: ProposalId, approvers: &[AccountId]) -> Self {
        ProposalUpdate {
            fee: Asset::core(0),
            fee_paying_account,
            proposal,
            active_approvals_to_add: approvers.iter().copied().collect(),
            active_approvals_to_remove: FlatSet::new(),
            owner_approvals_to_add: FlatSet::new(),
            owner_approvals_to_remove: FlatSet::new(),
            key_approvals_to_add: FlatSet::new(),
            key_approvals_to_remove: FlatSet::new(),
            extensions: Extensions,
        }
    }
}

pub(super) fn validate_proposal_create(op: &ProposalCreate) -> Result<(), InvalidOperation> {
    check(!op.proposed_ops.is_empty(), "!proposed_ops.empty()", || {
        "a proposal needs at least one operation".to_owned()
    })?;
    op.proposed_ops.iter().try_for_each(|w| w.op.validate())
}

pub(super) fn validate_proposal_update(op: &ProposalUpdate) -> Result<(), InvalidOperation> {
    let changes = op.active_approvals_to_add.len()
        + op.active_approvals_to_remove.len()
        + op.owner_approvals_to_add.len()
        + op.owner_approvals_to_remove.len()
        + op.key_approvals_to_add.len()
        + op.key_approvals_to_remove.len();
    check(changes != 0, "!(approvals all empty)", || {
        "the update neither adds nor removes an approval".to_owned()
    })?;
    fn disjoint<T: Ord + std::fmt::Display>(add: &FlatSet<T>, remove: &FlatSet<T>) -> Result<(), InvalidOperation> {
        match remove.iter().find(|r| add.contains(r)) {
            Some(both) => check(false, "Cannot add and remove approval at the same time.", || {
                format!("{both} is both added and removed")
            }),
            None => Ok(()),
        }
    }
    disjoint(&op.active_approvals_to_add, &op.active_approvals_to_remove)?;
    disjoint(&op.owner_approvals_to_add, &op.owner_approvals_to_remove)?;
    disjoint(&op.key_approvals_to_add, &op.key_approvals_to_remove)
}
