//! Proposals (1.10.N) as bitshares-core's `proposal_evaluator.cpp`, `proposal_object.cpp` and
//! `clear_expired_proposals` handle them: a proposal wraps operations that need approvals its
//! proposer does not hold; accounts and keys add approvals with `proposal_update`; it executes
//! on the update that completes its approvals, or, with a review period, only at its
//! expiration. At expiration it is tried once more if approved, and removed in any case.

use super::authority::{authorized_to_execute, required};
use super::errors;
use super::evaluate::{Env, OpResult, apply_operation};
use super::json::to_value;
use super::objects::{kind, oid};
use super::state::State;
use bts_protocol::{AccountId, Operation, ProposalCreate, ProposalId, ProposalUpdate, PublicKey, TimePointSec};
use bts_rpc::FcException;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// `proposal_object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proposal {
    pub(crate) id: ProposalId,
    pub(crate) expiration_time: TimePointSec,
    /// From here on approvals may only be removed; the proposal executes at expiration only.
    pub(crate) review_period_time: Option<TimePointSec>,
    pub(crate) operations: Vec<Operation>,
    pub(crate) required_active_approvals: BTreeSet<AccountId>,
    pub(crate) available_active_approvals: BTreeSet<AccountId>,
    pub(crate) required_owner_approvals: BTreeSet<AccountId>,
    pub(crate) available_owner_approvals: BTreeSet<AccountId>,
    pub(crate) available_key_approvals: BTreeSet<PublicKey>,
    pub(crate) proposer: AccountId,
    /// Why the last execution attempt (on an update) failed; empty if none failed.
    pub(crate) fail_reason: String,
}

impl Proposal {
    /// The object as `get_objects` writes it (the proposed transaction has no TaPoS; its
    /// expiration is the proposal's).
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "expiration_time": self.expiration_time,
            "proposed_transaction": {
                "ref_block_num": 0,
                "ref_block_prefix": 0,
                "expiration": self.expiration_time,
                "operations": self.operations.iter().map(to_value).collect::<Vec<_>>(),
                "extensions": [],
            },
            "required_active_approvals": self.required_active_approvals,
            "available_active_approvals": self.available_active_approvals,
            "required_owner_approvals": self.required_owner_approvals,
            "available_owner_approvals": self.available_owner_approvals,
            "available_key_approvals": self.available_key_approvals,
            "proposer": self.proposer,
            "fail_reason": self.fail_reason,
        });
        if let Some(t) = self.review_period_time {
            v["review_period_time"] = json!(t);
        }
        v
    }

    /// Whether `account` must approve it or has approved it (`required_approval_index`).
    pub(crate) fn involves(&self, account: AccountId) -> bool {
        [
            &self.required_active_approvals,
            &self.required_owner_approvals,
            &self.available_active_approvals,
            &self.available_owner_approvals,
        ]
        .iter()
        .any(|set| set.contains(&account))
    }

    fn is_authorized(&self, state: &State, env: &Env<'_>) -> bool {
        authorized_to_execute(
            state,
            &self.operations,
            &self.available_key_approvals,
            &self.available_active_approvals,
            &self.available_owner_approvals,
            u32::from(env.params.chain.max_authority_depth),
        )
    }
}

const CREATE: errors::Site = errors::site("proposal_evaluator.cpp", 0, "do_evaluate");
const UPDATE: errors::Site = errors::site("proposal_evaluator.cpp", 0, "do_evaluate");

fn ensure(ok: bool, expr: &str, text: &str, data: Value, site: errors::Site) -> Result<(), FcException> {
    if ok {
        Ok(())
    } else {
        Err(errors::fc_assert(expr, text, data, site))
    }
}

/// At most one `proposal_update` directly inside each proposal, at every level of nesting.
fn check_nesting(op: &ProposalCreate) -> Result<(), FcException> {
    let mut updates = 0;
    for w in &op.proposed_ops {
        match &w.op {
            Operation::ProposalUpdate(_) => updates += 1,
            Operation::ProposalCreate(inner) => check_nesting(inner)?,
            _ => {}
        }
    }
    let text = "At most one proposal update can be nested in a proposal!";
    ensure(
        updates <= 1,
        "!already_contains_proposal_update",
        text,
        json!({}),
        CREATE,
    )
}

