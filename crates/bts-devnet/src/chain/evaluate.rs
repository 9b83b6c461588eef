//! Operation evaluators, as bitshares-core's `generic_evaluator` runs them: `prepare_fee` (the
//! payer and the fee asset exist), the fee check against the schedule, `do_evaluate`, then
//! `pay_fee` (into the payer's pending fees), `do_apply`, and finally the fee leaves the payer's
//! balance (`adjust_balance`, which fails on an insufficient balance).

use super::errors;
use super::genesis::make_lifetime_member;
use super::globals::Globals;
use super::json::to_value;
use super::objects::{Account, kind, oid, pretty_amount};
use super::params::Parameters;
use super::proposals;
use super::state::State;
use bts_protocol::{
    AccountCreate, AccountId, AccountOptions, AccountUpdate, AccountUpgrade, Asset, AssetId, Authority, ObjectId,
    Operation, Prefix, TimePointSec, Transfer, VoteType,
};
use bts_rpc::FcException;
use serde_json::{Value, json};

/// What an evaluator needs besides the state: the rules, "now" and the block being built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub(crate) params: &'a Parameters,
    /// How deep inside executing proposals this runs (0 for a transaction's own operations).
    pub(crate) proposal_depth: u32,
    pub(crate) prefix: Prefix,
    /// `head_block_time()`: the time expiration and membership are judged at.
    pub(crate) now: TimePointSec,
    /// The block the transaction goes into (the head block while pending, as on the node).
    pub(crate) block_num: u32,
    pub(crate) block_time: TimePointSec,
}

impl<'a> Env<'a> {
    /// Where a pending transaction is judged: at the head block's time, and the objects it
    /// creates carry the head block's number and time until the next block applies it again
    /// (as on the node).
    pub(crate) fn pending(params: &'a Parameters, prefix: Prefix, head: u32, now: TimePointSec) -> Env<'a> {
        Env {
            params,
            proposal_depth: 0,
            prefix,
            now,
            block_num: head,
            block_time: now,
        }
    }
}

/// An `operation_result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpResult {
    /// `void_result`, `[0,{}]`.
    Void,
    /// `object_id_type`, `[1,"1.2.N"]`.
    Object(ObjectId),
}

impl OpResult {
    pub(crate) fn to_json(self) -> Value {
        match self {
            OpResult::Void => json!([0, {}]),
            OpResult::Object(id) => json!([1, id]),
        }
    }
}

fn pretty(env: &Env<'_>, amount: i64) -> String {
    pretty_amount(amount, 5, env.prefix.as_str())
}

fn account(state: &State, id: AccountId) -> Result<&Account, FcException> {
    state.account(id).ok_or_else(|| errors::object_not_found(id.into()))
}

fn asset_exists(asset: AssetId) -> Result<(), FcException> {
    if asset == AssetId::CORE {
        Ok(())
    } else {
        Err(errors::object_not_found(asset.into()))
    }
}

/// `database::adjust_balance`.
pub(crate) fn adjust_balance(
    state: &mut State,
    env: &Env<'_>,
    owner: AccountId,
    delta: Asset,
) -> Result<(), FcException> {
    if delta.amount == 0 {
        return Ok(());
    }
    let name = || state.account(owner).map(|a| a.name.clone()).unwrap_or_default();
    let current = state.balance_object(owner, delta.asset_id).map(|b| b.amount);
    let fails = match current {
        None => delta.amount < 0,
        Some(balance) => delta.amount < 0 && balance < -delta.amount,
    };
    if fails {
        let balance = pretty(env, current.unwrap_or(0));
        let required = pretty(env, delta.amount.saturating_neg());
        return Err(errors::insufficient_balance(
            current.is_some(),
            &name(),
            &balance,
            &required,
        ));
    }
    state.set_balance(owner, delta.asset_id, current.unwrap_or(0) + delta.amount);
    Ok(())
}

/// Evaluates and applies one operation; on error the caller rolls the state back.
pub(crate) fn apply_operation(state: &mut State, env: &Env<'_>, op: &Operation) -> Result<OpResult, FcException> {
    let result = evaluate_and_apply(state, env, op);
    result.map_err(|e| {
        errors::captured(
            e,
            errors::site("db_block.cpp", 0, "apply_operation"),
            json!({"op": to_value(op)}),
        )
    })
}

