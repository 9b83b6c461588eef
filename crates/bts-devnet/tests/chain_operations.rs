#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.
//! Operation-level rules, each shown rejecting with the node's code, exception and text: fees,
//! balances, and the transfer, account_create and account_upgrade evaluators.

mod common;

use bts_protocol::{AccountCreate, Asset, AssetId, Authority, FlatMap, Memo, Operation, Transfer, VoteId};
use common::*;
use serde_json::json;

fn create(n: &Net, name: &str, f: impl FnOnce(&mut AccountCreate)) -> Operation {
    let Operation::AccountCreate(mut c) = n.create_op(name, &n.public(&key(name))) else {
        unreachable!()
    };
    f(&mut c);
    n.with_fee(c.into())
}

#[test]
fn required_fees_follow_the_schedule() {
    let n = Net::new();
    let k = n.public(&key("x"));
    let fee = |op: Operation| n.fee(&op).amount;
    assert_eq!(fee(n.transfer_op(REGISTRAR, ALICE, 1)), 2_000_000);
    // Basic or premium fee + packed size * price_per_kbyte / 1024: what the reference node
    // charged for these names (same sizes: one-byte account ids, 33-byte keys).
    assert_eq!(fee(n.create_op("faucet-test-1", &k)), 514_843);
    assert_eq!(fee(n.create_op("alice", &k)), 200_014_062);
    assert_eq!(fee(n.upgrade_op(ALICE, true)), 1_000_000_000);
    assert_eq!(fee(n.upgrade_op(ALICE, false)), 200_000_000);
    let e = n
        .db(
            "get_required_fees",
            json!([[n.transfer_op(REGISTRAR, ALICE, 1)], "1.3.1"]),
        )
        .unwrap_err();
    assert_assert(&e, "asset: no such asset");
    assert!(
        n.db(
            "get_required_fees",
            json!([[n.transfer_op(REGISTRAR, ALICE, 1)], "TEST"])
        )
        .is_ok()
    );
}

#[test]
fn the_fee_must_be_paid_in_full() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let mut op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));
    op.set_fee(Asset::core(1_999_999));
    let e = n.reject(vec![op], &[&k]);
    assert_error(
        &e,
        4_010_007,
        "insufficient_fee",
        "Execution error: insufficient fee: Insufficient Fee Paid",
    );
    let data = &e.exception().unwrap().stack[0].data;
    assert_eq!(
        (data["core_fee_paid"].clone(), data["required"].clone()),
        (json!(1_999_999), json!(2_000_000))
    );

    // A premium name costs the premium fee: the cheap name's fee is not enough.
    let cheap_fee = n.fee(&n.create_op("name-1", &n.public(&key("p"))));
    let mut premium = n.create_op("premium", &n.public(&key("p")));
    premium.set_fee(cheap_fee);
    assert_eq!(n.reject(vec![premium], &[&k]).code, 4_010_007);

    // A memo is charged per kilobyte.
    let memo_key = n.public(&key("memo"));
    let mut with_memo = Transfer {
        fee: Asset::core(2_000_000),
        from: id(REGISTRAR),
        to: id(ALICE),
        amount: Asset::core(1),
        memo: Some(Memo {
            from: memo_key,
            to: memo_key,
            nonce: 1,
            message: vec![7; 500],
        }),
        extensions: Default::default(),
    };
    assert_eq!(n.reject(vec![with_memo.clone().into()], &[&k]).code, 4_010_007);
    with_memo.fee = n.fee(&with_memo.clone().into());
    assert_eq!(
        with_memo.fee.amount,
        2_000_000 + (1 + 33 + 33 + 8 + 2 + 500) * 1_000_000 / 1024
    );
    n.push(vec![with_memo.into()], &[&k]).unwrap();
}

#[test]
fn fees_are_paid_in_the_core_asset() {
    let mut n = Net::new();
    n.block();
    let mut op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));
    op.set_fee(Asset {
        amount: 2_000_000,
        asset_id: AssetId::new(1).unwrap(),
    });
    let e = n.reject(vec![op], &[&n.registrar_key()]);
    assert_assert(&e, "maybe_found != nullptr: Unable to find Object");
    assert_eq!(e.exception().unwrap().stack[0].data["id"], "1.3.1");
}

#[test]
fn balances_must_cover_amount_and_fee() {
    let mut n = Net::new();
    n.block();
    let alice = key("alice");
    // alice has 1000 TEST (100000000 satoshis).
    let e = n.reject(
        vec![n.with_fee(n.transfer_op(ALICE, REGISTRAR, 200_000_000))],
        &[&alice],
    );
    assert_assert(
        &e,
        "insufficient_balance: Insufficient Balance: 1000 TEST, unable to transfer '2000 TEST' from account \
         'alice' to 'faucet'",
    );
    let e = n.reject(vec![n.with_fee(n.transfer_op(ALICE, REGISTRAR, 99_999_999))], &[&alice]);
    assert_assert(
        &e,
        "abo->get_balance() >= -delta: Insufficient Balance: alice's balance of 0.00001 TEST is less than \
         required 20 TEST",
    );
    // Nothing changed: the failed transactions left no trace.
    assert_eq!(n.balance("alice"), 100_000_000);

    // An account that never had a balance object.
    let poor = n.register(
        "poor-1",
        Authority::single_key(n.public(&key("poor"))),
        Authority::single_key(n.public(&key("poor"))),
    );
    let e = n.reject(vec![n.with_fee(n.upgrade_op(&poor, true))], &[&key("poor")]);
    assert_assert(
        &e,
        "delta.amount > 0: Insufficient Balance: poor-1's balance of 0 TEST is less than required 10000 TEST",
    );
}

