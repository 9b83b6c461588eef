//! The registrar as the proposal wants it, as pure logic: what its balance still pays for (the
//! cost of one registration now, fee scaling included, and how many the balance covers), and
//! the operations that set it up (`account_upgrade`, `account_update` to a committee owner and
//! the faucet's key) and rotate its key (a `proposal_create` wrapping an `account_update`).
//! Shared by the faucet (stats, metrics, the low-balance warning) and `bts-infra registrar`,
//! which does the node IO.

use bts_protocol::{
    AccountCreate, AccountId, AccountOptions, AccountUpdate, AccountUpgrade, Asset, Authority, OpWrapper, Operation,
    ProposalCreate, PublicKey, TimePointSec,
};
use serde::Serialize;

/// An account_create of the size the faucet sends (three keys, a cheap name), to ask the node
/// what one registration costs: names with a digit or a dash pay the basic fee, which the chain
/// scales up as registrations accumulate within a maintenance interval.
pub fn probe_registration(registrar: AccountId, key: PublicKey) -> Operation {
    AccountCreate {
        fee: Asset::core(0),
        registrar,
        referrer: registrar,
        referrer_percent: 7000,
        name: "probe-registration-1".into(),
        owner: Authority::single_key(key),
        active: Authority::single_key(key),
        options: AccountOptions::no_votes(key),
        extensions: Default::default(),
    }
    .into()
}

/// The registrar's funding, in satoshis of the core asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Funding {
    /// Core balance.
    pub balance: i64,
    /// What one registration costs now.
    pub registration_fee: i64,
    /// How many registrations the balance pays for at that fee.
    pub registrations_left: i64,
}

impl Funding {
    /// The funding for `balance` at `registration_fee` (a fee of 0 pays for any number).
    pub fn new(balance: i64, registration_fee: i64) -> Funding {
        let registrations_left = if registration_fee > 0 {
            balance.max(0) / registration_fee
        } else {
            i64::MAX
        };
        Funding {
            balance,
            registration_fee,
            registrations_left,
        }
    }
}

/// The owner authority a registrar gets: `owner` (committee-account) alone, weight 1 of 1.
pub fn owned_by(owner: AccountId) -> Authority {
    Authority {
        weight_threshold: 1,
        account_auths: [(owner, 1)].into_iter().collect(),
        key_auths: Default::default(),
        address_auths: Default::default(),
    }
}

/// The operations of `registrar setup`, fees unset: an upgrade to lifetime member first when
/// `upgrade`, then the update of what changes (the owner must change: the update is signed by
/// the current owner key).
pub fn setup_operations(
    registrar: AccountId,
    upgrade: bool,
    owner: Authority,
    active: Option<Authority>,
) -> Vec<Operation> {
    let upgrade = upgrade.then(|| {
        AccountUpgrade {
            fee: Asset::core(0),
            account_to_upgrade: registrar,
            upgrade_to_lifetime_member: true,
            extensions: Default::default(),
        }
        .into()
    });
    let update = AccountUpdate {
        fee: Asset::core(0),
        account: registrar,
        owner: Some(owner),
        active,
        new_options: None,
        extensions: Default::default(),
    };
    upgrade.into_iter().chain([update.into()]).collect()
}

/// The account_update that gives `registrar` the single active key `key`, fee unset.
pub fn new_active_key(registrar: AccountId, key: PublicKey) -> Operation {
    AccountUpdate {
        fee: Asset::core(0),
        account: registrar,
        owner: None,
        active: Some(Authority::single_key(key)),
        new_options: None,
        extensions: Default::default(),
    }
    .into()
}

/// The review period the chain demands for proposing `op`: the committee's when
/// committee-account itself must approve it, else none.
pub fn required_review_period(op: &Operation, committee_review_period: u32) -> Option<u32> {
    let required = op.required_authorities();
    let committee = required.active.contains(&AccountId::COMMITTEE) || required.owner.contains(&AccountId::COMMITTEE);
    committee.then_some(committee_review_period)
}

/// A proposal of `op`, proposed and paid by `payer`, fees unset.
pub fn proposal(payer: AccountId, op: Operation, expiration_time: TimePointSec, review: Option<u32>) -> Operation {
    ProposalCreate {
        fee: Asset::core(0),
        fee_paying_account: payer,
        expiration_time,
        proposed_ops: vec![OpWrapper { op }],
        review_period_seconds: review,
        extensions: Default::default(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committee_owned_registrars_key_needs_no_review_period() {
        let key = PublicKey::null(bts_protocol::Prefix::BTS);
        let registrar = AccountId::new(7).unwrap();
        // The update needs the registrar's own authority, which the committee holds as owner.
        assert_eq!(required_review_period(&new_active_key(registrar, key), 1_209_600), None);
        let of_committee = new_active_key(AccountId::COMMITTEE, key);
        assert_eq!(required_review_period(&of_committee, 1_209_600), Some(1_209_600));
    }

    #[test]
    fn setup_upgrades_first_and_always_sets_the_owner() {
        let registrar = AccountId::new(7).unwrap();
        let ops = setup_operations(registrar, true, owned_by(AccountId::COMMITTEE), None);
        assert_eq!(
            ops.iter().map(Operation::name).collect::<Vec<_>>(),
            ["account_upgrade", "account_update"]
        );
        let Operation::AccountUpdate(u) = &ops[1] else { panic!() };
        assert!(u.is_owner_update() && u.active.is_none());
        assert_eq!(
            setup_operations(registrar, false, owned_by(AccountId::COMMITTEE), None).len(),
            1
        );
    }

    #[test]
    fn registrations_left_rounds_down() {
        assert_eq!(Funding::new(1_000, 300).registrations_left, 3);
        assert_eq!(Funding::new(-5, 300).registrations_left, 0);
        assert_eq!(Funding::new(5, 0).registrations_left, i64::MAX);
    }
}
