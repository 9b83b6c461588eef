//! Conformance against bytes made by other implementations: the public account_create vectors
//! (python-bitshares, bitsharesjs and fc's signer driven through libsecp256k1), and the signed
//! transactions a real cli_wallet 7.0.2 produced on a private chain.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_protocol::{
    AccountCreate, ChainId, Operation, Prefix, PrivateKey, PublicKey, Signature, SignedTransaction, TimePointSec,
    Transaction, raw,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    title: String,
    chain_id: ChainId,
    prefix: Prefix,
    wif: String,
    ref_block_num: u16,
    ref_block_prefix: u32,
    expiration: TimePointSec,
    op: serde_json::Value,
    unsigned_hex: String,
    digest: String,
    txid: String,
    sig_fc: Signature,
    sig_bitsharesjs: Signature,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("data/account_create.json")).expect("vector file parses")
}

fn transaction(v: &Vector) -> Transaction {
    let op: AccountCreate = serde_json::from_value(v.op.clone()).expect("vector op parses");
    Transaction {
        ref_block_num: v.ref_block_num,
        ref_block_prefix: v.ref_block_prefix,
        expiration: v.expiration,
        operations: vec![op.into()],
        extensions: Default::default(),
    }
}

#[test]
fn account_create_vectors_match_byte_for_byte() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 4, "the vector file has four cases");
    for v in &vectors {
        let tx = transaction(v);
        assert_eq!(hex::encode(tx.to_bytes()), v.unsigned_hex, "{}: unsigned hex", v.title);
        assert_eq!(tx.sig_digest(&v.chain_id).to_string(), v.digest, "{}: digest", v.title);
        assert_eq!(tx.id().to_string(), v.txid, "{}: txid", v.title);
        tx.check_prefix(v.prefix)
            .expect("vector keys carry the vector's prefix");
        tx.validate().expect("vector transactions are valid");

        let key = PrivateKey::from_wif(&v.wif).unwrap();
        let signed = tx.sign(&v.chain_id, &[&key]);
        assert_eq!(signed.signatures, [v.sig_fc], "{}: fc signature", v.title);

        // bitsharesjs signs differently but validly: both recover to the signer.
        let digest = signed.transaction.sig_digest(&v.chain_id);
        let public = key.public_key(v.prefix);
        for sig in [v.sig_fc, v.sig_bitsharesjs] {
            assert!(sig.is_canonical(), "{}: {sig} canonical", v.title);
            assert_eq!(
                sig.recover(&digest, v.prefix).unwrap(),
                public,
                "{}: {sig} recovers",
                v.title
            );
        }

        // The signed bytes decode back to the same transaction.
        let decoded: SignedTransaction = raw::from_bytes(&signed.to_bytes()).unwrap();
        assert_eq!(decoded, signed, "{}: raw round trip", v.title);
    }
}

#[test]
fn vector_json_is_the_node_json() {
    // Reading the vector's op and writing it back gives the node's shape, with key_auths sorted as
    // the node sorts them (vector 3 lists them unsorted).
    for v in vectors() {
        let tx = transaction(&v);
        let Operation::AccountCreate(op) = &tx.operations[0] else {
            unreachable!()
        };
        let written = serde_json::to_value(op).unwrap();
        assert_eq!(written["extensions"], serde_json::json!({}), "{}", v.title);
        let reread: AccountCreate = serde_json::from_value(written).unwrap();
        assert_eq!(&reread, op, "{}", v.title);
    }
}

#[derive(Deserialize)]
struct WalletFlow {
    chain_id: ChainId,
    prefix: Prefix,
    signer_wif: String,
    transactions: Vec<WalletTx>,
    also_signed_by_signer: Vec<SignedTransaction>,
}

#[derive(Deserialize)]
struct WalletTx {
    what: String,
    signed: SignedTransaction,
    signed_hex: Option<String>,
    txid: Option<String>,
}

#[test]
fn cli_wallet_transactions_are_reproduced_exactly() {
    let flow: WalletFlow = serde_json::from_str(include_str!("data/cli_wallet_flow.json")).unwrap();
    let key = PrivateKey::from_wif(&flow.signer_wif).unwrap();
    let kinds: Vec<&str> = flow
        .transactions
        .iter()
        .map(|t| t.signed.transaction.operations[0].name())
        .collect();
    assert_eq!(kinds, ["account_upgrade", "account_create", "transfer"]);
    for t in &flow.transactions {
        // cli_wallet's signatures are deterministic, so signing the same transaction with the
        // same key must give the very same bytes.
        let resigned = t.signed.transaction.clone().sign(&flow.chain_id, &[&key]);
        assert_eq!(resigned, t.signed, "{}: resigned transaction", t.what);
        if let Some(hex) = &t.signed_hex {
            assert_eq!(
                &hex::encode(t.signed.to_bytes()),
                hex,
                "{}: serialize_transaction",
                t.what
            );
        }
        if let Some(txid) = &t.txid {
            assert_eq!(&t.signed.id().to_string(), txid, "{}: get_transaction_id", t.what);
        }
    }
    for signed in &flow.also_signed_by_signer {
        let signers = signed.signer_keys(&flow.chain_id, flow.prefix).unwrap();
        assert_eq!(signers, [key.public_key(flow.prefix)]);
    }
}

#[test]
fn cli_wallet_json_round_trips_exactly() {
    // The wallet's own JSON text, re-serialized by us, is identical as a JSON value.
    let text = include_str!("data/cli_wallet_flow.json");
    let raw_value: serde_json::Value = serde_json::from_str(text).unwrap();
    for t in raw_value["transactions"].as_array().unwrap() {
        let parsed: SignedTransaction = serde_json::from_value(t["signed"].clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), t["signed"], "{}", t["what"]);
    }
}

#[test]
fn keys_of_the_vectors_parse_only_with_their_prefix() {
    for v in vectors() {
        let op = &v.op["owner"]["key_auths"][0][0];
        let text = op.as_str().unwrap();
        assert!(PublicKey::parse(text, v.prefix).is_ok());
        let other = if v.prefix == Prefix::BTS {
            Prefix::TEST
        } else {
            Prefix::BTS
        };
        assert!(
            PublicKey::parse(text, other).is_err(),
            "{text} must not parse with {other}"
        );
    }
}
