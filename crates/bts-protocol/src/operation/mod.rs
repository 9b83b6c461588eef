//! The operations bts-infra builds and checks: `transfer` (0), `account_create` (5),
//! `account_update` (6), `account_upgrade` (8), `proposal_create` (22) and `proposal_update` (23).
//!
//! An operation is a `static_variant`: JSON `[tag, {fields}]` with a numeric tag, raw
//! `varint(tag) || fields`. Other tags are a clear error, never a panic; the message names the
//! operation when it is one the protocol defines.

mod account;
mod proposal;
mod transfer;

pub use account::{AccountCreate, AccountUpdate, AccountUpgrade};
pub use proposal::{OpWrapper, ProposalCreate, ProposalUpdate};
pub use transfer::{Memo, Transfer};

use crate::asset::Asset;
use crate::authority::Authority;
use crate::id::AccountId;
use crate::keys::PublicKey;
use crate::raw::{self, Pack, RawError, Reader, Unpack};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

/// `GRAPHENE_100_PERCENT`: percentages are in hundredths of a percent.
pub const PERCENT_100: u16 = 10_000;

/// An operation of a kind bts-infra supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Tag 0.
    Transfer(Transfer),
    /// Tag 5.
    AccountCreate(AccountCreate),
    /// Tag 6.
    AccountUpdate(AccountUpdate),
    /// Tag 8.
    AccountUpgrade(AccountUpgrade),
    /// Tag 22.
    ProposalCreate(ProposalCreate),
    /// Tag 23.
    ProposalUpdate(ProposalUpdate),
}

/// The authorities an operation needs (`get_required_active_authorities`, `..._owner_...` and
/// the other authorities): the transaction carrying it must satisfy every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Required {
    /// Accounts whose active authority (or owner authority) must approve.
    pub active: Vec<AccountId>,
    /// Accounts whose owner authority must approve.
    pub owner: Vec<AccountId>,
    /// Other authorities, such as a key approving a proposal directly.
    pub other: Vec<Authority>,
}

/// An operation that breaks one of the node's `validate()` rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{assertion}: {detail}")]
pub struct InvalidOperation {
    /// The node's assertion text, e.g. `is_valid_name( name )`.
    pub assertion: &'static str,
    /// Why it failed here.
    pub detail: String,
}

fn check(ok: bool, assertion: &'static str, detail: impl FnOnce() -> String) -> Result<(), InvalidOperation> {
    if ok {
        Ok(())
    } else {
        Err(InvalidOperation {
            assertion,
            detail: detail(),
        })
    }
}

/// Applies the same expression to the operation inside any variant.
macro_rules! each {
    ($self:expr, $op:ident => $e:expr) => {
        match $self {
            Operation::Transfer($op) => $e,
            Operation::AccountCreate($op) => $e,
            Operation::AccountUpdate($op) => $e,
            Operation::AccountUpgrade($op) => $e,
            Operation::ProposalCreate($op) => $e,
            Operation::ProposalUpdate($op) => $e,
        }
    };
}

impl Operation {
    /// The `static_variant` tag.
    pub const fn tag(&self) -> u64 {
        match self {
            Operation::Transfer(_) => 0,
            Operation::AccountCreate(_) => 5,
            Operation::AccountUpdate(_) => 6,
            Operation::AccountUpgrade(_) => 8,
            Operation::ProposalCreate(_) => 22,
            Operation::ProposalUpdate(_) => 23,
        }
    }

