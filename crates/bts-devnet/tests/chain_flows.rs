#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.
//! What clients do and see: registering, funding and upgrading accounts; blocks, TaPoS from any
//! recent block, the last irreversible block, missed slots, maintenance and the dynamic fee.

mod common;

use bts_devnet::chain::{Chain, ChainConfig};
use bts_protocol::{Authority, BlockId, Prefix, TimePointSec, Transaction};
use common::*;
use serde_json::json;

#[test]
fn register_fund_and_upgrade_an_account() {
    let mut n = Net::new();
    n.block();
    let registrar = n.registrar_key();
    let user = key("new-user-1");
    let op = n.with_fee(n.create_op("new-user-1", &n.public(&user)));
    let fee = op.fee().amount;
    let before = n.balance("faucet");
    n.push(vec![op], &[&registrar]).unwrap();

    // Pending: visible at once, as on the node, with the head block's number.
    let pending = n.db("get_account_by_name", json!(["new-user-1"])).unwrap();
    assert_eq!(pending["id"], "1.2.9");
    assert_eq!(pending["creation_block_num"], 1);
    assert_eq!(n.balance("faucet"), before - fee);
    let dgp = n.db("get_dynamic_global_properties", json!([])).unwrap();
    assert_eq!(dgp["accounts_registered_this_interval"], 1);

    let produced = n.block();
    assert_eq!(produced.block_num, 2);
    let c = &produced.confirmations[0];
    assert_eq!((c.block_num, c.trx_num), (2, 0));
    assert_eq!(c.trx["operation_results"], json!([[1, "1.2.9"]]));
    let account = n.account("new-user-1");
    assert_eq!(account["creation_block_num"], 2);
    assert_eq!(account["creation_time"], n.time.to_string());
    for field in ["registrar", "referrer", "lifetime_referrer"] {
        assert_eq!(account[field], REGISTRAR, "{field}");
    }
    assert_eq!(account["network_fee_percentage"], 2000);
    assert_eq!(account["lifetime_referrer_fee_percentage"], 3000);
    assert_eq!(account["membership_expiration_date"], "1970-01-01T00:00:00");

    n.fund("1.2.9", 2_000_000_000);
    assert_eq!(n.balance("new-user-1"), 2_000_000_000);
    n.push(vec![n.with_fee(n.upgrade_op("1.2.9", true))], &[&user]).unwrap();
    n.block();
    let account = n.account("1.2.9");
    assert_eq!(account["membership_expiration_date"], "2106-02-07T06:28:15");
    for field in ["registrar", "referrer", "lifetime_referrer"] {
        assert_eq!(account[field], "1.2.9", "{field}");
    }
    assert_eq!(account["lifetime_referrer_fee_percentage"], 8000);
    assert_eq!(n.balance("1.2.9"), 2_000_000_000 - 1_000_000_000);
    let stats = n.db("get_objects", json!([["2.6.9"]])).unwrap()[0].clone();
    assert_eq!(stats["lifetime_fees_paid"], 1_000_000_000);

    // The new lifetime member registers an account with the faucet as referrer.
    let op = {
        let mut op = n.create_op("second-user", &n.public(&key("second")));
        let bts_protocol::Operation::AccountCreate(c) = &mut op else {
            unreachable!()
        };
        c.registrar = id("1.2.9");
        c.referrer_percent = 7000;
        n.with_fee(op)
    };
    n.push(vec![op], &[&user]).unwrap();
    n.block();
    let second = n.account("second-user");
    assert_eq!(second["registrar"], "1.2.9");
    assert_eq!(second["referrer"], REGISTRAR);
    assert_eq!(second["lifetime_referrer"], REGISTRAR);
    assert_eq!(second["referrer_rewards_percentage"], 7000);
}

#[test]
fn block_ids_carry_their_numbers_and_link_up() {
    let mut n = Net::new();
    assert_eq!(n.chain.head_block_id(), BlockId::default());
    assert_eq!(n.db("get_block", json!([0])).unwrap(), json!(null));
    let mut previous = BlockId::default();
    for num in 1..=5 {
        let produced = n.block();
        assert_eq!(produced.block_num, num);
        assert_eq!(produced.block_id.block_num(), num);
        let header = n.db("get_block_header", json!([num])).unwrap();
        assert_eq!(header["previous"], previous.to_string());
        assert_eq!(header["timestamp"], n.time.to_string());
        assert_eq!(header["witness"], "1.6.1");
        previous = produced.block_id;
    }
    let dgp = n.db("get_dynamic_global_properties", json!([])).unwrap();
    assert_eq!(dgp["head_block_id"], previous.to_string());
    assert_eq!(dgp["current_witness"], "1.6.1");
    assert_eq!(n.db("get_block", json!([6])).unwrap(), json!(null));
    let witness = n.db("get_objects", json!([["1.6.1"]])).unwrap()[0].clone();
    assert_eq!(witness["last_confirmed_block_num"], 5);
    assert_eq!(witness["last_aslot"], dgp["current_aslot"]);
}

