//! The chain state with an undo log, like the node's undo database: every change made through
//! a mutator records what it replaced, so a failed transaction (or the whole pending state, when
//! a block is produced) can be rolled back exactly.

use super::globals::Globals;
use super::objects::{Account, Balance, CommitteeMember, Statistics, Witness, kind, oid};
use super::proposals::Proposal;
use bts_protocol::{AccountId, AssetId, ObjectId, ProposalId, TimePointSec, TransactionId};
use std::collections::{BTreeMap, BTreeSet};

/// What a mutation replaced.
#[derive(Debug, Clone)]
enum Undo {
    /// An account was modified.
    Account(usize, Box<Account>),
    /// An account's statistics were modified.
    Stats(usize, Statistics),
    /// An account (and its statistics) was created (the last one).
    AccountCreated,
    /// A balance was modified.
    Balance(usize, Balance),
    /// A balance object was created (the last one).
    BalanceCreated,
    /// The chain-wide values were modified.
    Globals(Box<Globals>),
    /// A transaction id entered the duplicate-check window.
    RecentTx(TransactionId),
    /// A proposal was created, modified or removed: what it was before (`None`: it did not exist).
    Proposal(ProposalId, Option<Box<Proposal>>),
    /// The proposal counter moved on.
    NextProposal(u64),
}

/// Everything transactions read and write, plus the witnesses and committee.
#[derive(Debug, Clone)]
pub(crate) struct State {
    accounts: Vec<Account>,
    /// Statistics (2.6.N) of account 1.2.N, at index N.
    stats: Vec<Statistics>,
    names: BTreeMap<String, AccountId>,
    balances: Vec<Balance>,
    balance_index: BTreeMap<(AccountId, AssetId), usize>,
    pub(crate) witnesses: Vec<Witness>,
    pub(crate) committee: Vec<CommitteeMember>,
    globals: Globals,
    /// Open proposals (1.10.N) by instance, and the next instance to hand out.
    proposals: BTreeMap<u64, Proposal>,
    next_proposal: u64,
    /// Ids of transactions not yet expired, for the duplicate check (`transaction_index`).
    recent_txs: BTreeMap<TransactionId, TimePointSec>,
    undo: Vec<Undo>,
    changed: BTreeSet<ObjectId>,
}

impl State {
    /// An empty state with these chain-wide values; genesis fills it.
    pub(crate) fn new(globals: Globals) -> State {
        State {
            accounts: Vec::new(),
            stats: Vec::new(),
            names: BTreeMap::new(),
            balances: Vec::new(),
            balance_index: BTreeMap::new(),
            witnesses: Vec::new(),
            committee: Vec::new(),
            globals,
            proposals: BTreeMap::new(),
            next_proposal: 0,
            recent_txs: BTreeMap::new(),
            undo: Vec::new(),
            changed: BTreeSet::new(),
        }
    }

    // --- Reads ---

    pub(crate) fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub(crate) fn account(&self, id: AccountId) -> Option<&Account> {
        usize::try_from(id.instance()).ok().and_then(|i| self.accounts.get(i))
    }

    /// An account's statistics.
    pub(crate) fn stats(&self, id: AccountId) -> Option<&Statistics> {
        usize::try_from(id.instance()).ok().and_then(|i| self.stats.get(i))
    }