    /// The protocol's name for the operation.
    pub fn name(&self) -> &'static str {
        operation_name(self.tag()).expect("supported operations have names")
    }

    /// The fee.
    pub fn fee(&self) -> Asset {
        each!(self, op => op.fee)
    }

    /// Sets the fee (after asking the node with `get_required_fees`).
    pub fn set_fee(&mut self, fee: Asset) {
        each!(self, op => op.fee = fee)
    }

    /// The account that pays the fee and must sign (`fee_payer`).
    pub fn fee_payer(&self) -> AccountId {
        match self {
            Operation::Transfer(op) => op.from,
            Operation::AccountCreate(op) => op.registrar,
            Operation::AccountUpdate(op) => op.account,
            Operation::AccountUpgrade(op) => op.account_to_upgrade,
            Operation::ProposalCreate(op) => op.fee_paying_account,
            Operation::ProposalUpdate(op) => op.fee_paying_account,
        }
    }

    /// The authorities the operation needs. The fee payer's active authority, except for an
    /// `account_update` that replaces the owner (the owner must approve), and a
    /// `proposal_update`, which also needs every approval it adds or removes. A proposal needs
    /// only its proposer: what it wraps is approved later, on chain.
    pub fn required_authorities(&self) -> Required {
        let mut required = Required::default();
        match self {
            Operation::AccountUpdate(op) if op.is_owner_update() => required.owner.push(op.account),
            Operation::ProposalUpdate(op) => {
                required.active.push(op.fee_paying_account);
                required.active.extend(op.active_approvals_to_add.iter());
                required.active.extend(op.active_approvals_to_remove.iter());
                required.owner.extend(op.owner_approvals_to_add.iter());
                required.owner.extend(op.owner_approvals_to_remove.iter());
                // One authority that every listed key must sign, as the node builds it.
                let keys: crate::flat::FlatMap<PublicKey, u16> = (op.key_approvals_to_add.iter())
                    .chain(op.key_approvals_to_remove.iter())
                    .map(|k| (*k, 1))
                    .collect();
                if !keys.is_empty() {
                    required.other.push(Authority {
                        weight_threshold: keys.len() as u32,
                        account_auths: Default::default(),
                        key_auths: keys,
                        address_auths: Default::default(),
                    });
                }
            }
            _ => required.active.push(self.fee_payer()),
        }
        required
    }

    /// Every public key the operation mentions (those of proposed operations included), to check
    /// they carry the chain's prefix.
    pub fn public_keys(&self) -> Vec<&PublicKey> {
        fn authority(a: &Authority) -> impl Iterator<Item = &PublicKey> {
            a.key_auths.iter().map(|(k, _)| k)
        }
        match self {
            Operation::Transfer(op) => op.memo.iter().flat_map(|m| [&m.from, &m.to]).collect(),
            Operation::AccountCreate(op) => authority(&op.owner)
                .chain(authority(&op.active))
                .chain([&op.options.memo_key])
                .collect(),
            Operation::AccountUpdate(op) => op
                .owner
                .iter()
                .chain(&op.active)
                .flat_map(authority)
                .chain(op.new_options.iter().map(|o| &o.memo_key))
                .collect(),
            Operation::AccountUpgrade(_) => Vec::new(),
            Operation::ProposalCreate(op) => op.proposed_ops.iter().flat_map(|w| w.op.public_keys()).collect(),
            Operation::ProposalUpdate(op) => op
                .key_approvals_to_add
                .iter()
                .chain(op.key_approvals_to_remove.iter())
                .collect(),
        }
    }

    /// The operation with every public key written with `prefix`. Raw bytes carry no prefix, so
    /// keys decoded from them read as `BTS`; a chain with another prefix tells them its own.
    pub fn with_key_prefix(self, prefix: crate::chain::Prefix) -> Operation {
        let authority = |a: Authority| Authority {
            key_auths: a
                .key_auths
                .into_iter()
                .map(|(k, w)| (k.with_prefix(prefix), w))
                .collect(),
            ..a
        };
        let keys = |set: crate::flat::FlatSet<PublicKey>| set.iter().map(|k| k.with_prefix(prefix)).collect();
        match self {
            Operation::Transfer(mut op) => {
                if let Some(memo) = op.memo.as_mut() {
                    memo.from = memo.from.with_prefix(prefix);
                    memo.to = memo.to.with_prefix(prefix);
                }
                Operation::Transfer(op)
            }
            Operation::AccountCreate(mut op) => {
                op.owner = authority(op.owner);
                op.active = authority(op.active);
                op.options.memo_key = op.options.memo_key.with_prefix(prefix);
                Operation::AccountCreate(op)
            }
            Operation::AccountUpdate(mut op) => {
                op.owner = op.owner.map(authority);
                op.active = op.active.map(authority);
                if let Some(options) = op.new_options.as_mut() {
                    options.memo_key = options.memo_key.with_prefix(prefix);
                }
                Operation::AccountUpdate(op)
            }
            op @ Operation::AccountUpgrade(_) => op,
            Operation::ProposalCreate(mut op) => {
                for w in &mut op.proposed_ops {
                    w.op = w.op.clone().with_key_prefix(prefix);
                }
                Operation::ProposalCreate(op)
            }
            Operation::ProposalUpdate(mut op) => {
                op.key_approvals_to_add = keys(op.key_approvals_to_add);
                op.key_approvals_to_remove = keys(op.key_approvals_to_remove);
                Operation::ProposalUpdate(op)
            }
        }
    }

    /// The node's stateless `validate()` checks for this operation.
    pub fn validate(&self) -> Result<(), InvalidOperation> {
        let fee = self.fee();
        check(fee.amount >= 0, "fee.amount >= 0", || format!("fee is {}", fee.amount))?;
        match self {
            Operation::Transfer(op) => {
                check(op.from != op.to, "from != to", || {
                    format!("{} sends to itself", op.from)
                })?;
                check(op.amount.amount > 0, "amount.amount > 0", || {
                    format!("amount is {}", op.amount.amount)
                })
            }
            Operation::AccountCreate(op) => account::validate_account_create(op),
            Operation::AccountUpdate(op) => account::validate_account_update(op),
            Operation::AccountUpgrade(_) => Ok(()),
            Operation::ProposalCreate(op) => proposal::validate_proposal_create(op),
            Operation::ProposalUpdate(op) => proposal::validate_proposal_update(op),
        }
    }
}