/// The proposals that `proposal_update`s inside `op` (at any depth) refer to.
fn nested_updates(op: &ProposalCreate, out: &mut Vec<ProposalId>) {
    for w in &op.proposed_ops {
        match &w.op {
            Operation::ProposalUpdate(u) => out.push(u.proposal),
            Operation::ProposalCreate(inner) => nested_updates(inner, out),
            _ => {}
        }
    }
}

/// The approvals a proposal of `ops` needs: accounts needing their owner authority go to the
/// owner set only.
fn approvals(ops: &[Operation]) -> (BTreeSet<AccountId>, BTreeSet<AccountId>, usize) {
    let needed = required(ops);
    let active = needed.active.difference(&needed.owner).copied().collect();
    (active, needed.owner, needed.other.len())
}

pub(crate) fn evaluate_create(env: &Env<'_>, op: &ProposalCreate) -> Result<(), FcException> {
    check_nesting(op)?;
    let now = env.now;
    let p = &env.params.chain;
    ensure(
        op.expiration_time > now,
        "o.expiration_time > block_time",
        "Proposal has already expired on creation.",
        json!({}),
        CREATE,
    )?;
    ensure(
        op.expiration_time <= now.saturating_add(p.maximum_proposal_lifetime),
        "o.expiration_time <= block_time + global_parameters.maximum_proposal_lifetime",
        "Proposal expiration time is too far in the future.",
        json!({}),
        CREATE,
    )?;
    let lifetime = op.expiration_time.secs() - now.secs();
    ensure(
        op.review_period_seconds.is_none_or(|r| r < lifetime),
        "!o.review_period_seconds || fc::seconds( *o.review_period_seconds ) < ( o.expiration_time - block_time )",
        "Proposal review period must be less than its overall lifetime.",
        json!({}),
        CREATE,
    )?;
    let ops: Vec<Operation> = op.proposed_ops.iter().map(|w| w.op.clone()).collect();
    let (active, owner, other) = approvals(&ops);
    ensure(
        other == 0,
        "other.empty()",
        "Proposals containing operations requiring non-account authorities are not yet implemented.",
        json!({}),
        CREATE,
    )?;
    if active.contains(&AccountId::COMMITTEE) || owner.contains(&AccountId::COMMITTEE) {
        let min = p.committee_proposal_review_period;
        match op.review_period_seconds {
            None => return Err(errors::review_period_required(min)),
            Some(t) if t < min => return Err(errors::review_period_insufficient(t, min)),
            Some(_) => {}
        }
    }
    Ok(())
}

pub(crate) fn apply_create(state: &mut State, op: &ProposalCreate) -> Result<OpResult, FcException> {
    let ops: Vec<Operation> = op.proposed_ops.iter().map(|w| w.op.clone()).collect();
    let (active, owner, _) = approvals(&ops);
    let id = state.create_proposal(|id| Proposal {
        id,
        expiration_time: op.expiration_time,
        review_period_time: op
            .review_period_seconds
            .map(|r| TimePointSec(op.expiration_time.secs().saturating_sub(r))),
        operations: ops,
        required_active_approvals: active,
        available_active_approvals: BTreeSet::new(),
        required_owner_approvals: owner,
        available_owner_approvals: BTreeSet::new(),
        available_key_approvals: BTreeSet::new(),
        proposer: op.fee_paying_account,
        fail_reason: String::new(),
    });
    let mut updated = Vec::new();
    nested_updates(op, &mut updated);
    ensure(
        updated.iter().all(|u| u.instance() < id.instance()),
        "vtor_1479.nested_update_count == 0 || proposal.id.instance() > vtor_1479.max_update_instance",
        "Cannot update/delete a proposal with a future id!",
        json!({}),
        errors::site("proposal_evaluator.cpp", 0, "do_apply"),
    )?;
    Ok(OpResult::Object(oid(kind::PROPOSAL, id.instance())))
}

