//! Cross-implementation check against python-bitshares (PyPI `bitshares==0.7.1`,
//! `graphenelib==1.6.1`): many random transactions, serialized, hashed and signed by both sides.
//!
//! For every case python-bitshares must produce the same unsigned bytes, digest and transaction
//! id, recover our signatures to our keys, and produce signatures that we recover to the same
//! keys. The JSON handed to Python lists `key_auths` shuffled, so its sorting is checked too.
//!
//! The Python interpreter is `$BTS_PYTHON`, else `.venv/bin/python` at the workspace root (what
//! `scripts/test` and `.ci/run` create), else `python3`. A missing library is a failure, not a skip.
//! `BTS_XCHECK_CASES` sets the number of cases (default 1000), `BTS_XCHECK_SEED` the seed.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

mod common;

use bts_protocol::{ChainId, Prefix, PrivateKey, Signature, Transaction};
use common::{Rng, random_transaction};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BTS_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

#[derive(Deserialize)]
struct PeerAnswer {
    error: Option<String>,
    #[serde(default)]
    hex: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    txid: String,
    #[serde(default)]
    signatures: Vec<Signature>,
    #[serde(default)]
    recovered: Vec<String>,
}

struct Case {
    chain_id: ChainId,
    prefix: Prefix,
    tx: Transaction,
    keys: Vec<PrivateKey>,
    line: String,
}

fn make_case(rng: &mut Rng) -> Case {
    let (tx, prefix) = random_transaction(rng);
    let chain_id = match rng.below(4) {
        0 => ChainId::MAINNET,
        1 => ChainId::TESTNET,
        _ => ChainId(rng.bytes()),
    };
    let keys: Vec<PrivateKey> = (0..1 + rng.below(3)).map(|_| rng.private_key()).collect();
    let signed = tx.clone().sign(&chain_id, &keys.iter().collect::<Vec<_>>());
    let mut json = serde_json::to_value(&tx).unwrap();
    for op in json["operations"].as_array_mut().unwrap() {
        shuffle_key_auths(rng, op);
    }
    let line = serde_json::json!({
        "chain_id": chain_id,
        "prefix": prefix,
        "wifs": keys.iter().map(PrivateKey::to_wif).collect::<Vec<_>>(),
        "tx": json,
        "signatures": signed.signatures,
    })
    .to_string();
    Case {
        chain_id,
        prefix,
        tx,
        keys,
        line,
    }
}

/// Shuffles the `key_auths` of every authority in `op` (node JSON), proposed operations
/// included, so that python-bitshares has to sort them as the node does.
fn shuffle_key_auths(rng: &mut Rng, op: &mut serde_json::Value) {
    let fields = op[1].as_object_mut().unwrap();
    for role in ["owner", "active"] {
        let auths = fields.get_mut(role).and_then(|a| a.get_mut("key_auths"));
        if let Some(auths) = auths.and_then(|a| a.as_array_mut()) {
            rng.shuffle(auths);
        }
    }
    if let Some(proposed) = fields.get_mut("proposed_ops").and_then(|p| p.as_array_mut()) {
        for wrapper in proposed {
            shuffle_key_auths(rng, &mut wrapper["op"]);
        }
    }
}

#[test]
fn python_bitshares_agrees_on_random_transactions() {
    let cases = env_number("BTS_XCHECK_CASES", 1000);
    let seed = env_number("BTS_XCHECK_SEED", 0x6274_732d_696e_6672);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/bitsharesbase_peer.py");
    let python = python();
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run scripts/test or .ci/run to set up .venv",
                python.display()
            )
        });
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    let mut rng = Rng::new(seed);
    let (mut ops, mut sigs) = (0usize, 0usize);
    for n in 0..cases {
        let case = make_case(&mut rng);
        writeln!(stdin, "{}", case.line).unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        assert!(
            !answer.is_empty(),
            "python-bitshares exited: is it installed for {}? (`pip install bitshares==0.7.1 graphenelib==1.6.1`, \
             or run scripts/test)",
            python.display()
        );
        let answer: PeerAnswer = serde_json::from_str(&answer).unwrap();
        let ctx = || format!("case {n} (seed {seed:#x}): {}", case.line);
        assert_eq!(answer.error, None, "python-bitshares failed on {}", ctx());
        assert_eq!(
            answer.hex,
            hex::encode(case.tx.to_bytes()),
            "unsigned bytes differ in {}",
            ctx()
        );
        assert_eq!(
            answer.digest,
            case.tx.sig_digest(&case.chain_id).to_string(),
            "digest differs in {}",
            ctx()
        );
        assert_eq!(answer.txid, case.tx.id().to_string(), "txid differs in {}", ctx());

        let prefix = case.prefix;
        let ours: Vec<String> = case.keys.iter().map(|k| k.public_key(prefix).to_string()).collect();
        assert_eq!(
            answer.recovered,
            ours,
            "python recovered other keys from our signatures in {}",
            ctx()
        );

        let digest = case.tx.sig_digest(&case.chain_id);
        assert_eq!(answer.signatures.len(), case.keys.len(), "{}", ctx());
        for (sig, key) in answer.signatures.iter().zip(&case.keys) {
            let recovered = sig
                .recover(&digest, prefix)
                .unwrap_or_else(|e| panic!("{e} for {sig} in {}", ctx()));
            assert_eq!(
                recovered,
                key.public_key(prefix),
                "python's signature {sig} in {}",
                ctx()
            );
        }
        ops += case.tx.operations.len();
        sigs += case.keys.len();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    eprintln!("python-bitshares agreed on {cases} transactions ({ops} operations, {sigs} signatures each way)");
}
