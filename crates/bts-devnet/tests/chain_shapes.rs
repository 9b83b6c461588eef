#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.
//! The devnet's answers compared with a real witness_node 7.0.2's, recorded in
//! `tests/data/witness_node_7.0.2.json`: the same keys at every level and the same kinds of
//! values (fc writes large integers as strings, so integers match integers either way).

mod common;

use bts_protocol::Prefix;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn node() -> Value {
    serde_json::from_str(include_str!("data/witness_node_7.0.2.json")).unwrap()
}

fn int_like(v: &Value) -> bool {
    v.is_i64() || v.is_u64() || v.as_str().is_some_and(|s| !s.is_empty() && s.parse::<i128>().is_ok())
}

/// Same keys at every level, same kinds of values; arrays are compared element by element as
/// far as both go.
#[track_caller]
fn assert_shape(ours: &Value, node: &Value, path: &str) {
    match (ours, node) {
        (Value::Object(a), Value::Object(b)) => {
            let (ka, kb): (BTreeSet<_>, BTreeSet<_>) = (a.keys().collect(), b.keys().collect());
            assert_eq!(ka, kb, "{path}: keys differ");
            for (k, v) in a {
                assert_shape(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_shape(x, y, &format!("{path}[{i}]"));
            }
        }
        (a, b) if int_like(a) && int_like(b) => {}
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) | (Value::Null, Value::Null) => {}
        _ => panic!("{path}: ours {ours} but the node's {node}"),
    }
}

/// A BTS devnet with the reference node's 5-second blocks, a few blocks, a registration and a
/// transfer into the new account.
fn busy_net() -> (Net, bts_devnet::chain::BlockProduced) {
    let mut n = Net::with_prefix(Prefix::BTS);
    let mut config = n.chain.config().clone();
    config.block_interval = 5;
    n.chain = bts_devnet::chain::Chain::new(config).unwrap();
    n.blocks(3);
    let user = n.public(&key("faucet-test-1"));
    let registered = n.register(
        "faucet-test-1",
        bts_protocol::Authority::single_key(user),
        bts_protocol::Authority::single_key(user),
    );
    let op = n.with_fee(n.transfer_op(REGISTRAR, &registered, 1_000_000));
    n.push(vec![op], &[&n.registrar_key()]).unwrap();
    let produced = n.block();
    (n, produced)
}

#[test]
fn chain_wide_objects() {
    let (n, _) = busy_net();
    let node = node();
    let db = |m: &str| n.db(m, json!([])).unwrap();
    assert_shape(
        &db("get_dynamic_global_properties"),
        &node["get_dynamic_global_properties"],
        "dgp",
    );
    assert_eq!(
        db("get_config"),
        node["get_config"],
        "BTS devnet's get_config is the node's"
    );
    let props = db("get_chain_properties");
    assert_shape(&props, &node["get_chain_properties"], "chain properties");
    assert_eq!(
        props["immutable_parameters"],
        node["get_chain_properties"]["immutable_parameters"]
    );
    let gp = db("get_global_properties");
    assert_shape(&gp, &node["get_global_properties"], "global properties");
    assert_eq!(gp["parameters"], node["get_global_properties"]["parameters"]);
    let objects = n.db("get_objects", json!([["1.6.1", "1.3.0"]])).unwrap();
    assert_shape(&objects, &node["get_objects_witness_asset"], "get_objects");
    assert_eq!(objects[1]["options"], node["get_objects_witness_asset"][1]["options"]);
}

#[test]
fn accounts_and_balances() {
    let (n, _) = busy_net();
    let node = node();
    assert_shape(&n.account("alice"), &node["get_account_by_name"], "plain account");
    assert_shape(&n.account("faucet"), &node["account_after_upgrade"], "lifetime member");
    let names = n
        .db(
            "lookup_account_names",
            json!([["alice", "faucet-test-1", "nosuchacct"]]),
        )
        .unwrap();
    assert_shape(&names, &node["lookup_account_names"], "lookup_account_names");
    assert_eq!(names[2], json!(null));
    let balances = n
        .db("get_account_balances", json!(["faucet-test-1", ["1.3.0"]]))
        .unwrap();
    assert_shape(&balances, &node["get_account_balances"], "balances");
    assert_eq!(balances[0]["amount"], 1_000_000);
    let user = n.public(&key("faucet-test-1")).to_string();
    let refs = n.db("get_key_references", json!([[user]])).unwrap();
    assert_shape(&refs, &node["get_key_references"], "key references");
    assert_eq!(refs, json!([["1.2.9"]]));
    let full = n.db("get_full_accounts", json!([["faucet-test-1"], false])).unwrap();
    assert_shape(&full, &node["get_full_accounts"], "full accounts");
    assert_eq!(full[0][1]["registrar_name"], "faucet");
    assert_eq!(full[0][1]["statistics"]["total_ops"], 2);
}

#[test]
fn blocks_history_and_confirmations() {
    let (n, produced) = busy_net();
    let node = node();
    let num = produced.block_num;
    let block = n.db("get_block", json!([num])).unwrap();
    assert_shape(&block, &node["get_block"], "block");
    assert_eq!(block["transactions"][0]["operation_results"], json!([]));
    let header = n.db("get_block_header", json!([num])).unwrap();
    assert_shape(&header, &node["get_block_header"], "header");

    let c = &produced.confirmations[0];
    let answer = json!({"id": c.id, "block_num": c.block_num, "trx_num": c.trx_num, "trx": c.trx});
    assert_shape(&answer, &node["broadcast_transaction_synchronous"], "confirmation");

    let history = n
        .history("get_account_history", json!(["faucet-test-1", "1.11.0", 10, "1.11.0"]))
        .unwrap();
    // The node's account had three transfers and its creation; ours one transfer and its creation.
    let theirs = &node["get_account_history"];
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_shape(&history[0], &theirs[0], "history transfer");
    assert_shape(&history[1], &theirs[3], "history account_create");
    assert_eq!(history[0]["op"][0], 0, "newest first: the transfer");
    assert_eq!(history[1]["result"], json!([1, "1.2.9"]));
    let required = n
        .db(
            "get_required_fees",
            json!([[n.transfer_op(REGISTRAR, ALICE, 100_000)], "1.3.0"]),
        )
        .unwrap();
    assert_eq!(required, node["get_required_fees_transfer"]);
}

#[test]
fn execution_errors() {
    let (mut n, _) = busy_net();
    let node = node();
    let tx = n.sign(
        n.tx(vec![n.with_fee(n.transfer_op(REGISTRAR, ALICE, 5))]),
        &[&n.registrar_key()],
    );
    n.chain.push_transaction(&tx).unwrap();
    let e = n.chain.push_transaction(&tx).unwrap_err().into_execution_error();
    let ours = serde_json::to_value(&e).unwrap();
    let theirs = &node["duplicate_transaction_error"];
    assert_shape(&ours, theirs, "error");
    let (ours_stack, their_stack) = (&ours["data"]["stack"], &theirs["data"]["stack"]);
    assert_eq!(
        ours_stack.as_array().unwrap().len(),
        their_stack.as_array().unwrap().len()
    );
    for (a, b) in ours_stack
        .as_array()
        .unwrap()
        .iter()
        .zip(their_stack.as_array().unwrap())
    {
        for field in ["level", "file", "line", "method"] {
            assert_eq!(a["context"][field], b["context"][field], "{field}");
        }
        assert_eq!(a["format"], b["format"]);
    }
}
