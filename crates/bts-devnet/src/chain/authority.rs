//! Authority checks as bitshares-core's `verify_authority` and `sign_state` make them: which
//! accounts must approve, whether the recovered signing keys reach each threshold (directly,
//! through the owner authority, or through other accounts up to `max_authority_depth` levels),
//! and whether any signature was not needed.

use super::errors;
use super::json::to_value;
use super::state::State;
use bts_protocol::{AccountId, Authority, PublicKey, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// The accounts whose active authority the transaction needs (each operation's fee payer).
pub(crate) fn required_active(tx: &Transaction) -> BTreeSet<AccountId> {
    tx.operations.iter().map(|op| op.fee_payer()).collect()
}

/// `sign_state`: signatures provided (and whether each was used), keys that could sign, and
/// accounts already known to approve.
struct SignState<'a> {
    state: &'a State,
    provided: BTreeMap<PublicKey, bool>,
    available: &'a BTreeSet<PublicKey>,
    approved_by: BTreeSet<AccountId>,
    max_depth: u32,
}

impl<'a> SignState<'a> {
    fn new(
        state: &'a State,
        signers: &BTreeSet<PublicKey>,
        available: &'a BTreeSet<PublicKey>,
        max_depth: u32,
    ) -> SignState<'a> {
        SignState {
            state,
            provided: signers.iter().map(|k| (*k, false)).collect(),
            available,
            // The node treats temp-account as approved by everyone.
            approved_by: [AccountId::TEMP].into_iter().collect(),
            max_depth,
        }
    }

    /// Whether `key` signed (or could sign); marks it as used.
    fn signed_by(&mut self, key: &PublicKey) -> bool {
        if let Some(used) = self.provided.get_mut(key) {
            *used = true;
            return true;
        }
        if self.available.contains(key) {
            self.provided.insert(*key, true);
            return true;
        }
        false
    }

    /// `check_authority(account_id)`: approved before, or its active authority is satisfied.
    fn check_account(&mut self, id: AccountId) -> bool {
        if self.approved_by.contains(&id) {
            return true;
        }
        match self.state.account(id) {
            Some(a) => self.check(&a.active, 0),
            None => false,
        }
    }

    /// `check_authority(authority, depth)`: keys first, then accounts (their active or owner
    /// authority, one level deeper), stopping as soon as the threshold is reached.
    fn check(&mut self, auth: &'a Authority, depth: u32) -> bool {
        let threshold = u64::from(auth.weight_threshold);
        let mut total = 0u64;
        for (key, weight) in auth.key_auths.iter() {
            if self.signed_by(key) {
                total += u64::from(*weight);
                if total >= threshold {
                    return true;
                }
            }
        }
        for (id, weight) in auth.account_auths.iter() {
            if !self.approved_by.contains(id) {
                if depth == self.max_depth {
                    continue;
                }
                let Some(account) = self.state.account(*id) else {
                    continue;
                };
                if self.check(&account.active, depth + 1) || self.check(&account.owner, depth + 1) {
                    self.approved_by.insert(*id);
                } else {
                    continue;
                }
            }
            total += u64::from(*weight);
            if total >= threshold {
                return true;
            }
        }
        total >= threshold
    }

    /// Drops unused signatures; true if there were any.
    fn remove_unused(&mut self) -> bool {
        let before = self.provided.len();
        self.provided.retain(|_, used| *used);
        self.provided.len() != before
    }
}

/// `verify_authority`: every required account approves with the signing keys (its active
/// authority, or its owner authority, which may do anything active may), and every signature
/// is needed.
pub(crate) fn verify_authority(
    state: &State,
    tx: &Transaction,
    signers: &BTreeSet<PublicKey>,
    max_depth: u32,
) -> Result<(), bts_rpc::FcException> {
    let required = required_active(tx);
    if required.contains(&AccountId::COMMITTEE) {
        return Err(errors::committee_approval());
    }
    let none = BTreeSet::new();
    let mut s = SignState::new(state, signers, &none, max_depth);
    for id in required {
        let Some(account) = state.account(id) else {
            return Err(errors::object_not_found(id.into()));
        };
        if !(s.check_account(id) || s.check(&account.owner, 0)) {
            return Err(errors::missing_active_authority(
                id.into(),
                to_value(&account.active),
                to_value(&account.owner),
            ));
        }
    }
    if s.remove_unused() {
        return Err(errors::irrelevant_signature());
    }
    Ok(())
}

/// `get_required_signatures`: the keys among `available` that must still sign.
pub(crate) fn required_signatures(
    state: &State,
    tx: &Transaction,
    signers: &BTreeSet<PublicKey>,
    available: &BTreeSet<PublicKey>,
    max_depth: u32,
) -> BTreeSet<PublicKey> {
    let mut s = SignState::new(state, signers, available, max_depth);
    for id in required_active(tx) {
        if !s.check_account(id)
            && let Some(a) = state.account(id)
        {
            s.check(&a.owner, 0);
        }
    }
    s.remove_unused();
    s.provided
        .keys()
        .filter(|k| available.contains(k) && !signers.contains(k))
        .copied()
        .collect()
}

/// `get_potential_signatures`: every key of the required accounts' active and owner
/// authorities, and of the accounts those name, down to `max_depth`.
pub(crate) fn potential_signatures(state: &State, tx: &Transaction, max_depth: u32) -> BTreeSet<PublicKey> {
    fn collect(state: &State, id: AccountId, depth: u32, max_depth: u32, out: &mut BTreeSet<PublicKey>) {
        let Some(a) = state.account(id) else { return };
        for auth in [&a.active, &a.owner] {
            out.extend(auth.key_auths.iter().map(|(k, _)| *k));
            if depth < max_depth {
                for (other, _) in auth.account_auths.iter() {
                    collect(state, *other, depth + 1, max_depth, out);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for id in required_active(tx) {
        collect(state, id, 0, max_depth, &mut out);
    }
    out
}