    pub(crate) fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.names.get(name).and_then(|id| self.account(*id))
    }

    /// Accounts by name from `lower_bound` on, in name order.
    pub(crate) fn names_from<'a>(&'a self, lower_bound: &str) -> impl Iterator<Item = (&'a String, &'a AccountId)> {
        self.names.range(lower_bound.to_owned()..)
    }

    /// The id the next account will get.
    pub(crate) fn next_account_id(&self) -> AccountId {
        AccountId::new(self.accounts.len() as u64).expect("account counts stay far below 2^48")
    }

    pub(crate) fn balances(&self) -> &[Balance] {
        &self.balances
    }

    pub(crate) fn balance_object(&self, owner: AccountId, asset: AssetId) -> Option<&Balance> {
        self.balance_index.get(&(owner, asset)).map(|i| &self.balances[*i])
    }

    /// The balance, 0 without a balance object.
    pub(crate) fn balance(&self, owner: AccountId, asset: AssetId) -> i64 {
        self.balance_object(owner, asset).map_or(0, |b| b.amount)
    }

    /// An account's balance objects in asset order.
    pub(crate) fn balances_of(&self, owner: AccountId) -> impl Iterator<Item = &Balance> {
        let first = (owner, AssetId::CORE);
        self.balance_index
            .range(first..)
            .take_while(move |((o, _), _)| *o == owner)
            .map(|(_, i)| &self.balances[*i])
    }

    pub(crate) fn globals(&self) -> &Globals {
        &self.globals
    }

    /// The first vote id not yet handed out (`next_available_vote_id`): one past the witnesses'
    /// and committee members' votes.
    pub(crate) fn next_vote_id(&self) -> u32 {
        let witnesses = self.witnesses.iter().skip(1).map(|w| w.vote_id.instance());
        let members = self.committee.iter().map(|m| m.vote_id.instance());
        witnesses.chain(members).max().map_or(0, |m| m + 1)
    }

    pub(crate) fn is_recent_tx(&self, id: &TransactionId) -> bool {
        self.recent_txs.contains_key(id)
    }

    pub(crate) fn proposal(&self, id: ProposalId) -> Option<&Proposal> {
        self.proposals.get(&id.instance())
    }

    /// Open proposals in id order.
    pub(crate) fn proposals(&self) -> impl Iterator<Item = &Proposal> {
        self.proposals.values()
    }

    // --- Mutations (recorded for undo) ---

    /// Adds an account; its id must be [`State::next_account_id`].
    pub(crate) fn create_account(&mut self, account: Account) {
        debug_assert_eq!(account.id, self.next_account_id());
        self.changed.insert(account.id.into());
        self.changed.insert(account.stats_id());
        self.names.insert(account.name.clone(), account.id);
        self.accounts.push(account);
        self.stats.push(Statistics::default());
        self.undo.push(Undo::AccountCreated);
    }

    /// Modifies an existing account; unknown ids are ignored.
    pub(crate) fn modify_account(&mut self, id: AccountId, f: impl FnOnce(&mut Account)) {
        let Some(i) = usize::try_from(id.instance()).ok().filter(|i| *i < self.accounts.len()) else {
            return;
        };
        let before = self.accounts[i].clone();
        f(&mut self.accounts[i]);
        self.changed.insert(id.into());
        self.undo.push(Undo::Account(i, Box::new(before)));
    }

    /// Modifies an existing account's statistics; unknown ids are ignored.
    pub(crate) fn modify_stats(&mut self, id: AccountId, f: impl FnOnce(&mut Statistics)) {
        let Some(i) = usize::try_from(id.instance()).ok().filter(|i| *i < self.stats.len()) else {
            return;
        };
        let before = self.stats[i];
        f(&mut self.stats[i]);
        self.changed.insert(oid(kind::ACCOUNT_STATISTICS, id.instance()));
        self.undo.push(Undo::Stats(i, before));
    }

    /// Sets a balance, creating the balance object the first time.
    pub(crate) fn set_balance(&mut self, owner: AccountId, asset: AssetId, amount: i64) {
        let core = asset == AssetId::CORE;
        match self.balance_index.get(&(owner, asset)) {
            Some(&i) => {
                self.undo.push(Undo::Balance(i, self.balances[i].clone()));
                let b = &mut self.balances[i];
                b.amount = amount;
                b.maintenance_flag |= core;
                self.changed.insert(b.id());
            }
            None => {
                let b = Balance {
                    instance: self.balances.len() as u64,
                    owner,
                    asset,
                    amount,
                    maintenance_flag: core,
                };
                self.changed.insert(b.id());
                self.balance_index.insert((owner, asset), self.balances.len());
                self.balances.push(b);
                self.undo.push(Undo::BalanceCreated);
            }
        }
    }

    /// Clears every balance's maintenance flag (maintenance has counted the balances).
    pub(crate) fn clear_maintenance_flags(&mut self) {
        for i in 0..self.balances.len() {
            if self.balances[i].maintenance_flag {
                self.undo.push(Undo::Balance(i, self.balances[i].clone()));
                self.balances[i].maintenance_flag = false;
                self.changed.insert(self.balances[i].id());
            }
        }
    }

    /// Modifies the chain-wide values.
    pub(crate) fn modify_globals(&mut self, f: impl FnOnce(&mut Globals)) {
        let before = self.globals.clone();
        f(&mut self.globals);
        if self.globals.dgp != before.dgp {
            self.changed.insert(oid(kind::DYNAMIC_GLOBAL_PROPERTIES, 0));
        }
        if self.globals.current_supply != before.current_supply {
            self.changed.insert(oid(kind::ASSET_DYNAMIC_DATA, 0));
        }
        if self.globals.basic_fee != before.basic_fee {
            self.changed.insert(oid(kind::GLOBAL_PROPERTIES, 0));
        }
        self.undo.push(Undo::Globals(Box::new(before)));
    }

    /// Enters a transaction into the duplicate-check window until it expires.
    pub(crate) fn insert_recent_tx(&mut self, id: TransactionId, expiration: TimePointSec) {
        self.recent_txs.insert(id, expiration);
        self.undo.push(Undo::RecentTx(id));
    }

    /// Drops transactions that expired before `now` (`clear_expired_transactions`).
    pub(crate) fn clear_expired_txs(&mut self, now: TimePointSec) {
        self.recent_txs.retain(|_, expiration| *expiration >= now);
    }

    /// Creates a proposal with the next id, which `make` receives.
    pub(crate) fn create_proposal(&mut self, make: impl FnOnce(ProposalId) -> Proposal) -> ProposalId {
        let id = ProposalId::new(self.next_proposal).expect("proposal counts stay far below 2^48");
        self.undo.push(Undo::NextProposal(self.next_proposal));
        self.next_proposal += 1;
        self.set_proposal(id, Some(make(id)));
        id
    }

    /// Modifies an open proposal; unknown ids are ignored.
    pub(crate) fn modify_proposal(&mut self, id: ProposalId, f: impl FnOnce(&mut Proposal)) {
        if let Some(mut p) = self.proposal(id).cloned() {
            f(&mut p);
            self.set_proposal(id, Some(p));
        }
    }

    /// Removes a proposal (executed, expired or deleted).
    pub(crate) fn remove_proposal(&mut self, id: ProposalId) {
        self.set_proposal(id, None);
    }

    fn set_proposal(&mut self, id: ProposalId, value: Option<Proposal>) {
        let before = match value {
            Some(p) => self.proposals.insert(id.instance(), p),
            None => self.proposals.remove(&id.instance()),
        };
        self.changed.insert(id.into());
        self.undo.push(Undo::Proposal(id, before.map(Box::new)));
    }

    /// Marks an object as changed (for objects modified outside the mutators).
    pub(crate) fn mark_changed(&mut self, id: ObjectId) {
        self.changed.insert(id);
    }

    // --- Undo ---

    /// A point to roll back to.
    pub(crate) fn savepoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes every change made after `savepoint`.
    pub(crate) fn rollback(&mut self, savepoint: usize) {
        while self.undo.len() > savepoint {
            let Some(undo) = self.undo.pop() else { break };
            match undo {
                Undo::Account(i, before) => self.accounts[i] = *before,
                Undo::Stats(i, before) => self.stats[i] = before,
                Undo::AccountCreated => {
                    if let Some(a) = self.accounts.pop() {
                        self.names.remove(&a.name);
                    }
                    self.stats.pop();
                }
                Undo::Balance(i, before) => self.balances[i] = before,
                Undo::BalanceCreated => {
                    if let Some(b) = self.balances.pop() {
                        self.balance_index.remove(&(b.owner, b.asset));
                    }
                }
                Undo::Globals(before) => self.globals = *before,
                Undo::RecentTx(id) => {
                    self.recent_txs.remove(&id);
                }
                Undo::Proposal(id, before) => match before {
                    Some(p) => {
                        self.proposals.insert(id.instance(), *p);
                    }
                    None => {
                        self.proposals.remove(&id.instance());
                    }
                },
                Undo::NextProposal(n) => self.next_proposal = n,
            }
        }
    }

    /// Makes every change so far permanent.
    pub(crate) fn commit(&mut self) {
        self.undo.clear();
    }

    /// The objects changed since the last call.
    pub(crate) fn take_changed(&mut self) -> BTreeSet<ObjectId> {
        std::mem::take(&mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::globals::Dgp;
    use super::*;
    use bts_protocol::{AccountOptions, Authority, Prefix, PublicKey};

    fn account(instance: u64, name: &str) -> Account {
        let key = PublicKey::null(Prefix::BTS);
        Account {
            id: AccountId::new(instance).unwrap(),
            membership_expiration_date: TimePointSec(0),
            registrar: AccountId::COMMITTEE,
            referrer: AccountId::COMMITTEE,
            lifetime_referrer: AccountId::COMMITTEE,
            network_fee_percentage: 2000,
            lifetime_referrer_fee_percentage: 3000,
            referrer_rewards_percentage: 0,
            name: name.into(),
            owner: Authority::single_key(key),
            active: Authority::single_key(key),
            options: AccountOptions::no_votes(key),
            creation_block_num: 0,
            creation_time: TimePointSec(0),
        }
    }

    #[test]
    fn rollback_restores_everything() {
        let mut s = State::new(Globals {
            dgp: Dgp::genesis(TimePointSec(0)),
            basic_fee: 1,
            current_supply: 0,
        });
        s.create_account(account(0, "a"));
        s.set_balance(AccountId::COMMITTEE, AssetId::CORE, 5);
        s.commit();
        let snapshot = (
            s.accounts.clone(),
            s.stats.clone(),
            s.balances.clone(),
            s.globals.clone(),
        );
        let save = s.savepoint();
        s.create_account(account(1, "b"));
        s.modify_account(AccountId::COMMITTEE, |a| a.referrer_rewards_percentage = 3);
        s.modify_stats(AccountId::COMMITTEE, |st| st.pending_fees = 3);
        s.set_balance(AccountId::COMMITTEE, AssetId::CORE, 1);
        s.set_balance(AccountId::new(1).unwrap(), AssetId::CORE, 7);
        s.modify_globals(|g| g.basic_fee = 16);
        s.insert_recent_tx(TransactionId::default(), TimePointSec(9));
        assert!(s.account_by_name("b").is_some());
        s.rollback(save);
        assert_eq!(
            (
                s.accounts.clone(),
                s.stats.clone(),
                s.balances.clone(),
                s.globals.clone()
            ),
            snapshot
        );
        assert!(s.account_by_name("b").is_none());
        assert!(!s.is_recent_tx(&TransactionId::default()));
        assert_eq!(s.balance(AccountId::COMMITTEE, AssetId::CORE), 5);
    }
}
