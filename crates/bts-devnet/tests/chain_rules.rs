#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.
//! Transaction-level rules, each shown rejecting with the node's code, exception and text:
//! `transaction::validate`, size, TaPoS, expiration, duplicates, signatures and authorities.
//! Operation-level rules (fees, balances, evaluators) are in `chain_operations.rs`.

mod common;

use bts_protocol::{AccountId, Authority, FlatMap, Prefix};
use common::*;

#[test]
fn a_transaction_needs_an_operation() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let e = n.reject(vec![], &[&k]);
    assert_assert(
        &e,
        "operations.size() > 0: A transaction must have at least one operation",
    );
}

#[test]
fn operations_are_validated() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let key = n.public(&key("new"));
    let cases: Vec<(bts_protocol::Operation, &str)> = vec![
        (n.create_op("Not_Valid", &key), "is_valid_name( name ): "),
        (n.transfer_op(REGISTRAR, REGISTRAR, 1), "from != to: "),
        (n.transfer_op(REGISTRAR, ALICE, 0), "amount.amount > 0: "),
    ];
    for (op, text) in cases {
        assert_assert(&n.reject(vec![n.with_fee(op)], &[&k]), text);
    }
    let mut negative = n.transfer_op(REGISTRAR, ALICE, 1);
    negative.set_fee(bts_protocol::Asset::core(-1));
    assert_assert(&n.reject(vec![negative], &[&k]), "fee.amount >= 0: ");

    let create = |f: &dyn Fn(&mut bts_protocol::AccountCreate)| {
        let bts_protocol::Operation::AccountCreate(mut c) = n.create_op("valid-name", &key) else {
            unreachable!()
        };
        f(&mut c);
        bts_protocol::Operation::from(c)
    };
    let empty = Authority {
        weight_threshold: 1,
        account_auths: FlatMap::new(),
        key_auths: FlatMap::new(),
        address_auths: FlatMap::new(),
    };
    let cases: Vec<(bts_protocol::Operation, &str)> = vec![
        (
            create(&|c| c.referrer_percent = 10_001),
            "referrer_percent <= GRAPHENE_100_PERCENT: ",
        ),
        (create(&|c| c.owner = empty.clone()), "owner.num_auths() != 0: "),
        (create(&|c| c.active = empty.clone()), "active.num_auths() != 0: "),
        (
            create(&|c| c.owner.address_auths = [(key.address(), 1)].into_iter().collect()),
            "owner.address_auths.size() == 0: ",
        ),
        (
            create(&|c| c.owner.weight_threshold = 2),
            "!owner.is_impossible(): cannot create an account with an imposible owner authority threshold",
        ),
        (
            create(&|c| c.active.weight_threshold = 5),
            "!active.is_impossible(): cannot create an account with an imposible active authority threshold",
        ),
        (
            create(&|c| c.options.num_witness = 1),
            "needed_witnesses == 0 && needed_committee == 0: May not specify fewer witnesses or committee members \
             than the number voted for.",
        ),
    ];
    for (op, text) in cases {
        assert_assert(&n.reject(vec![op], &[&k]), text);
    }
}

#[test]
fn keys_must_carry_the_chains_prefix() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let bts_key = key("new").public_key(Prefix::BTS);
    // get_required_fees refuses such keys too, so the fee is set by hand.
    let mut op = n.create_op("new-account", &bts_key);
    op.set_fee(bts_protocol::Asset::core(600_000));
    let e = n.reject(vec![op], &[&k]);
    assert_assert(&e, "base58str.substr( 0, prefix_len ) == prefix: ");
    assert_eq!(e.exception().unwrap().stack[0].data["base58str"], bts_key.to_string());
}

#[test]
fn transactions_have_a_maximum_size() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let ops: Vec<_> = (0..100)
        .map(|_| n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1)))
        .collect();
    let e = n.reject(ops, &[&k]);
    assert_assert(
        &e,
        "head_block_time() <= HARDFORK_CORE_1573_TIME || trx.get_packed_size() <= \
         chain_parameters.maximum_transaction_size: Transaction exceeds maximum transaction size.",
    );
    let ops: Vec<_> = (0..80)
        .map(|_| n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1)))
        .collect();
    n.push(ops, &[&k]).unwrap();
}

#[test]
fn even_at_genesis_a_transaction_stays_under_a_megabyte() {
    let mut n = Net::new();
    let memo_key = n.public(&key("memo"));
    let op = bts_protocol::Transfer {
        fee: bts_protocol::Asset::core(0),
        from: id(REGISTRAR),
        to: id(ALICE),
        amount: bts_protocol::Asset::core(1),
        memo: Some(bts_protocol::Memo {
            from: memo_key,
            to: memo_key,
            nonce: 0,
            message: vec![0; 1 << 20],
        }),
        extensions: Default::default(),
    };
    let e = n.reject(vec![op.into()], &[&n.registrar_key()]);
    assert_assert(
        &e,
        "fc::raw::pack_size( trx ) < (1024 * 1024): Transaction exceeds maximum transaction size.",
    );
}