/// The protocol's name for an operation tag (tags 0 to 53), for error messages.
pub fn operation_name(tag: u64) -> Option<&'static str> {
    const NAMES: [&str; 54] = [
        "transfer",
        "limit_order_create",
        "limit_order_cancel",
        "call_order_update",
        "fill_order",
        "account_create",
        "account_update",
        "account_whitelist",
        "account_upgrade",
        "account_transfer",
        "asset_create",
        "asset_update",
        "asset_update_bitasset",
        "asset_update_feed_producers",
        "asset_issue",
        "asset_reserve",
        "asset_fund_fee_pool",
        "asset_settle",
        "asset_global_settle",
        "asset_publish_feed",
        "witness_create",
        "witness_update",
        "proposal_create",
        "proposal_update",
        "proposal_delete",
        "withdraw_permission_create",
        "withdraw_permission_update",
        "withdraw_permission_claim",
        "withdraw_permission_delete",
        "committee_member_create",
        "committee_member_update",
        "committee_member_update_global_parameters",
        "vesting_balance_create",
        "vesting_balance_withdraw",
        "worker_create",
        "custom",
        "assert",
        "balance_claim",
        "override_transfer",
        "transfer_to_blind",
        "blind_transfer",
        "transfer_from_blind",
        "asset_settle_cancel",
        "asset_claim_fees",
        "fba_distribute",
        "bid_collateral",
        "execute_bid",
        "asset_claim_pool",
        "asset_update_issuer",
        "htlc_create",
        "htlc_redeem",
        "htlc_redeemed",
        "htlc_extend",
        "htlc_refund",
    ];
    usize::try_from(tag).ok().and_then(|i| NAMES.get(i)).copied()
}

/// The error for a tag we do not support.
fn unsupported(tag: u64) -> String {
    let what = match operation_name(tag) {
        Some(name) => format!("operation {tag} ({name})"),
        None => format!("operation {tag}"),
    };
    format!(
        "{what} is not supported: bts-infra handles transfer (0), account_create (5), account_update (6), \
         account_upgrade (8), proposal_create (22) and proposal_update (23)"
    )
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.tag())?;
        each!(self, op => t.serialize_element(op)?);
        t.end()
    }
}

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Operation;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an operation [tag, {fields}] with a numeric tag")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Operation, A::Error> {
                let tag: u64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let missing = || de::Error::invalid_length(1, &self);
                let op = match tag {
                    0 => Operation::Transfer(seq.next_element()?.ok_or_else(missing)?),
                    5 => Operation::AccountCreate(seq.next_element()?.ok_or_else(missing)?),
                    6 => Operation::AccountUpdate(seq.next_element()?.ok_or_else(missing)?),
                    8 => Operation::AccountUpgrade(seq.next_element()?.ok_or_else(missing)?),
                    22 => Operation::ProposalCreate(seq.next_element()?.ok_or_else(missing)?),
                    23 => Operation::ProposalUpdate(seq.next_element()?.ok_or_else(missing)?),
                    other => return Err(de::Error::custom(unsupported(other))),
                };
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(op)
            }
        }
        d.deserialize_seq(V)
    }
}

impl Pack for Operation {
    fn pack(&self, out: &mut Vec<u8>) {
        raw::write_varint(out, self.tag());
        each!(self, op => op.pack(out))
    }
}

impl Unpack for Operation {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        match raw::read_varint(r)? {
            0 => Transfer::unpack(r).map(Operation::Transfer),
            5 => AccountCreate::unpack(r).map(Operation::AccountCreate),
            6 => AccountUpdate::unpack(r).map(Operation::AccountUpdate),
            8 => AccountUpgrade::unpack(r).map(Operation::AccountUpgrade),
            22 => ProposalCreate::unpack(r).map(Operation::ProposalCreate),
            23 => ProposalUpdate::unpack(r).map(Operation::ProposalUpdate),
            other => Err(RawError::invalid("operation", unsupported(other))),
        }
    }
}

macro_rules! from_op {
    ($($ty:ident),*) => {
        $(impl From<$ty> for Operation {
            fn from(op: $ty) -> Self {
                Operation::$ty(op)
            }
        })*
    };
}

from_op!(
    Transfer,
    AccountCreate,
    AccountUpdate,
    AccountUpgrade,
    ProposalCreate,
    ProposalUpdate
);

#[cfg(test)]
mod tests;
