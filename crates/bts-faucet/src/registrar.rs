//! What the registrar's balance still pays for: the cost of one registration now (the node's
//! fee for an account_create as the faucet sends it, fee scaling included) and how many such
//! registrations the balance covers. Shared by the faucet (its `/status`, metrics and the
//! low-balance warning) and `bts-infra registrar status`.

use bts_protocol::{AccountCreate, AccountId, AccountOptions, Asset, Authority, Operation, PublicKey};
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_left_rounds_down() {
        assert_eq!(Funding::new(1_000, 300).registrations_left, 3);
        assert_eq!(Funding::new(-5, 300).registrations_left, 0);
        assert_eq!(Funding::new(5, 0).registrations_left, i64::MAX);
    }
}
