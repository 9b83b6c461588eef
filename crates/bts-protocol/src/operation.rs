//! The operations bts-infra builds and checks: `transfer` (0), `account_create` (5) and
//! `account_upgrade` (8).
//!
//! An operation is a `static_variant`: JSON `[tag, {fields}]` with a numeric tag, raw
//! `varint(tag) || fields`. Other tags are a clear error, never a panic; the message names the
//! operation when it is one the protocol defines.

use crate::asset::Asset;
use crate::authority::{AccountCreateExtensions, AccountOptions, Authority, Extensions};
use crate::id::AccountId;
use crate::json;
use crate::keys::PublicKey;
use crate::name;
use crate::raw::{self, Pack, RawError, Reader, Unpack};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

/// `GRAPHENE_100_PERCENT`: percentages are in hundredths of a percent.
pub const PERCENT_100: u16 = 10_000;

/// `transfer_operation`: move an amount from one account to another, with an optional memo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Fee paid by `from`.
    pub fee: Asset,
    /// Sender.
    pub from: AccountId,
    /// Receiver.
    pub to: AccountId,
    /// Amount sent.
    pub amount: Asset,
    /// Encrypted memo, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<Memo>,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(Transfer {
    fee,
    from,
    to,
    amount,
    memo,
    extensions
});

/// `memo_data`: a message encrypted from one key to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memo {
    /// Sender's memo key.
    pub from: PublicKey,
    /// Receiver's memo key.
    pub to: PublicKey,
    /// Nonce of the shared-secret derivation.
    #[serde(with = "json::u64_compat")]
    pub nonce: u64,
    /// Ciphertext (hex in JSON).
    #[serde(with = "json::hex_bytes")]
    pub message: Vec<u8>,
}

crate::impl_raw_struct!(Memo {
    from,
    to,
    nonce,
    message
});

/// `account_create_operation`: register a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreate {
    /// Fee paid by the registrar.
    pub fee: Asset,
    /// Pays the fee; must be a lifetime member.
    pub registrar: AccountId,
    /// Receives `referrer_percent` of the new account's referral rewards; must be a member.
    pub referrer: AccountId,
    /// Referrer's share in hundredths of a percent (7000 = 70%).
    pub referrer_percent: u16,
    /// The new account's name.
    pub name: String,
    /// Owner authority.
    pub owner: Authority,
    /// Active authority.
    pub active: Authority,
    /// Memo key and voting settings.
    pub options: AccountOptions,
    /// Always empty here.
    #[serde(default)]
    pub extensions: AccountCreateExtensions,
}

crate::impl_raw_struct!(AccountCreate {
    fee,
    registrar,
    referrer,
    referrer_percent,
    name,
    owner,
    active,
    options,
    extensions
});

/// `account_upgrade_operation`: make an account a lifetime (or annual) member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpgrade {
    /// Fee paid by the account.
    pub fee: Asset,
    /// The account to upgrade.
    pub account_to_upgrade: AccountId,
    /// Lifetime membership if true, annual otherwise.
    pub upgrade_to_lifetime_member: bool,
    /// Always empty.
    #[serde(default)]
    pub extensions: Extensions,
}

crate::impl_raw_struct!(AccountUpgrade {
    fee,
    account_to_upgrade,
    upgrade_to_lifetime_member,
    extensions
});

/// An operation of a kind bts-infra supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Tag 0.
    Transfer(Transfer),
    /// Tag 5.
    AccountCreate(AccountCreate),
    /// Tag 8.
    AccountUpgrade(AccountUpgrade),
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

impl Operation {
    /// The `static_variant` tag.
    pub const fn tag(&self) -> u64 {
        match self {
            Operation::Transfer(_) => 0,
            Operation::AccountCreate(_) => 5,
            Operation::AccountUpgrade(_) => 8,
        }
    }

