//! The account operations: `account_create` (5), `account_update` (6) and `account_upgrade` (8).

use super::{InvalidOperation, PERCENT_100, check};
use crate::asset::Asset;
use crate::authority::{AccountCreateExtensions, AccountOptions, AccountUpdateExtensions, Authority, Extensions};
use crate::id::AccountId;
use crate::name;
use serde::{Deserialize, Serialize};

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

/// `account_update_operation`: replace an account's owner or active authority or its options.
/// Absent members are left as they are (and are left out of the JSON, as the node writes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// Fee paid by the account.
    pub fee: Asset,
    /// The account to update.
    pub account: AccountId,
    /// New owner authority; changing it needs the owner authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Authority>,
    /// New active authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<Authority>,
    /// New memo key and voting settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_options: Option<AccountOptions>,
    /// Always empty here.
    #[serde(default)]
    pub extensions: AccountUpdateExtensions,
}

crate::impl_raw_struct!(AccountUpdate {
    fee,
    account,
    owner,
    active,
    new_options,
    extensions
});

impl AccountUpdate {
    /// Whether the update needs the account's owner authority rather than its active one
    /// (`is_owner_update`): it replaces the owner.
    pub fn is_owner_update(&self) -> bool {
        self.owner.is_some()
    }
}

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

pub(super) fn validate_account_create(op: &AccountCreate) -> Result<(), InvalidOperation> {
    if let Err(e) = name::is_valid_name(&op.name) {
        return check(false, "is_valid_name( name )", || e.to_string());
    }
    check(
        op.referrer_percent <= PERCENT_100,
        "referrer_percent <= GRAPHENE_100_PERCENT",
        || format!("{} exceeds {PERCENT_100}", op.referrer_percent),
    )?;
    for (role, auth) in [("owner", &op.owner), ("active", &op.active)] {
        check_new_authority(role, auth, "create")?;
    }
    validate_options(&op.options)
}

pub(super) fn validate_account_update(op: &AccountUpdate) -> Result<(), InvalidOperation> {
    check(
        op.account != AccountId::TEMP,
        "account != GRAPHENE_TEMP_ACCOUNT",
        || "temp-account (1.2.4) cannot be updated".to_owned(),
    )?;
    check(
        op.account != AccountId::COMMITTEE,
        "account != account_id_type()",
        || "committee-account (1.2.0) cannot be updated with account_update".to_owned(),
    )?;
    check(
        op.owner.is_some() || op.active.is_some() || op.new_options.is_some(),
        "has_action",
        || "the update changes nothing: give an owner, an active authority or new options".to_owned(),
    )?;
    for (role, auth) in [("owner", &op.owner), ("active", &op.active)] {
        if let Some(auth) = auth {
            check_new_authority(role, auth, "update")?;
        }
    }
    op.new_options.as_ref().map_or(Ok(()), validate_options)
}

/// The checks `account_create` and `account_update` make of each authority they set.
fn check_new_authority(role: &str, auth: &Authority, verb: &str) -> Result<(), InvalidOperation> {
    check(auth.num_auths() != 0, "num_auths() != 0", || {
        format!("{role} authority is empty")
    })?;
    check(auth.address_auths.is_empty(), "address_auths.size() == 0", || {
        format!("{role} authority uses addresses")
    })?;
    check(!auth.is_impossible(), "!is_impossible()", || {
        format!("cannot {verb} an account with an impossible {role} authority threshold")
    })
}

fn validate_options(options: &AccountOptions) -> Result<(), InvalidOperation> {
    options.validate().map_err(|msg| InvalidOperation {
        assertion: "needed_witnesses == 0 && needed_committee == 0",
        detail: msg.to_owned(),
    })
}
