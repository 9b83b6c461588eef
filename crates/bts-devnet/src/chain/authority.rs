//! Authority checks as bitshares-core's `verify_authority` and `sign_state` make them: which
//! accounts must approve, whether the recovered signing keys reach each threshold (directly,
//! through the owner authority, or through other accounts up to `max_authority_depth` levels),
//! and whether any signature was not needed.

use super::errors;
use super::json::to_value;
use super::state::State;
use bts_protocol::{AccountId, Authority, Operation, PublicKey, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// What a list of operations needs approved (`operation_get_required_authorities`): every fee
/// payer's and each operation's other active authorities, owner authorities (an owner update,
/// owner approvals of a proposal) and other authorities (keys approving a proposal).
#[derive(Debug, Default)]
pub(crate) struct Needed {
    pub(crate) active: BTreeSet<AccountId>,
    pub(crate) owner: BTreeSet<AccountId>,
    pub(crate) other: Vec<Authority>,
}

pub(crate) fn required(ops: &[Operation]) -> Needed {
    let mut needed = Needed::default();
    for op in ops {
        let r = op.required_authorities();
        // The node adds the fee payer to the active set first, whatever else the operation needs.
        needed.active.insert(op.fee_payer());
        needed.active.extend(r.active);
        needed.owner.extend(r.owner);
        needed.other.extend(r.other);
    }
    needed
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

    /// Checks `needed` as `verify_authority` does: other authorities, then each active account
    /// (its active authority, or its owner's), then each owner account (approved as owner, or
    /// its owner authority), then that every signature was used. `Err` names what is missing.
    fn verify(&mut self, needed: &'a Needed, owner_approvals: &BTreeSet<AccountId>) -> Result<(), Missing<'a>> {
        for auth in &needed.other {
            if !self.check(auth, 0) {
                return Err(Missing::Other(auth));
            }
        }
        for id in &needed.active {
            let Some(account) = self.state.account(*id) else {
                return Err(Missing::Account(*id));
            };
            if !(self.check_account(*id) || self.check(&account.owner, 0)) {
                return Err(Missing::Active(*id));
            }
        }
        for id in &needed.owner {
            let Some(account) = self.state.account(*id) else {
                return Err(Missing::Account(*id));
            };
            if !(owner_approvals.contains(id) || self.check(&account.owner, 0)) {
                return Err(Missing::Owner(*id));
            }
        }
        if self.remove_unused() {
            return Err(Missing::Unused);
        }
        Ok(())
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

/// Why [`SignState::verify`] failed.
enum Missing<'a> {
    Other(&'a Authority),
    Account(AccountId),
    Active(AccountId),
    Owner(AccountId),
    Unused,
}

/// `verify_authority`: every required account approves with the signing keys (its active
/// authority, or its owner authority, which may do anything active may; its owner authority
/// where the owner must act), every other authority is satisfied, and every signature is
/// needed.
pub(crate) fn verify_authority(
    state: &State,
    tx: &Transaction,
    signers: &BTreeSet<PublicKey>,
    max_depth: u32,
) -> Result<(), bts_rpc::FcException> {
    let needed = required(&tx.operations);
    if needed.active.contains(&AccountId::COMMITTEE) {
        return Err(errors::committee_approval());
    }
    let none = BTreeSet::new();
    let mut s = SignState::new(state, signers, &none, max_depth);
    let authorities = |id: AccountId| {
        let a = state.account(id).expect("verify found the account");
        (to_value(&a.active), to_value(&a.owner))
    };
    match s.verify(&needed, &BTreeSet::new()) {
        Ok(()) => Ok(()),
        Err(Missing::Other(auth)) => Err(errors::missing_other_authority(to_value(auth))),
        Err(Missing::Account(id)) => Err(errors::object_not_found(id.into())),
        Err(Missing::Active(id)) => {
            let (active, owner) = authorities(id);
            Err(errors::missing_active_authority(id.into(), active, owner))
        }
        Err(Missing::Owner(id)) => Err(errors::missing_owner_authority(id.into(), authorities(id).1)),
        Err(Missing::Unused) => Err(errors::irrelevant_signature()),
    }
}

/// `proposal_object::is_authorized_to_execute`: whether the approvals a proposal collected
/// (accounts approving with their active or owner authority, keys approving directly) satisfy
/// everything its operations need. An approving account counts wherever it is named, also
/// inside other accounts' authorities; an approving key that is not needed blocks execution.
pub(crate) fn authorized_to_execute(
    state: &State,
    ops: &[Operation],
    keys: &BTreeSet<PublicKey>,
    active_approvals: &BTreeSet<AccountId>,
    owner_approvals: &BTreeSet<AccountId>,
    max_depth: u32,
) -> bool {
    let needed = required(ops);
    let none = BTreeSet::new();
    let mut s = SignState::new(state, keys, &none, max_depth);
    s.approved_by.extend(active_approvals.iter().chain(owner_approvals));
    s.verify(&needed, owner_approvals).is_ok()
}

/// `get_required_signatures`: the keys among `available` that must still sign.
pub(crate) fn required_signatures(
    state: &State,
    tx: &Transaction,
    signers: &BTreeSet<PublicKey>,
    available: &BTreeSet<PublicKey>,
    max_depth: u32,
) -> BTreeSet<PublicKey> {
    let needed = required(&tx.operations);
    let mut s = SignState::new(state, signers, available, max_depth);
    for auth in &needed.other {
        s.check(auth, 0);
    }
    for id in &needed.active {
        if !s.check_account(*id)
            && let Some(a) = state.account(*id)
        {
            s.check(&a.owner, 0);
        }
    }
    for id in &needed.owner {
        if let Some(a) = state.account(*id) {
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
    let needed = required(&tx.operations);
    let mut out: BTreeSet<PublicKey> = needed
        .other
        .iter()
        .flat_map(|a| a.key_auths.iter().map(|(k, _)| *k))
        .collect();
    for id in needed.active.iter().chain(&needed.owner) {
        collect(state, *id, 0, max_depth, &mut out);
    }
    out
}