pub(crate) fn evaluate_update(state: &State, env: &Env<'_>, op: &ProposalUpdate) -> Result<(), FcException> {
    let proposal = state
        .proposal(op.proposal)
        .ok_or_else(|| errors::object_not_found(op.proposal.into()))?;
    if let Some(review) = proposal.review_period_time
        && env.now >= review
    {
        ensure(
            op.active_approvals_to_add.is_empty() && op.owner_approvals_to_add.is_empty(),
            "o.active_approvals_to_add.empty() && o.owner_approvals_to_add.empty()",
            "This proposal is in its review period. No new approvals may be added.",
            json!({}),
            UPDATE,
        )?;
    }
    for (removed, available, expr) in [
        (
            &op.active_approvals_to_remove,
            &proposal.available_active_approvals,
            "_proposal->available_active_approvals.find(id) != _proposal->available_active_approvals.end()",
        ),
        (
            &op.owner_approvals_to_remove,
            &proposal.available_owner_approvals,
            "_proposal->available_owner_approvals.find(id) != _proposal->available_owner_approvals.end()",
        ),
    ] {
        if let Some(id) = removed.iter().find(|id| !available.contains(id)) {
            let data = json!({"id": id, "available": available});
            return Err(errors::fc_assert(expr, "", data, UPDATE));
        }
    }
    Ok(())
}

pub(crate) fn apply_update(state: &mut State, env: &Env<'_>, op: &ProposalUpdate) -> OpResult {
    state.modify_proposal(op.proposal, |p| {
        p.available_active_approvals.extend(op.active_approvals_to_add.iter());
        for id in op.active_approvals_to_remove.iter() {
            p.available_active_approvals.remove(id);
        }
        p.available_owner_approvals.extend(op.owner_approvals_to_add.iter());
        for id in op.owner_approvals_to_remove.iter() {
            p.available_owner_approvals.remove(id);
        }
        p.available_key_approvals.extend(op.key_approvals_to_add.iter());
        for key in op.key_approvals_to_remove.iter() {
            p.available_key_approvals.remove(key);
        }
    });
    let Some(proposal) = state.proposal(op.proposal).cloned() else {
        return OpResult::Void;
    };
    // With a review period a proposal executes only at its expiration.
    if proposal.review_period_time.is_none()
        && proposal.is_authorized(state, env)
        && let Err(e) = execute(state, env, &proposal)
    {
        let reason = e.text();
        state.modify_proposal(proposal.id, |p| p.fail_reason = reason);
    }
    OpResult::Void
}

/// `database::push_proposal`: applies the proposed operations together and removes the
/// proposal; on an error nothing of them stays (and the proposal stays).
fn execute(state: &mut State, env: &Env<'_>, proposal: &Proposal) -> Result<(), FcException> {
    // The node's guard against proposals executing each other without end.
    let limit = 2 * state.witnesses.len().saturating_sub(1).max(1) as u32;
    ensure(
        env.proposal_depth < limit,
        "counter < db.get_global_properties().active_witnesses.size() * 2",
        "Max proposal nesting depth exceeded!",
        json!({}),
        errors::site("db_block.cpp", 0, "push_proposal"),
    )?;
    let inner = Env {
        proposal_depth: env.proposal_depth + 1,
        ..*env
    };
    let save = state.savepoint();
    for op in &proposal.operations {
        if let Err(e) = apply_operation(state, &inner, op) {
            state.rollback(save);
            return Err(e);
        }
    }
    state.remove_proposal(proposal.id);
    Ok(())
}

/// `clear_expired_proposals`: every proposal whose expiration has come (`env.now` is the new
/// head block's time) executes if approved, and is removed whatever happens. Returns the
/// proposals that executed.
pub(crate) fn clear_expired(state: &mut State, env: &Env<'_>) -> Vec<ProposalId> {
    let mut due: Vec<(TimePointSec, ProposalId)> = state
        .proposals()
        .filter(|p| p.expiration_time <= env.now)
        .map(|p| (p.expiration_time, p.id))
        .collect();
    due.sort();
    let mut executed = Vec::new();
    for (_, id) in due {
        // Read again: executing an earlier one may have approved, executed or removed this one.
        let Some(proposal) = state.proposal(id).cloned() else {
            continue;
        };
        if proposal.is_authorized(state, env) && execute(state, env, &proposal).is_ok() {
            executed.push(proposal.id);
        } else {
            state.remove_proposal(proposal.id);
        }
    }
    executed
}
