#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.
//! Database and history API details: lookups by name or id, objects of every kind, history
//! paging, notices' changed objects, and the node's errors for unknown methods and bad
//! arguments.

mod common;

use bts_protocol::ObjectId;
use common::*;
use serde_json::json;

#[test]
fn lookups_take_names_and_ids() {
    let n = Net::new();
    let by_id = n
        .db("get_accounts", json!([["1.2.8", "alice", "nobody", "1.2.999"], false]))
        .unwrap();
    assert_eq!(by_id[0], by_id[1]);
    assert_eq!(by_id[2], json!(null));
    assert_eq!(by_id[3], json!(null));
    assert_eq!(n.db("get_account_by_name", json!(["nobody"])).unwrap(), json!(null));
    assert_eq!(n.db("get_account_count", json!([])).unwrap(), 9);
    let list = n.db("lookup_accounts", json!(["f", 3])).unwrap();
    assert_eq!(
        list,
        json!([["faucet", "1.2.7"], ["init0", "1.2.6"], ["null-account", "1.2.3"]])
    );
    assert_eq!(n.db("get_account_id_from_string", json!(["faucet"])).unwrap(), "1.2.7");
    let alice = n.public(&key("alice")).to_string();
    assert_eq!(n.db("is_public_key_registered", json!([alice])).unwrap(), true);
    assert_eq!(n.db("is_public_key_registered", json!(["TESTxyz"])).unwrap(), false);
    let assets = n.db("lookup_asset_symbols", json!([["TEST", "1.3.0", "BTS"]])).unwrap();
    assert_eq!(assets[0]["symbol"], "TEST");
    assert_eq!(assets[0], assets[1]);
    assert_eq!(assets[2], json!(null));
    assert_eq!(n.db("list_assets", json!(["", 10])).unwrap()[0]["id"], "1.3.0");
    assert_eq!(n.db("get_witness_by_account", json!(["init0"])).unwrap()["id"], "1.6.1");
    assert_eq!(
        n.db("lookup_witness_accounts", json!(["", 10])).unwrap(),
        json!([["committee-account", "1.6.0"], ["init0", "1.6.1"]])
    );
    assert_eq!(
        n.db("get_committee_members", json!([["1.5.0"]])).unwrap()[0]["vote_id"],
        "0:1"
    );
    let balances = n.db("get_account_balances", json!(["alice", []])).unwrap();
    assert_eq!(balances, json!([{"amount": 100_000_000, "asset_id": "1.3.0"}]));
    assert_eq!(n.db("get_account_balances", json!(["init0", []])).unwrap(), json!([]));
}

#[test]
fn every_object_kind_is_reachable() {
    let mut n = Net::new();
    n.block();
    n.fund(ALICE, 5);
    for id in [
        "1.2.0", "1.2.8", "1.3.0", "1.5.0", "1.6.0", "1.6.1", "1.11.0", "2.0.0", "2.1.0", "2.3.0", "2.5.0", "2.6.8",
        "2.9.0", "2.9.1", "2.11.0",
    ] {
        let v = n.db("get_objects", json!([[id]])).unwrap();
        assert_eq!(v[0]["id"], id, "{id}");
        assert_eq!(n.chain.object(id.parse::<ObjectId>().unwrap()).unwrap(), v[0]);
    }
    for missing in ["1.2.99", "1.3.1", "1.7.0", "1.11.5", "2.5.9", "2.9.9", "2.2.0", "3.0.0"] {
        assert_eq!(
            n.db("get_objects", json!([[missing]])).unwrap(),
            json!([null]),
            "{missing}"
        );
    }
    let entry = n.db("get_objects", json!([["2.9.1"]])).unwrap()[0].clone();
    assert_eq!(entry["account"], ALICE);
    assert_eq!(entry["operation_id"], "1.11.0");
    assert_eq!(entry["sequence"], 1);
    assert_eq!(entry["next"], "2.9.0");
}