#[test]
fn transfers_need_existing_accounts_and_assets() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let e = n.reject(vec![n.with_fee(n.transfer_op(REGISTRAR, "1.2.99", 1))], &[&k]);
    assert_assert(&e, "maybe_found != nullptr: Unable to find Object");
    let Operation::Transfer(mut t) = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1)) else {
        unreachable!()
    };
    t.amount.asset_id = AssetId::new(7).unwrap();
    let e = n.reject(vec![t.into()], &[&k]);
    assert_eq!(e.exception().unwrap().stack[0].data["id"], "1.3.7");
}

#[test]
fn only_lifetime_members_register_accounts() {
    let mut n = Net::new();
    n.block();
    let op = create(&n, "by-alice", |c| {
        c.registrar = id(ALICE);
        c.referrer = id(ALICE);
    });
    let e = n.reject(vec![op], &[&key("alice")]);
    assert_assert(
        &e,
        "fee_paying_account->is_lifetime_member(): Only Lifetime members may register an account.",
    );
}

#[test]
fn the_referrer_must_be_a_member() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let e = n.reject(vec![create(&n, "ref-alice", |c| c.referrer = id(ALICE))], &[&k]);
    assert_assert(
        &e,
        "op.referrer(d).is_member(d.head_block_time()): The referrer must be either a lifetime or annual \
         subscriber.",
    );
    let e = n.reject(vec![create(&n, "ref-nobody", |c| c.referrer = id("1.2.99"))], &[&k]);
    assert_assert(&e, "maybe_found != nullptr: Unable to find Object");
}

#[test]
fn referenced_accounts_must_exist() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let e = n.reject(
        vec![create(&n, "proxy-x", |c| c.options.voting_account = id("1.2.99"))],
        &[&k],
    );
    assert_assert(
        &e,
        "d.find_object(op.options.voting_account): Invalid proxy account specified.",
    );
    let e = n.reject(
        vec![create(&n, "auth-x", |c| {
            c.active.account_auths = [(id("1.2.99"), 1)].into_iter().collect();
        })],
        &[&k],
    );
    assert_error(
        &e,
        3_050_502,
        "account_create_auth_account_not_found",
        "Execution error: Auth account not found: Account 1.2.99 specified in authority does not exist",
    );
}

#[test]
fn authorities_have_a_maximum_size() {
    let mut n = Net::new();
    n.block();
    let keys: FlatMap<_, _> = (0..11).map(|i| (n.public(&key(&format!("k{i}"))), 1)).collect();
    let op = create(&n, "many-keys", |c| c.active.key_auths = keys);
    let e = n.reject(vec![op], &[&n.registrar_key()]);
    assert_error(
        &e,
        3_050_501,
        "account_create_max_auth_exceeded",
        "Execution error: Exceeds max authority fan-out: Maximum authority membership exceeded",
    );
}

#[test]
fn votes_must_name_candidates() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let vote = |s: &str| s.parse::<VoteId>().unwrap();
    let e = n.reject(
        vec![create(&n, "voter-1", |c| {
            c.options.votes = [vote("1:5")].into_iter().collect()
        })],
        &[&k],
    );
    assert_assert(&e, "id < max_vote_id: ");
    let e = n.reject(
        vec![create(&n, "voter-2", |c| {
            c.options.votes = [vote("0:0")].into_iter().collect()
        })],
        &[&k],
    );
    assert_assert(&e, "committee_idx.find(id) != committee_idx.end(): ");
    // init0's witness (1:0) and committee member (0:1) are real candidates.
    let op = create(&n, "voter-3", |c| {
        c.options.votes = [vote("1:0"), vote("0:1")].into_iter().collect();
        c.options.num_witness = 1;
        c.options.num_committee = 1;
    });
    n.push(vec![op], &[&k]).unwrap();
}

#[test]
fn names_are_unique() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let e = n.reject(vec![create(&n, "alice", |_| {})], &[&k]);
    assert_assert(
        &e,
        "current_account_itr == acnt_indx.indices().get<by_name>().end(): Account 'alice' already exists.",
    );
    assert_eq!(e.exception().unwrap().stack[0].data["a"], "alice");
    // A name registered in the pending state is taken too.
    n.push(vec![create(&n, "fresh-1", |_| {})], &[&k]).unwrap();
    let e = n.reject(vec![create(&n, "fresh-1", |c| c.referrer_percent = 1)], &[&k]);
    assert!(e.message.ends_with("Account 'fresh-1' already exists."), "{e:?}");
}

#[test]
fn upgrades_are_to_lifetime_and_once() {
    let mut n = Net::new();
    n.block();
    let e = n.reject(vec![n.with_fee(n.upgrade_op(REGISTRAR, true))], &[&n.registrar_key()]);
    assert_assert(&e, "!account->is_lifetime_member(): ");
    assert_eq!(
        e.exception().unwrap().stack[1].format,
        "Unable to upgrade account '${a}'"
    );
    n.fund(ALICE, 300_000_000);
    let e = n.reject(vec![n.with_fee(n.upgrade_op(ALICE, false))], &[&key("alice")]);
    assert_assert(&e, "d.head_block_time() <= HARDFORK_613_TIME: ");
}