#[test]
fn the_last_irreversible_block_trails_the_head() {
    let mut n = Net::new();
    for head in 1..=8u32 {
        n.block();
        let dgp = n.db("get_dynamic_global_properties", json!([])).unwrap();
        let lib = head.saturating_sub(3);
        assert_eq!(dgp["last_irreversible_block_num"], lib);
        assert!(lib < head);
        // python-bitshares: TaPoS from get_block_header(lib + 1).previous.
        let header = n.db("get_block_header", json!([lib + 1])).unwrap();
        let reference: BlockId = serde_json::from_value(header["previous"].clone()).unwrap();
        let expiration = n.chain.head_block_time().saturating_add(30);
        let tx = Transaction::new(
            &reference,
            expiration,
            vec![n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1))],
        );
        n.chain.push_transaction(&n.sign(tx, &[&n.registrar_key()])).unwrap();
    }
}

#[test]
fn tapos_may_refer_to_any_recent_block() {
    let mut n = Net::new();
    let ids: Vec<BlockId> = (0..40).map(|_| n.block().block_id).collect();
    for (i, reference) in ids.iter().enumerate() {
        let expiration = n.chain.head_block_time().saturating_add(60);
        let tx = Transaction::new(
            reference,
            expiration,
            vec![n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1 + i as i64))],
        );
        n.chain.push_transaction(&n.sign(tx, &[&n.registrar_key()])).unwrap();
    }
    assert_eq!(n.block().confirmations.len(), 40);
}

#[test]
fn missed_slots_move_the_slot_counters() {
    let mut n = Net::new();
    n.blocks(2);
    let before = n.db("get_dynamic_global_properties", json!([])).unwrap();
    n.time = n.chain.slot_time(3);
    n.chain.produce_block(n.time);
    let after = n.db("get_dynamic_global_properties", json!([])).unwrap();
    assert_eq!(
        after["current_aslot"].as_u64().unwrap(),
        before["current_aslot"].as_u64().unwrap() + 3
    );
    assert_eq!(after["recently_missed_count"], 8);
    let filled: u128 = after["recent_slots_filled"].as_str().unwrap().parse().unwrap();
    assert_eq!(filled & 0b111, 0b100);
}

#[test]
fn maintenance_resets_the_interval() {
    let mut n = Net::new();
    n.block();
    let dgp = n.db("get_dynamic_global_properties", json!([])).unwrap();
    let next: TimePointSec = serde_json::from_value(dgp["next_maintenance_time"].clone()).unwrap();
    assert_eq!(next.secs() % 86_400, 0);
    assert!(next > n.time);
    assert_eq!(dgp["dynamic_flags"], 1, "block 1 ran the first maintenance");
    n.register(
        "before-maint",
        Authority::single_key(n.public(&key("a"))),
        Authority::single_key(n.public(&key("a"))),
    );
    let supply = n.db("get_objects", json!([["2.3.0"]])).unwrap()[0]["current_supply"].clone();
    n.time = next;
    n.chain.produce_block(next);
    let dgp = n.db("get_dynamic_global_properties", json!([])).unwrap();
    assert_eq!(dgp["dynamic_flags"], 1);
    assert_eq!(dgp["accounts_registered_this_interval"], 0);
    assert_eq!(dgp["next_maintenance_time"], next.saturating_add(86_400).to_string());
    assert_eq!(dgp["last_budget_time"], next.to_string());
    // The registrar's pending fees were processed and left the supply.
    let stats = n.db("get_objects", json!([["2.6.7"]])).unwrap()[0].clone();
    assert_eq!(stats["pending_fees"], 0);
    assert_ne!(stats["lifetime_fees_paid"], 0);
    let new_supply = n.db("get_objects", json!([["2.3.0"]])).unwrap()[0]["current_supply"].clone();
    assert_ne!(new_supply, supply);
    // After a maintenance block the node skips maintenance_skip_slots (3) slots.
    assert_eq!(n.chain.slot_time(1), next.saturating_add(4 * 3));
    n.block();
    let dgp = n.db("get_dynamic_global_properties", json!([])).unwrap();
    assert_eq!(dgp["dynamic_flags"], 0);
}

#[test]
fn the_registration_fee_scales_with_registrations() {
    let mut n = Net::new();
    n.block();
    let registrar = n.registrar_key();
    let k = n.public(&key("bulk"));
    for batch in 0..100 {
        let ops = (0..10)
            .map(|i| n.with_fee(n.create_op(&format!("bulk-{batch}-{i}"), &k)))
            .collect();
        n.push(ops, &[&registrar]).unwrap();
        if batch % 25 == 24 {
            n.block();
        }
    }
    let gp = n.db("get_global_properties", json!([])).unwrap();
    assert_eq!(
        gp["parameters"]["current_fees"]["parameters"][5][1]["basic_fee"],
        500_000 << 4
    );
    let fee = n.fee(&n.create_op("one-more-1", &k)).amount;
    assert!(fee > 8_000_000 && fee < 8_100_000, "{fee}");
    let next: TimePointSec = serde_json::from_value(
        n.db("get_dynamic_global_properties", json!([])).unwrap()["next_maintenance_time"].clone(),
    )
    .unwrap();
    n.chain.produce_block(next);
    let gp = n.db("get_global_properties", json!([])).unwrap();
    assert_eq!(
        gp["parameters"]["current_fees"]["parameters"][5][1]["basic_fee"],
        500_000
    );
}