#[test]
fn history_pages_newest_first() {
    let mut n = Net::new();
    n.block();
    for _ in 0..5 {
        n.fund(ALICE, 7);
    }
    let h = |args| n.history("get_account_history", args).unwrap();
    let ids = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(h(json!(["alice", "1.11.0", 100, "1.11.0"]))),
        ["1.11.4", "1.11.3", "1.11.2", "1.11.1", "1.11.0"]
    );
    assert_eq!(ids(h(json!(["alice", "1.11.0", 2, "1.11.0"]))), ["1.11.4", "1.11.3"]);
    assert_eq!(ids(h(json!(["alice", "1.11.1", 10, "1.11.3"]))), ["1.11.3", "1.11.2"]);
    assert_eq!(ids(h(json!(["nobody", "1.11.0", 10, "1.11.0"]))), Vec::<String>::new());
    let rel = n
        .history("get_relative_account_history", json!(["alice", 0, 2, 0]))
        .unwrap();
    assert_eq!(ids(rel), ["1.11.4", "1.11.3"]);
    let rel = n
        .history("get_relative_account_history", json!(["alice", 2, 10, 3]))
        .unwrap();
    assert_eq!(ids(rel), ["1.11.2", "1.11.1"]);
    let ops = n
        .history(
            "get_account_history_operations",
            json!(["faucet", 5, "1.11.0", "1.11.0", 10]),
        )
        .unwrap();
    assert_eq!(ops, json!([]));
    let ops = n
        .history(
            "get_account_history_operations",
            json!(["faucet", 0, "1.11.0", "1.11.0", 10]),
        )
        .unwrap();
    assert_eq!(ids(ops).len(), 5);
    let op = &h(json!(["alice", "1.11.0", 1, "1.11.0"]))[0];
    assert_eq!(
        (op["trx_in_block"].clone(), op["op_in_trx"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(op["block_num"], n.chain.head_block_num());
}

#[test]
fn blocks_report_what_changed() {
    let mut n = Net::new();
    n.block();
    let user = n.public(&key("changes"));
    let op = n.with_fee(n.create_op("changes-1", &user));
    n.push(vec![op], &[&n.registrar_key()]).unwrap();
    let produced = n.block();
    let changed: Vec<String> = produced.changed.iter().map(ToString::to_string).collect();
    // The registrar's account object is unchanged; its statistics and balance changed.
    for id in [
        "1.2.9", "2.6.9", "2.6.7", "2.5.0", "2.1.0", "1.6.1", "1.11.0", "2.9.0", "2.9.1",
    ] {
        assert!(changed.contains(&id.to_owned()), "{id} not in {changed:?}");
    }
    assert!(n.block().changed.contains(&"2.1.0".parse().unwrap()));
}

#[test]
fn api_errors_are_the_nodes() {
    let mut n = Net::new();
    n.block();
    let e = n.db("no_such_method", json!([])).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (-32601, "Method not found"));
    assert_eq!(n.history("get_nothing", json!([])).unwrap_err().code, -32601);
    let e = n.db("get_objects", json!([])).unwrap_err();
    assert_assert(&e, "a0 != e || optional_args: too few arguments passed to method");
    let e = n.db("lookup_accounts", json!(["", 1001])).unwrap_err();
    assert_assert(&e, "limit <= configured_limit: limit can not be greater than 1000");
    let e = n
        .history("get_account_history", json!(["alice", "1.11.0", 101, "1.11.0"]))
        .unwrap_err();
    assert_assert(&e, "limit <= configured_limit: limit can not be greater than 100");
    let e = n.db("get_account_balances", json!(["nobody", []])).unwrap_err();
    assert_assert(&e, "account_ptr: no such account");
    let e = n.db("get_objects", json!([["not-an-id"]])).unwrap_err();
    assert_eq!(e.exception().unwrap().name, "parse_error_exception");
    let e = n.db("get_transaction", json!([99, 0])).unwrap_err();
    assert_assert(&e, "opt_block: ");
    let bts = key("x").public_key(bts_protocol::Prefix::BTS).to_string();
    let e = n.db("get_key_references", json!([[bts]])).unwrap_err();
    assert_assert(&e, "base58str.substr( 0, prefix_len ) == prefix: ");
    let foreign = n.create_op("foreign", &key("x").public_key(bts_protocol::Prefix::BTS));
    let e = n.db("get_required_fees", json!([[foreign], "1.3.0"])).unwrap_err();
    assert_assert(&e, "base58str.substr( 0, prefix_len ) == prefix: ");
}

#[test]
fn transactions_round_trip_through_the_api() {
    let mut n = Net::new();
    n.block();
    let op = n.with_fee(n.create_op("hex-user", &n.public(&key("h"))));
    let tx = n.sign(n.tx(vec![op]), &[&n.registrar_key()]);
    let hex = n.db("get_transaction_hex", json!([tx])).unwrap();
    let unsigned = n.db("get_transaction_hex_without_sig", json!([tx])).unwrap();
    let (hex, unsigned) = (hex.as_str().unwrap(), unsigned.as_str().unwrap());
    // As the node's own test checks: the signed form is the unsigned one, a count and the signatures.
    assert!(hex.starts_with(unsigned));
    assert_eq!(hex.len(), unsigned.len() + 2 + 130);
    n.chain.push_transaction(&tx).unwrap();
    let produced = n.block();
    let got = n.db("get_transaction", json!([produced.block_num, 0])).unwrap();
    assert_eq!(got["signatures"], json!(tx.signatures));
    let batch = n
        .db("get_block_header_batch", json!([[produced.block_num, 1, 99]]))
        .unwrap();
    assert_eq!(batch[0][0], 1);
    assert_eq!(batch[2], json!([99, null]));
}