fn evaluate_and_apply(state: &mut State, env: &Env<'_>, op: &Operation) -> Result<OpResult, FcException> {
    // prepare_fee
    let fee = op.fee();
    if fee.amount < 0 {
        return Err(errors::invalid("fee.amount >= 0", ""));
    }
    let payer = op.fee_payer();
    account(state, payer)?;
    asset_exists(fee.asset_id)?;
    let required = env.params.fees.calculate(op, state.globals().basic_fee)?;
    if fee.amount < required {
        return Err(errors::insufficient_fee(fee.amount, required));
    }
    match op {
        Operation::Transfer(t) => evaluate_transfer(state, env, t)?,
        Operation::AccountCreate(c) => evaluate_account_create(state, env, c)?,
        Operation::AccountUpdate(u) => evaluate_account_update(state, env, u)?,
        Operation::AccountUpgrade(u) => evaluate_account_upgrade(state, u)?,
        Operation::ProposalCreate(p) => proposals::evaluate_create(env, p)?,
        Operation::ProposalUpdate(p) => proposals::evaluate_update(state, env, p)?,
    }
    // pay_fee: the fee waits in the payer's statistics until maintenance processes it. Sums
    // saturate: a fee beyond the payer's balance fails below and is rolled back anyway.
    let threshold = env.params.chain.cashback_vesting_threshold;
    state.modify_stats(payer, |s| {
        if fee.amount > threshold {
            s.pending_fees = s.pending_fees.saturating_add(fee.amount);
        } else {
            s.pending_vested_fees = s.pending_vested_fees.saturating_add(fee.amount);
        }
    });
    let result = match op {
        Operation::Transfer(t) => {
            adjust_balance(
                state,
                env,
                t.from,
                Asset {
                    amount: -t.amount.amount,
                    ..t.amount
                },
            )?;
            adjust_balance(state, env, t.to, t.amount)?;
            OpResult::Void
        }
        Operation::AccountCreate(c) => apply_account_create(state, env, c),
        Operation::AccountUpdate(u) => apply_account_update(state, u),
        Operation::AccountUpgrade(u) => apply_account_upgrade(state, u)?,
        Operation::ProposalCreate(p) => proposals::apply_create(state, p)?,
        Operation::ProposalUpdate(p) => proposals::apply_update(state, env, p),
    };
    adjust_balance(
        state,
        env,
        payer,
        Asset {
            amount: -fee.amount,
            ..fee
        },
    )?;
    Ok(result)
}

fn evaluate_transfer(state: &State, env: &Env<'_>, t: &Transfer) -> Result<(), FcException> {
    let from = account(state, t.from)?;
    let to = account(state, t.to)?;
    asset_exists(t.amount.asset_id)?;
    let balance = state.balance(t.from, t.amount.asset_id);
    if balance < t.amount.amount {
        return Err(errors::transfer_insufficient_balance(
            &pretty(env, balance),
            &pretty(env, t.amount.amount),
            &from.name,
            &to.name,
        ));
    }
    Ok(())
}

/// `verify_authority_accounts`: not too many entries, and every named account exists; the
/// errors carry the operation's name and tag (`op`).
fn verify_authority_accounts(
    state: &State,
    env: &Env<'_>,
    auth: &Authority,
    op: (&str, i64),
) -> Result<(), FcException> {
    if auth.num_auths() > usize::from(env.params.chain.maximum_authority_membership) {
        return Err(errors::max_auth_exceeded(op.0, op.1));
    }
    match auth.account_auths.iter().find(|(id, _)| state.account(*id).is_none()) {
        Some((id, _)) => Err(errors::auth_account_not_found(op.0, op.1, (*id).into())),
        None => Ok(()),
    }
}

/// `verify_account_votes`: counts within the limits and every vote for an existing candidate.
fn verify_account_votes(state: &State, env: &Env<'_>, o: &AccountOptions) -> Result<(), FcException> {
    let p = &env.params.chain;
    if o.num_witness > p.maximum_witness_count {
        let text = "Voted for more witnesses than currently allowed (${c})";
        let expr = "options.num_witness <= chain_params.maximum_witness_count";
        return Err(errors::vote(expr, text, json!({"c": p.maximum_witness_count})));
    }
    if o.num_committee > p.maximum_committee_count {
        let text = "Voted for more committee members than currently allowed (${c})";
        let expr = "options.num_committee <= chain_params.maximum_committee_count";
        return Err(errors::vote(expr, text, json!({"c": p.maximum_committee_count})));
    }
    for vote in o.votes.iter() {
        if vote.instance() >= state.next_vote_id() {
            return Err(errors::vote("id < max_vote_id", "", json!({})));
        }
    }
    for vote in o.votes.iter() {
        let (exists, expr) = match vote.kind() {
            Some(VoteType::Committee) => (
                state.committee.iter().any(|m| m.vote_id == *vote),
                "committee_idx.find(id) != committee_idx.end()",
            ),
            Some(VoteType::Witness) => (
                state.witnesses.iter().skip(1).any(|w| w.vote_id == *vote),
                "witness_idx.find(id) != witness_idx.end()",
            ),
            _ => (false, "approve_worker_idx.find( id ) != approve_worker_idx.end()"),
        };
        if !exists {
            return Err(errors::vote(expr, "", json!({})));
        }
    }
    Ok(())
}

