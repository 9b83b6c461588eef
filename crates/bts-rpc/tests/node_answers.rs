//! The typed calls against the recorded answers of a real witness_node 7.0.2, over WebSocket and
//! over HTTP. The test node answers only when API, method and params are exactly the recorded
//! ones, so this checks the requests we send as well as how we decode the answers.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod support;

use bts_protocol::{AccountId, Asset, AssetId, Extensions, SignedTransaction, TimePointSec, Transfer};
use bts_rpc::{Account, Api, HttpClient, HttpOptions, RpcClient, WsClient, WsOptions};
use serde_json::{Value, json};
use support::{TestNode, recorded};

const CHAIN_ID: &str = "98dbd597cafc2e1a75caf3aa46ebc978ca369fdac03c0cd083f8c758c96bc96a";

fn time(s: &str) -> TimePointSec {
    s.parse().unwrap()
}

/// The signed transactions the recordings broadcast with `method`, with the recorded answers.
fn broadcasts(method: &str) -> Vec<(SignedTransaction, support::Recorded)> {
    let entries = recorded().into_iter().filter(|r| r.method == method);
    entries
        .map(|r| (serde_json::from_value(r.params[0].clone()).unwrap(), r))
        .collect()
}

async fn chain_and_globals(api: &Api<impl RpcClient>) {
    let chain_id = api.get_chain_id().await.unwrap();
    assert_eq!(chain_id.to_string(), CHAIN_ID);
    let properties = api.get_chain_properties().await.unwrap();
    assert_eq!(properties.chain_id, chain_id);
    assert_eq!(properties.immutable_parameters["min_witness_count"], 11);
    let config = api.get_config().await.unwrap();
    assert_eq!(config["GRAPHENE_ADDRESS_PREFIX"], "BTS");

    let global = api.get_global_properties().await.unwrap();
    let p = &global.parameters;
    assert_eq!((p.block_interval, p.maximum_time_until_expiration), (5, 86_400));
    assert_eq!((p.maximum_transaction_size, p.maximum_block_size), (2048, 2_000_000));
    assert_eq!((p.accounts_per_fee_scale, p.account_fee_scale_bitshifts), (1000, 4));
    assert_eq!(p.current_fees["scale"], 10_000);
    assert_eq!(
        p.current_fees["parameters"][5],
        json!([5, {"basic_fee": 500_000, "premium_fee": 200_000_000, "price_per_kbyte": 100_000}])
    );
    assert_eq!(p.rest["worker_budget_per_day"], "50000000000");
    assert_eq!(global.active_witnesses.len(), 11);
    assert_eq!(global.rest["next_available_vote_id"], 22);

    let dynamic = api.get_dynamic_global_properties().await.unwrap();
    assert_eq!((dynamic.head_block_number, dynamic.head_block_id.block_num()), (9, 9));
    assert_eq!(dynamic.time, time("2026-11-22T11:06:15"));
    assert_eq!(dynamic.last_irreversible_block_num, 2);
    assert_eq!(dynamic.current_witness.to_string(), "1.6.2");
    assert_eq!(
        dynamic.rest["recent_slots_filled"],
        "334965454937798799971759379190646833407"
    );
}

async fn accounts_and_objects(api: &Api<impl RpcClient>) {
    let nathan = api.get_account_by_name("nathan").await.unwrap().unwrap();
    assert_eq!(
        (nathan.id.to_string().as_str(), nathan.name.as_str()),
        ("1.2.17", "nathan")
    );
    assert!(!nathan.is_lifetime_member() && !nathan.is_member(time("2026-11-22T11:06:15")));
    let key = nathan.active.key_auths.iter().next().unwrap().0.to_string();
    assert_eq!(key, "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV");
    assert_eq!(nathan.rest["creation_time"], "2026-11-22T10:23:45");
    assert!(api.get_account_by_name("nobody-here").await.unwrap().is_none());

    let found = api
        .lookup_account_names(&["alice", "faucet-test-1", "nosuchacct"])
        .await
        .unwrap();
    let names: Vec<Option<&str>> = found.iter().map(|a| a.as_ref().map(|a| a.name.as_str())).collect();
    assert_eq!(names, [Some("alice"), Some("faucet-test-1"), None]);
    let by_id = api.get_accounts(&["1.2.17", "nobody-here"]).await.unwrap();
    assert_eq!(by_id, [Some(nathan), None]);

    let ids = ["1.6.1", "1.3.0", "1.15.0"].map(|id| id.parse().unwrap());
    let objects = api.get_objects(&ids).await.unwrap();
    assert_eq!(objects[1].as_ref().unwrap()["symbol"], "BTS");
    assert_eq!(objects.len(), 3);
}