#[test]
fn tapos_must_name_a_recent_block() {
    let mut n = Net::new();
    n.blocks(3);
    let k = n.registrar_key();
    let op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));
    let mut tx = n.tx(vec![op.clone()]);
    tx.ref_block_prefix ^= 1;
    let e = n.chain.push_transaction(&n.sign(tx, &[&k])).unwrap_err();
    assert_assert(
        &e.into_execution_error(),
        "trx.ref_block_prefix == tapos_block_summary.block_id._hash[1].value(): ",
    );
    // A block that does not exist yet (its summary slot is still empty).
    let mut tx = n.tx(vec![op]);
    tx.ref_block_num = 1000;
    let e = n.chain.push_transaction(&n.sign(tx, &[&k])).unwrap_err();
    assert!(e.text().contains("tapos_block_summary"), "{e:?}");
}

#[test]
fn expiration_must_be_within_the_window() {
    let mut n = Net::new();
    n.blocks(2);
    let k = n.registrar_key();
    let head = n.chain.head_block_time();
    let op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));

    let mut tx = n.tx(vec![op.clone()]);
    tx.expiration = bts_protocol::TimePointSec(head.secs() - 1);
    let e = n.chain.push_transaction(&n.sign(tx, &[&k])).unwrap_err();
    assert_eq!(e.stack[0].data["now"], head.to_string());
    assert_assert(&e.into_execution_error(), "now <= trx.expiration: ");

    let mut tx = n.tx(vec![op.clone()]);
    tx.expiration = head.saturating_add(86_401);
    let e = n.chain.push_transaction(&n.sign(tx, &[&k])).unwrap_err();
    assert_assert(
        &e.into_execution_error(),
        "trx.expiration <= now + chain_parameters.maximum_time_until_expiration: ",
    );

    // Both ends of the window are inside it.
    for expiration in [head, head.saturating_add(86_400)] {
        let mut tx = n.tx(vec![op.clone()]);
        tx.expiration = expiration;
        n.chain.push_transaction(&n.sign(tx, &[&k])).unwrap();
    }
}

#[test]
fn the_genesis_head_skips_tapos_and_expiration() {
    // As on the node: with only block 0 there is nothing to refer to or to judge time by.
    let mut n = Net::new();
    let k = n.registrar_key();
    let mut tx = n.tx(vec![n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1))]);
    tx.ref_block_num = 777;
    tx.ref_block_prefix = 12345;
    tx.expiration = bts_protocol::TimePointSec(1);
    n.chain.push_transaction(&n.sign(tx, &[&k])).unwrap();
    assert_eq!(n.block().confirmations.len(), 1);
}

#[test]
fn a_transaction_is_accepted_once() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let tx = n.sign(n.tx(vec![n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1))]), &[&k]);
    let id = n.chain.push_transaction(&tx).unwrap();
    let message = format!("Execution error: duplicate transaction: Transaction '{id}' is already in the database");
    let e = n.chain.push_transaction(&tx).unwrap_err().into_execution_error();
    assert_error(&e, 3_030_001, "duplicate_transaction", &message);
    n.block();
    let e = n.chain.push_transaction(&tx).unwrap_err().into_execution_error();
    assert_error(&e, 3_030_001, "duplicate_transaction", &message);
}

#[test]
fn signatures_must_be_canonical_well_formed_and_distinct() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));

    let mut tx = n.sign(n.tx(vec![op.clone()]), &[&k]);
    tx.signatures[0].0[1] |= 0x80;
    let e = n.chain.push_transaction(&tx).unwrap_err().into_execution_error();
    assert_assert(&e, "is_canonical( c ): signature is not canonical");

    let mut tx = n.sign(n.tx(vec![op.clone()]), &[&k]);
    tx.signatures[0].0[0] = 26;
    let e = n.chain.push_transaction(&tx).unwrap_err().into_execution_error();
    assert_error(
        &e,
        0,
        "exception",
        "Execution error: unspecified: unable to reconstruct public key from signature",
    );

    let e = n.reject(vec![op], &[&k, &k]);
    assert_error(
        &e,
        4_010_005,
        "tx_duplicate_sig",
        "Execution error: duplicate signature included: Duplicate Signature detected",
    );
}

#[test]
fn the_fee_payer_must_sign() {
    let mut n = Net::new();
    n.block();
    let op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));
    let message = "Execution error: missing required active authority: Missing Active Authority 1.2.7";
    let e = n.reject(vec![op.clone()], &[&key("alice")]);
    assert_error(&e, 4_010_001, "tx_missing_active_auth", message);
    let data = &e.exception().unwrap().stack[0].data;
    assert_eq!(data["id"], REGISTRAR);
    assert_eq!(
        data["auth"]["key_auths"][0][0],
        n.public(&n.registrar_key()).to_string()
    );
    let e = n.reject(vec![op], &[]);
    assert_error(&e, 4_010_001, "tx_missing_active_auth", message);
}