fn evaluate_account_create(state: &State, env: &Env<'_>, c: &AccountCreate) -> Result<(), FcException> {
    if state.account(c.options.voting_account).is_none() {
        return Err(errors::invalid_proxy());
    }
    if !account(state, c.registrar)?.is_lifetime_member() {
        return Err(errors::registrar_not_lifetime_member());
    }
    if !account(state, c.referrer)?.is_member(env.now) {
        return Err(errors::referrer_not_member());
    }
    verify_authority_accounts(state, env, &c.owner, ("account_create", 5))?;
    verify_authority_accounts(state, env, &c.active, ("account_create", 5))?;
    verify_account_votes(state, env, &c.options)?;
    if state.account_by_name(&c.name).is_some() {
        return Err(errors::account_exists(&c.name));
    }
    Ok(())
}

fn apply_account_create(state: &mut State, env: &Env<'_>, c: &AccountCreate) -> OpResult {
    let p = &env.params.chain;
    let lifetime_referrer = state.account(c.referrer).map_or(c.referrer, |r| r.lifetime_referrer);
    let id = state.next_account_id();
    state.create_account(Account {
        id,
        membership_expiration_date: TimePointSec(0),
        registrar: c.registrar,
        referrer: c.referrer,
        lifetime_referrer,
        network_fee_percentage: p.network_percent_of_fee,
        lifetime_referrer_fee_percentage: p.lifetime_referrer_percent_of_fee,
        referrer_rewards_percentage: c.referrer_percent,
        name: c.name.clone(),
        owner: c.owner.clone(),
        active: c.active.clone(),
        options: c.options.clone(),
        creation_block_num: env.block_num,
        creation_time: env.block_time,
    });
    let (per_scale, shifts) = (
        u32::from(p.accounts_per_fee_scale.max(1)),
        p.account_fee_scale_bitshifts,
    );
    state.modify_globals(|g: &mut Globals| {
        g.dgp.accounts_registered_this_interval += 1;
        if g.dgp.accounts_registered_this_interval.is_multiple_of(per_scale) && shifts != 0 {
            g.basic_fee = g.basic_fee.checked_shl(u32::from(shifts)).unwrap_or(u64::MAX);
        }
    });
    OpResult::Object(oid(kind::ACCOUNT, id.instance()))
}

fn evaluate_account_update(state: &State, env: &Env<'_>, u: &AccountUpdate) -> Result<(), FcException> {
    for auth in u.owner.iter().chain(&u.active) {
        verify_authority_accounts(state, env, auth, ("account_update", 6))?;
    }
    account(state, u.account)?;
    if let Some(options) = &u.new_options {
        if state.account(options.voting_account).is_none() {
            return Err(errors::invalid_proxy());
        }
        verify_account_votes(state, env, options)?;
    }
    Ok(())
}

fn apply_account_update(state: &mut State, u: &AccountUpdate) -> OpResult {
    state.modify_account(u.account, |a| {
        if let Some(owner) = &u.owner {
            a.owner = owner.clone();
        }
        if let Some(active) = &u.active {
            a.active = active.clone();
        }
        if let Some(options) = &u.new_options {
            a.options = options.clone();
        }
    });
    OpResult::Void
}

fn evaluate_account_upgrade(state: &State, u: &AccountUpgrade) -> Result<(), FcException> {
    let a = account(state, u.account_to_upgrade)?;
    if a.is_lifetime_member() {
        return Err(errors::already_lifetime_member(&a.name));
    }
    Ok(())
}

fn apply_account_upgrade(state: &mut State, u: &AccountUpgrade) -> Result<OpResult, FcException> {
    if !u.upgrade_to_lifetime_member {
        // Annual memberships ended with hardfork 613 (2017); the node still accepts the fee
        // check, then refuses here.
        return Err(errors::annual_membership_disabled());
    }
    let processed = process_fees(state, u.account_to_upgrade);
    state.modify_account(u.account_to_upgrade, make_lifetime_member);
    burn(state, processed);
    Ok(OpResult::Void)
}

/// `account_statistics_object::process_fees`, simplified: pending fees count as paid for good
/// (`lifetime_fees_paid`); the devnet pays no cashback, so the amount leaves the supply.
/// Returns the amount processed.
pub(crate) fn process_fees(state: &mut State, id: AccountId) -> i64 {
    let Some(s) = state.stats(id) else { return 0 };
    let pending = s.pending_fees.saturating_add(s.pending_vested_fees);
    if pending == 0 {
        return 0;
    }
    state.modify_stats(id, |s| {
        s.lifetime_fees_paid = s.lifetime_fees_paid.saturating_add(pending);
        s.pending_fees = 0;
        s.pending_vested_fees = 0;
    });
    pending
}

/// Removes processed fees from the core supply.
pub(crate) fn burn(state: &mut State, amount: i64) {
    if amount != 0 {
        state.modify_globals(|g| g.current_supply = g.current_supply.saturating_sub(amount));
    }
}