async fn fees_blocks_and_broadcasts(api: &Api<impl RpcClient>) {
    let transfer = Transfer {
        fee: Asset::core(0),
        from: "1.2.17".parse().unwrap(),
        to: "1.2.16".parse().unwrap(),
        amount: Asset::core(100_000),
        memo: None,
        extensions: Extensions,
    };
    let fees = api.get_required_fees(&[transfer.into()], AssetId::CORE).await.unwrap();
    assert_eq!(fees, [Asset::core(2_000_000)]);

    let header = api.get_block_header(62).await.unwrap().unwrap();
    assert_eq!(
        (header.block_num(), header.witness.to_string().as_str()),
        (62, "1.6.10")
    );
    let block = api.get_block(62).await.unwrap().unwrap();
    assert_eq!(block.header, header);
    assert_eq!(block.transactions.len(), 1);
    assert!(block.rest.is_empty(), "{:?}", block.rest);

    for (tx, recorded) in broadcasts("broadcast_transaction_synchronous") {
        let confirmation = api.broadcast_transaction_synchronous(&tx).await.unwrap();
        assert_eq!(
            confirmation.id,
            tx.id(),
            "the node's id is our id ({})",
            recorded.source
        );
        assert_eq!(json!(confirmation), recorded.result.unwrap());
    }
    let (tx, _) = broadcasts("broadcast_transaction").remove(0);
    let err = api.broadcast_transaction(&tx).await.unwrap_err();
    assert!(err.is_duplicate_transaction() && !err.is_insufficient_fee(), "{err}");
    assert_eq!(err.fc_code(), Some(3_030_001));
}

#[tokio::test]
async fn typed_calls_over_websocket() {
    let node = TestNode::start().await;
    let ws = WsClient::connect(&node.ws_url(), WsOptions::default()).await.unwrap();
    let api = ws.api();
    chain_and_globals(&api).await;
    accounts_and_objects(&api).await;
    fees_blocks_and_broadcasts(&api).await;
}

#[tokio::test]
async fn typed_calls_over_http() {
    let node = TestNode::start().await;
    let http = HttpClient::new(&node.http_url(), HttpOptions::default()).unwrap();
    let api = http.api();
    chain_and_globals(&api).await;
    accounts_and_objects(&api).await;
    fees_blocks_and_broadcasts(&api).await;
}

#[test]
fn a_lifetime_member_as_the_node_writes_it() {
    let original: Value = serde_json::from_str(include_str!("data/account_lifetime_member.json")).unwrap();
    let account: Account = serde_json::from_value(original.clone()).unwrap();
    assert!(account.is_lifetime_member());
    assert!(account.is_member(TimePointSec::MAXIMUM));
    assert_eq!(account.lifetime_referrer, account.id);
    assert_eq!(account.id, AccountId::new(17).unwrap());
    // Typed and untyped fields together give back what the node sent.
    assert_eq!(serde_json::to_value(&account).unwrap(), original);
}

#[test]
fn recorded_objects_round_trip() {
    for r in recorded() {
        let Some(result) = r.result else { continue };
        let back = match r.method.as_str() {
            "get_dynamic_global_properties" => {
                json!(serde_json::from_value::<bts_rpc::DynamicGlobalProperties>(result.clone()).unwrap())
            }
            "get_global_properties" => {
                json!(serde_json::from_value::<bts_rpc::GlobalProperties>(result.clone()).unwrap())
            }
            "get_chain_properties" => {
                json!(serde_json::from_value::<bts_rpc::ChainProperties>(result.clone()).unwrap())
            }
            "lookup_account_names" => json!(serde_json::from_value::<Vec<Option<Account>>>(result.clone()).unwrap()),
            "get_block" => json!(serde_json::from_value::<bts_rpc::Block>(result.clone()).unwrap()),
            _ => continue,
        };
        assert_eq!(back, result, "{}", r.source);
    }
}

#[tokio::test]
async fn the_test_node_refuses_calls_it_has_not_recorded() {
    let node = TestNode::start().await;
    let http = HttpClient::new(&node.http_url(), HttpOptions::default()).unwrap();
    let err = http.api().get_accounts(&["nathan"]).await.unwrap_err();
    assert!(err.node_message().unwrap().contains("recorded"), "{err}");
}