#[test]
fn validate_transaction_is_a_dry_run() {
    let mut n = Net::new();
    n.block();
    let op = n.with_fee(n.create_op("dry-run-1", &n.public(&key("d"))));
    let tx = n.sign(n.tx(vec![op]), &[&n.registrar_key()]);
    let processed = n.db("validate_transaction", json!([tx])).unwrap();
    assert_eq!(processed["operation_results"], json!([[1, "1.2.9"]]));
    assert_eq!(n.db("get_account_by_name", json!(["dry-run-1"])).unwrap(), json!(null));
    n.chain.push_transaction(&tx).unwrap();
    let e = n.db("validate_transaction", json!([tx])).unwrap_err();
    assert_eq!(e.code, 3_030_001);
}

#[test]
fn signing_helpers_name_the_keys() {
    let mut n = Net::new();
    n.block();
    let registrar = n.public(&n.registrar_key());
    let alice = n.public(&key("alice"));
    let unsigned = n.tx(vec![n.with_fee(n.transfer_op(ALICE, REGISTRAR, 1))]);
    let potential = n.db("get_potential_signatures", json!([unsigned])).unwrap();
    let listed: Vec<bts_protocol::PublicKey> = serde_json::from_value(potential).unwrap();
    // alice's active and owner keys, in the node's key order (by address).
    let mut expected = vec![alice, n.public(&key("alice-owner"))];
    expected.sort();
    assert_eq!(listed, expected);
    let required = n
        .db("get_required_signatures", json!([unsigned, [registrar, alice]]))
        .unwrap();
    assert_eq!(required, json!([alice]));
    let signed = n.sign(unsigned.clone(), &[&key("alice")]);
    assert_eq!(n.db("verify_authority", json!([signed])).unwrap(), json!(true));
    let wrong = n.sign(unsigned, &[&n.registrar_key()]);
    assert_eq!(n.db("verify_authority", json!([wrong])).unwrap_err().code, 4_010_001);
}

#[test]
fn a_genesis_file_adds_accounts() {
    let alice = key("g-alice").public_key(Prefix::TEST);
    let text = format!(
        r#"{{"prefix":"TEST","accounts":[{{"name":"g-alice","key":"{alice}","balance":"5000000000",
            "lifetime-member":true}}]}}"#
    );
    let chain = Chain::new(ChainConfig::from_genesis_json(&text, Prefix::BTS).unwrap()).unwrap();
    let call = Net::call("get_full_accounts", json!([["g-alice"], false]));
    let full = chain.database_call(&call).unwrap();
    assert_eq!(full[0][0], "g-alice");
    assert_eq!(full[0][1]["account"]["id"], "1.2.8");
    assert_eq!(
        full[0][1]["account"]["membership_expiration_date"],
        "2106-02-07T06:28:15"
    );
    assert_eq!(full[0][1]["balances"][0]["balance"], "5000000000");
    assert_eq!(chain.config().chain_id, ChainConfig::devnet_chain_id(Prefix::TEST));
}

#[test]
fn blocks_sit_on_slot_boundaries() {
    let mut n = Net::new();
    n.blocks(2);
    let head = n.chain.head_block_time();
    // Block 1 ran maintenance, block 2 did not: the next slot is one interval on.
    assert_eq!(n.chain.slot_time(1), head.saturating_add(3));
    let produced = n.chain.produce_block(head.saturating_add(3 + 2));
    assert_eq!(produced.timestamp, head.saturating_add(3));
    assert_eq!(n.chain.head_block_time(), produced.timestamp);
    // A time not after the head's moves one interval on.
    let produced = n.chain.produce_block(head);
    assert_eq!(produced.timestamp, head.saturating_add(6));
}

#[test]
fn full_blocks_leave_transactions_pending() {
    let mut n = Net::new();
    n.block();
    let registrar = n.registrar_key();
    let op = n.with_fee(n.transfer_op(REGISTRAR, ALICE, 1));
    // 1100 transactions of about 2 KB each: more than one 2 MB block holds.
    for i in 0..1100 {
        let ops = (0..84)
            .map(|_| op.clone())
            .chain([n.with_fee(n.transfer_op(REGISTRAR, ALICE, 2 + i))]);
        n.push(ops.collect(), &[&registrar]).unwrap();
    }
    let first = n.block();
    assert!(first.confirmations.len() < 1100, "{}", first.confirmations.len());
    assert!(first.dropped.is_empty());
    assert_eq!(n.chain.pending_count(), 1100 - first.confirmations.len());
    let second = n.block();
    assert_eq!(first.confirmations.len() + second.confirmations.len(), 1100);
    assert_eq!(n.chain.pending_count(), 0);
}

#[test]
fn the_chain_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Chain>();
}
