//! account_update and proposals on the devnet, with the node's rules and texts: who must sign an
//! update, how a committee-owned account is changed by a proposal its members approve, review
//! periods, execution at expiry, and the errors on the way.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod common;

use bts_devnet::chain::{Chain, ChainConfig, GenesisAccount};
use bts_protocol::{
    AccountUpdate, Asset, Authority, OpWrapper, Operation, PrivateKey, ProposalCreate, ProposalId, ProposalUpdate,
    TimePointSec,
};
use common::{ALICE, Net, REGISTRAR, assert_assert, assert_error, id, key};
use serde_json::json;

/// A devnet whose committee is init0 and three genesis members (threshold 3 of 4), with a
/// review period short enough to wait for.
fn committee_net() -> Net {
    let mut net = Net::new();
    let mut config: ChainConfig = net.chain.config().clone();
    for name in ["member-a", "member-b", "member-c"] {
        let k = key(name).public_key(net.prefix);
        config.accounts.push(GenesisAccount {
            name: name.into(),
            owner_key: k,
            active_key: k,
            memo_key: k,
            balance: 100_000_000,
            lifetime_member: true,
            committee_member: true,
        });
    }
    config.committee_proposal_review_period = Some(60);
    net.chain = Chain::new(config).unwrap();
    net.time = net.chain.head_block_time();
    net.block();
    net
}

fn update_active(account: &str, new_key: &PrivateKey, n: &Net) -> Operation {
    AccountUpdate {
        fee: Asset::core(0),
        account: id(account),
        owner: None,
        active: Some(Authority::single_key(n.public(new_key))),
        new_options: None,
        extensions: Default::default(),
    }
    .into()
}

fn propose(n: &Net, payer: &str, ops: Vec<Operation>, lifetime: u32, review: Option<u32>) -> Operation {
    let op: Operation = ProposalCreate {
        fee: Asset::core(0),
        fee_paying_account: id(payer),
        expiration_time: n.chain.head_block_time().saturating_add(lifetime),
        proposed_ops: ops.into_iter().map(|op| OpWrapper { op: n.with_fee(op) }).collect(),
        review_period_seconds: review,
        extensions: Default::default(),
    }
    .into();
    n.with_fee(op)
}

fn approve(n: &Net, proposal: ProposalId, who: &str) -> Operation {
    n.with_fee(ProposalUpdate::approve(id(who), proposal, &[id(who)]).into())
}

/// `who` approves `proposal` with its active authority (signed by `k`), in a block.
fn approve_in_block(n: &mut Net, proposal: ProposalId, who: &str, k: &PrivateKey) {
    let op = approve(n, proposal, who);
    push_in_block(n, vec![op], &[k]);
}

/// Pushes `ops` signed by `keys` in a block; the first operation's result.
fn push_in_block(n: &mut Net, ops: Vec<Operation>, keys: &[&PrivateKey]) -> serde_json::Value {
    n.push(ops, keys).unwrap();
    n.block().confirmations[0].trx["operation_results"][0].clone()
}