    /// The protocol's name for the operation.
    pub fn name(&self) -> &'static str {
        operation_name(self.tag()).expect("supported operations have names")
    }

    /// The fee.
    pub fn fee(&self) -> Asset {
        match self {
            Operation::Transfer(op) => op.fee,
            Operation::AccountCreate(op) => op.fee,
            Operation::AccountUpgrade(op) => op.fee,
        }
    }

    /// Sets the fee (after asking the node with `get_required_fees`).
    pub fn set_fee(&mut self, fee: Asset) {
        match self {
            Operation::Transfer(op) => op.fee = fee,
            Operation::AccountCreate(op) => op.fee = fee,
            Operation::AccountUpgrade(op) => op.fee = fee,
        }
    }

    /// The account that pays the fee and must sign (`fee_payer`).
    pub fn fee_payer(&self) -> AccountId {
        match self {
            Operation::Transfer(op) => op.from,
            Operation::AccountCreate(op) => op.registrar,
            Operation::AccountUpgrade(op) => op.account_to_upgrade,
        }
    }

    /// Every public key the operation mentions, to check they carry the chain's prefix.
    pub fn public_keys(&self) -> Vec<&PublicKey> {
        match self {
            Operation::Transfer(op) => op.memo.iter().flat_map(|m| [&m.from, &m.to]).collect(),
            Operation::AccountCreate(op) => op
                .owner
                .key_auths
                .iter()
                .chain(op.active.key_auths.iter())
                .map(|(k, _)| k)
                .chain([&op.options.memo_key])
                .collect(),
            Operation::AccountUpgrade(_) => Vec::new(),
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
            op @ Operation::AccountUpgrade(_) => op,
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
            Operation::AccountCreate(op) => validate_account_create(op),
            Operation::AccountUpgrade(_) => Ok(()),
        }
    }
}

fn validate_account_create(op: &AccountCreate) -> Result<(), InvalidOperation> {
    if let Err(e) = name::is_valid_name(&op.name) {
        return check(false, "is_valid_name( name )", || e.to_string());
    }
    check(
        op.referrer_percent <= PERCENT_100,
        "referrer_percent <= GRAPHENE_100_PERCENT",
        || format!("{} exceeds {PERCENT_100}", op.referrer_percent),
    )?;
    for (role, auth) in [("owner", &op.owner), ("active", &op.active)] {
        check(auth.num_auths() != 0, "num_auths() != 0", || {
            format!("{role} authority is empty")
        })?;
        check(auth.address_auths.is_empty(), "address_auths.size() == 0", || {
            format!("{role} authority uses addresses")
        })?;
        check(!auth.is_impossible(), "!is_impossible()", || {
            format!("cannot create an account with an impossible {role} authority threshold")
        })?;
    }
    op.options.validate().map_err(|msg| InvalidOperation {
        assertion: "needed_witnesses == 0 && needed_committee == 0",
        detail: msg.to_owned(),
    })
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
    format!("{what} is not supported: bts-infra handles transfer (0), account_create (5) and account_upgrade (8)")
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.tag())?;
        match self {
            Operation::Transfer(op) => t.serialize_element(op)?,
            Operation::AccountCreate(op) => t.serialize_element(op)?,
            Operation::AccountUpgrade(op) => t.serialize_element(op)?,
        }
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
                    8 => Operation::AccountUpgrade(seq.next_element()?.ok_or_else(missing)?),
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
        match self {
            Operation::Transfer(op) => op.pack(out),
            Operation::AccountCreate(op) => op.pack(out),
            Operation::AccountUpgrade(op) => op.pack(out),
        }
    }
}

impl Unpack for Operation {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, RawError> {
        match raw::read_varint(r)? {
            0 => Transfer::unpack(r).map(Operation::Transfer),
            5 => AccountCreate::unpack(r).map(Operation::AccountCreate),
            8 => AccountUpgrade::unpack(r).map(Operation::AccountUpgrade),
            other => Err(RawError::invalid("operation", unsupported(other))),
        }
    }
}

impl From<Transfer> for Operation {
    fn from(op: Transfer) -> Self {
        Operation::Transfer(op)
    }
}

impl From<AccountCreate> for Operation {
    fn from(op: AccountCreate) -> Self {
        Operation::AccountCreate(op)
    }
}

impl From<AccountUpgrade> for Operation {
    fn from(op: AccountUpgrade) -> Self {
        Operation::AccountUpgrade(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_operations_are_named_errors() {
        let err = serde_json::from_str::<Operation>(r#"[1, {}]"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("operation 1 (limit_order_create) is not supported"),
            "{err}"
        );
        let err = serde_json::from_str::<Operation>(r#"[99, {}]"#).unwrap_err();
        assert!(err.to_string().contains("operation 99 is not supported"), "{err}");
        assert!(raw::from_bytes::<Operation>(&[0x16]).is_err());
        assert!(serde_json::from_str::<Operation>(r#"["transfer", {}]"#).is_err());
    }
}