#[test]
fn every_signature_must_be_needed() {
    let mut n = Net::new();
    n.block();
    let k = n.registrar_key();
    let op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));
    let e = n.reject(vec![op], &[&k, &key("alice")]);
    assert_error(
        &e,
        4_010_004,
        "tx_irrelevant_sig",
        "Execution error: irrelevant signature included: Unnecessary signature(s) detected",
    );
    // The owner key can act for the active authority, but not in addition to it.
    let op = n.with_fee(n.transfer_op(ALICE, REGISTRAR, 1));
    let e = n.reject(vec![op.clone()], &[&key("alice"), &key("alice-owner")]);
    assert_eq!(e.code, 4_010_004);
    n.push(vec![op], &[&key("alice-owner")]).unwrap();
}

#[test]
fn thresholds_and_weights_count() {
    let mut n = Net::new();
    n.block();
    let (k1, k2, k3) = (key("m1"), key("m2"), key("m3"));
    let active = Authority {
        weight_threshold: 3,
        account_auths: FlatMap::new(),
        key_auths: [(n.public(&k1), 2), (n.public(&k2), 1), (n.public(&k3), 1)]
            .into_iter()
            .collect(),
        address_auths: FlatMap::new(),
    };
    let multi = n.register("multi-sig", Authority::single_key(n.public(&key("m-owner"))), active);
    n.fund(&multi, 100_000_000);
    let op = n.with_fee(n.transfer_op(&multi, ALICE, 1));
    for signers in [vec![&k1], vec![&k2, &k3]] {
        let e = n.reject(vec![op.clone()], &signers);
        assert_eq!(
            e.message,
            format!("Execution error: missing required active authority: Missing Active Authority {multi}")
        );
    }
    n.push(vec![op], &[&k1, &k2]).unwrap();
}

#[test]
fn accounts_can_sign_for_accounts_two_levels_deep() {
    let mut n = Net::new();
    n.block();
    let leaf = key("leaf");
    let owner = Authority::single_key(n.public(&key("levels-owner")));
    let through = |id: &str| Authority {
        weight_threshold: 1,
        account_auths: [(id.parse::<AccountId>().unwrap(), 1)].into_iter().collect(),
        key_auths: FlatMap::new(),
        address_auths: FlatMap::new(),
    };
    let a = n.register("level-a", owner.clone(), Authority::single_key(n.public(&leaf)));
    let b = n.register("level-b", owner.clone(), through(&a));
    let c = n.register("level-c", owner.clone(), through(&b));
    let d = n.register("level-d", owner, through(&c));
    n.fund(&c, 10_000_000);
    n.fund(&d, 10_000_000);
    // c -> b -> a -> key: a is checked at depth 2, the deepest the node goes.
    n.push(vec![n.with_fee(n.transfer_op(&c, ALICE, 1))], &[&leaf]).unwrap();
    // d -> c -> b -> a -> key is one level too deep.
    let e = n.reject(vec![n.with_fee(n.transfer_op(&d, ALICE, 1))], &[&leaf]);
    assert_eq!(
        e.message,
        format!("Execution error: missing required active authority: Missing Active Authority {d}")
    );
}

#[test]
fn the_committee_account_only_proposes() {
    let mut n = Net::new();
    n.block();
    let e = n.reject(
        vec![n.with_fee(n.transfer_op("1.2.0", ALICE, 1))],
        &[&n.registrar_key()],
    );
    assert_error(
        &e,
        4_010_006,
        "invalid_committee_approval",
        "Execution error: committee account cannot directly approve transaction: Committee account may only \
         propose transactions",
    );
}

#[test]
fn an_unknown_fee_payer_is_an_unknown_object() {
    let mut n = Net::new();
    n.block();
    let e = n.reject(
        vec![n.with_fee(n.transfer_op("1.2.99", ALICE, 1))],
        &[&n.registrar_key()],
    );
    assert_assert(&e, "maybe_found != nullptr: Unable to find Object");
    assert_eq!(e.exception().unwrap().stack[0].data["id"], "1.2.99");
}

#[test]
fn errors_carry_the_transaction_like_the_node() {
    let mut n = Net::new();
    n.block();
    let tx = n.sign(n.tx(vec![n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1))]), &[&key("x")]);
    let e = n.chain.push_transaction(&tx).unwrap_err();
    let methods: Vec<&str> = e.stack.iter().map(|s| s.context.method.as_str()).collect();
    assert_eq!(methods, ["verify_authority", "_apply_transaction", "push_transaction"]);
    assert_eq!(e.stack[1].data["trx"], serde_json::to_value(&tx).unwrap());
    let head = n.chain.head_block_time().to_string();
    assert!(e.stack.iter().all(|s| s.context.timestamp == head));
}