fn active_key_of(n: &Net, account: &str) -> String {
    n.account(account)["active"]["key_auths"][0][0]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_update_of_active_needs_active_and_of_owner_needs_owner() {
    let mut n = Net::new();
    let (alice, alice_owner, fresh) = (key("alice"), key("alice-owner"), key("fresh"));
    let op = n.with_fee(update_active(ALICE, &fresh, &n));
    push_in_block(&mut n, vec![op], &[&alice]);
    assert_eq!(active_key_of(&n, ALICE), n.public(&fresh).to_string());

    let owner_change: Operation = AccountUpdate {
        fee: Asset::core(0),
        account: id(ALICE),
        owner: Some(Authority::single_key(n.public(&fresh))),
        active: None,
        new_options: None,
        extensions: Default::default(),
    }
    .into();
    let owner_change = n.with_fee(owner_change);
    let e = n.reject(vec![owner_change.clone()], &[&fresh]);
    assert_error(
        &e,
        4_010_002,
        "tx_missing_owner_auth",
        "Execution error: missing required owner authority: Missing Owner Authority 1.2.8",
    );
    push_in_block(&mut n, vec![owner_change], &[&alice_owner]);
    assert_eq!(
        n.account(ALICE)["owner"]["key_auths"][0][0],
        n.public(&fresh).to_string()
    );
}

#[test]
fn account_update_checks_are_the_nodes() {
    let mut n = Net::new();
    let alice = key("alice");
    let mut nothing = update_active(ALICE, &alice, &n);
    if let Operation::AccountUpdate(u) = &mut nothing {
        u.active = None;
    }
    assert_assert(&n.reject(vec![nothing], &[&alice]), "has_action: ");
    let mut impossible = update_active(ALICE, &alice, &n);
    if let Operation::AccountUpdate(u) = &mut impossible {
        u.active.as_mut().unwrap().weight_threshold = 2;
    }
    assert_assert(
        &n.reject(vec![impossible], &[&alice]),
        "!active->is_impossible(): cannot update an account with an imposible active authority threshold",
    );
    let committee = update_active("1.2.0", &alice, &n);
    assert_assert(&n.reject(vec![committee], &[&alice]), "account != account_id_type(): ");
    let mut missing = update_active(ALICE, &alice, &n);
    if let Operation::AccountUpdate(u) = &mut missing {
        u.active.as_mut().unwrap().account_auths = [(id("1.2.99"), 1)].into_iter().collect();
    }
    let e = n.reject(vec![n.with_fee(missing)], &[&alice]);
    assert_error(
        &e,
        3_050_602,
        "account_update_auth_account_not_found",
        "Execution error: Auth account not found: Account 1.2.99 specified in authority does not exist",
    );
}

#[test]
fn the_committee_takes_back_a_registrar_it_owns() {
    // The registrar's owner is committee-account; its active key is the faucet's. A proposal to
    // replace the active key needs the registrar's authority, which the committee's members
    // give through the owner: the proposal executes on the approval that completes a majority.
    let mut n = committee_net();
    let (alice, new_key) = (key("alice"), key("new faucet key"));
    let proposal = propose(&n, ALICE, vec![update_active(REGISTRAR, &new_key, &n)], 3600, None);
    let result = push_in_block(&mut n, vec![proposal], &[&alice]);
    assert_eq!(result, json!([1, "1.10.0"]));
    let pid: ProposalId = "1.10.0".parse().unwrap();

    // The proposal is in the history of the account it would change, as on the node.
    let history = n
        .history("get_account_history", json!(["faucet", "1.11.0", 10, "1.11.0"]))
        .unwrap();
    assert_eq!(history[0]["op"][0], 22, "{history}");
    let listed = n.db("get_proposed_transactions", json!(["faucet"])).unwrap();
    assert_eq!(listed[0]["required_active_approvals"], json!([REGISTRAR]), "{listed}");
    assert_eq!(listed[0]["proposer"], ALICE);
    assert_eq!(listed[0]["proposed_transaction"]["operations"][0][0], 6);

    // Members approve one by one (members are 1.2.9-1.2.11; init0 is the fourth).
    let members = [("1.2.9", key("member-a")), ("1.2.10", key("member-b"))];
    for (member, k) in &members {
        approve_in_block(&mut n, pid, member, k);
        assert_eq!(active_key_of(&n, REGISTRAR), n.public(&n.registrar_key()).to_string());
    }
    let proposal = n.db("get_objects", json!([["1.10.0"]])).unwrap();
    assert_eq!(proposal[0]["available_active_approvals"], json!(["1.2.9", "1.2.10"]));
    approve_in_block(&mut n, pid, "1.2.11", &key("member-c"));
    assert_eq!(active_key_of(&n, REGISTRAR), n.public(&new_key).to_string());
    assert_eq!(n.db("get_objects", json!([["1.10.0"]])).unwrap(), json!([null]));

    // The old key no longer registers; the new one does.
    let op = n.with_fee(n.create_op("after-rotation", &n.public(&new_key)));
    let old = n.registrar_key();
    assert_eq!(n.reject(vec![op.clone()], &[&old]).code, 4_010_001);
    push_in_block(&mut n, vec![op], &[&new_key]);
}

#[test]
fn with_a_review_period_a_proposal_executes_at_expiry() {
    let mut n = committee_net();
    let (alice, new_key) = (key("alice"), key("new faucet key"));
    let proposal = propose(&n, ALICE, vec![update_active(REGISTRAR, &new_key, &n)], 30, Some(12));
    push_in_block(&mut n, vec![proposal], &[&alice]);
    let pid: ProposalId = "1.10.0".parse().unwrap();
    for (member, seed) in [("1.2.9", "member-a"), ("1.2.10", "member-b"), ("1.2.11", "member-c")] {
        approve_in_block(&mut n, pid, member, &key(seed));
    }
    // Approved, but it waits for its expiration.
    assert_eq!(active_key_of(&n, REGISTRAR), n.public(&n.registrar_key()).to_string());
    let object = n.db("get_objects", json!([["1.10.0"]])).unwrap();
    assert!(object[0]["review_period_time"].is_string(), "{object}");
    // In the review period approvals may only be removed.
    n.blocks(3);
    let e = n.reject(vec![approve(&n, pid, "1.2.6")], &[&ChainConfig::witness_key()]);
    assert_assert(
        &e,
        "o.active_approvals_to_add.empty() && o.owner_approvals_to_add.empty(): This proposal is in its review period. \
         No new approvals may be added.",
    );
    let expiration: TimePointSec = object[0]["expiration_time"].as_str().unwrap().parse().unwrap();
    while n.chain.head_block_time() < expiration {
        n.block();
    }
    assert_eq!(active_key_of(&n, REGISTRAR), n.public(&new_key).to_string());
    assert_eq!(n.db("get_objects", json!([["1.10.0"]])).unwrap(), json!([null]));
}

#[test]
fn an_unapproved_proposal_is_removed_at_expiry() {
    let mut n = committee_net();
    let alice = key("alice");
    let proposal = propose(&n, ALICE, vec![update_active(REGISTRAR, &key("x"), &n)], 9, None);
    push_in_block(&mut n, vec![proposal], &[&alice]);
    approve_in_block(&mut n, "1.10.0".parse().unwrap(), "1.2.9", &key("member-a"));
    n.blocks(3);
    assert_eq!(n.db("get_objects", json!([["1.10.0"]])).unwrap(), json!([null]));
    assert_eq!(active_key_of(&n, REGISTRAR), n.public(&n.registrar_key()).to_string());
}

#[test]
fn proposal_rules_and_texts() {
    let mut n = committee_net();
    let alice = key("alice");
    let update = update_active(REGISTRAR, &key("x"), &n);
    let mut expired = propose(&n, ALICE, vec![update.clone()], 3600, None);
    if let Operation::ProposalCreate(p) = &mut expired {
        p.expiration_time = n.chain.head_block_time();
    }
    assert_assert(
        &n.reject(vec![expired], &[&alice]),
        "o.expiration_time > block_time: Proposal has already expired on creation.",
    );
    let too_far = propose(&n, ALICE, vec![update.clone()], 2_419_201, None);
    assert_assert(
        &n.reject(vec![too_far], &[&alice]),
        "o.expiration_time <= block_time + global_parameters.maximum_proposal_lifetime: Proposal expiration time is \
         too far in the future.",
    );
    let long_review = propose(&n, ALICE, vec![update.clone()], 60, Some(60));
    assert!(
        n.reject(vec![long_review], &[&alice])
            .message
            .ends_with("Proposal review period must be less than its overall lifetime."),
    );

    // Operations committee-account itself must approve need the chain's review period.
    let from_committee = n.transfer_op("1.2.0", ALICE, 1);
    let e = n.reject(
        vec![propose(&n, ALICE, vec![from_committee.clone()], 3600, None)],
        &[&alice],
    );
    assert_error(
        &e,
        3_052_201,
        "proposal_create_review_period_required",
        "Execution error: review_period required: Review period not given, but at least 60 required",
    );
    let e = n.reject(
        vec![propose(&n, ALICE, vec![from_committee.clone()], 3600, Some(59))],
        &[&alice],
    );
    assert_eq!(e.code, 3_052_202, "{e:?}");
    n.push(
        vec![propose(&n, ALICE, vec![from_committee], 3600, Some(60))],
        &[&alice],
    )
    .unwrap();

    let e = n.reject(
        vec![approve(&n, "1.10.7".parse().unwrap(), "1.2.9")],
        &[&key("member-a")],
    );
    assert_assert(&e, "maybe_found != nullptr: Unable to find Object");
    assert_eq!(e.data.as_ref().unwrap()["stack"][0]["data"]["id"], "1.10.7");
    let mut remove_absent = ProposalUpdate::approve(id("1.2.9"), "1.10.0".parse().unwrap(), &[]);
    remove_absent.active_approvals_to_remove = [id("1.2.9")].into_iter().collect();
    let e = n.reject(vec![n.with_fee(remove_absent.into())], &[&key("member-a")]);
    assert!(
        e.message
            .contains("_proposal->available_active_approvals.find(id) != _proposal->available_active_approvals.end()"),
        "{e:?}"
    );
    // Approving for another account needs that account's signature.
    let e = n.reject(
        vec![approve(&n, "1.10.0".parse().unwrap(), "1.2.10")],
        &[&key("member-a")],
    );
    assert_eq!(e.code, 4_010_001, "{e:?}");
}

#[test]
fn a_failed_execution_is_recorded_and_the_proposal_stays() {
    let mut n = committee_net();
    let alice = key("alice");
    let too_much = n.transfer_op(ALICE, REGISTRAR, 1_000_000_000_000);
    let proposal = propose(&n, ALICE, vec![too_much], 3600, None);
    push_in_block(&mut n, vec![proposal], &[&alice]);
    approve_in_block(&mut n, "1.10.0".parse().unwrap(), ALICE, &alice);
    let object = n.db("get_objects", json!([["1.10.0"]])).unwrap();
    let reason = object[0]["fail_reason"].as_str().unwrap();
    assert!(reason.contains("Insufficient Balance"), "{object}");
    assert_eq!(object[0]["available_active_approvals"], json!([ALICE]));
}

#[test]
fn the_expiry_pass_sees_what_an_earlier_proposal_changed() {
    // B, approved, waits for its expiration; A, due just before it in the same block, withdraws
    // B's approval. B must then go without executing: the pass reads B again after A.
    let mut n = committee_net();
    let alice = key("alice");
    let start = n.chain.head_block_time();
    let before = n.balance(REGISTRAR);
    let transfer = n.transfer_op(ALICE, REGISTRAR, 12_345);
    let b = propose(&n, ALICE, vec![transfer], 32, Some(20));
    push_in_block(&mut n, vec![b], &[&alice]);
    let b_id: ProposalId = "1.10.0".parse().unwrap();
    approve_in_block(&mut n, b_id, ALICE, &alice);
    let mut withdraw = ProposalUpdate::approve(id(ALICE), b_id, &[]);
    withdraw.active_approvals_to_remove = [id(ALICE)].into_iter().collect();
    let lifetime = start.saturating_add(31).secs() - n.chain.head_block_time().secs();
    let a = propose(&n, ALICE, vec![withdraw.into()], lifetime, Some(5));
    push_in_block(&mut n, vec![a], &[&alice]);
    approve_in_block(&mut n, "1.10.1".parse().unwrap(), ALICE, &alice);
    while n.chain.head_block_time() < start.saturating_add(32) {
        n.block();
    }
    assert_eq!(n.balance(REGISTRAR), before, "B went without executing");
    assert_eq!(
        n.db("get_objects", json!([["1.10.0", "1.10.1"]])).unwrap(),
        json!([null, null])
    );
}
