//! Every row of the name-rule comparison table (bitshares-core, the real bitsharesjs npm package)
//! gets the same verdicts from our rules, and the faucet policy is what the reference recommends.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_protocol::name::wallet_name_error;
use bts_protocol::name::{NamePolicy, is_cheap_name, is_valid_name, is_wallet_account_name, is_wallet_cheap_name};

struct Row {
    name: String,
    core_valid: bool,
    core_cheap: bool,
    js_valid: bool,
    js_no_error: bool,
    js_cheap: bool,
}

/// Parses the table; `aaaaaaaaaa...(63)` stands for 63 `a`s.
fn rows() -> Vec<Row> {
    let text = include_str!("data/name_rules_table.txt");
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        if line.trim().is_empty() {
            break;
        }
        let (name, verdicts) = line.split_at(35);
        let name = name.trim_end();
        let name = match name.strip_prefix("aaaaaaaaaa...(") {
            Some(n) => "a".repeat(n.trim_end_matches(')').parse().unwrap()),
            None => name.to_owned(),
        };
        let flags: Vec<bool> = verdicts
            .split_whitespace()
            .filter(|w| *w != "|")
            .map(|w| match w {
                "True" => true,
                "False" => false,
                other => panic!("unexpected verdict {other:?} in {line:?}"),
            })
            .collect();
        assert_eq!(flags.len(), 7, "{line:?}");
        rows.push(Row {
            name,
            core_valid: flags[0],
            core_cheap: flags[1],
            js_valid: flags[2],
            js_no_error: flags[3],
            js_cheap: flags[4],
        });
    }
    rows
}

#[test]
fn every_row_gives_the_same_verdicts() {
    let rows = rows();
    assert_eq!(rows.len(), 34);
    for r in &rows {
        let n = r.name.as_str();
        assert_eq!(is_valid_name(n).is_ok(), r.core_valid, "{n:?} core is_valid_name");
        assert_eq!(is_cheap_name(n), r.core_cheap, "{n:?} core is_cheap_name");
        assert_eq!(
            is_wallet_account_name(n),
            r.js_valid,
            "{n:?} bitsharesjs is_account_name"
        );
        assert_eq!(
            wallet_name_error(n).is_none(),
            r.js_no_error,
            "{n:?} bitsharesjs is_account_name_error"
        );
        assert_eq!(is_wallet_cheap_name(n), r.js_cheap, "{n:?} bitsharesjs is_cheap_name");

        // The faucet policy (reference §2.4): valid on chain, accepted by the wallet, cheap by the
        // wallet's rule; with premium names allowed, the last condition goes.
        let cheap_only = r.core_valid && r.js_no_error && r.js_cheap;
        assert_eq!(
            NamePolicy::default().check(n).is_ok(),
            cheap_only,
            "{n:?} faucet policy"
        );
        let premium_ok = r.core_valid && r.js_no_error;
        assert_eq!(
            NamePolicy { allow_premium: true }.check(n).is_ok(),
            premium_ok,
            "{n:?} premium policy"
        );
    }
}

#[test]
fn refusals_carry_the_wallet_texts() {
    let policy = NamePolicy::default();
    let reason = |n: &str| policy.check(n).unwrap_err().to_string();
    assert_eq!(reason("faucet"), "Only cheap names allowed!");
    assert_eq!(reason("abc.def"), "Only cheap names allowed!");
    assert_eq!(reason("ab"), "Account name should be longer.");
    assert_eq!(reason("abc-d.e"), "Each account segment should be longer");
    assert_eq!(reason("ab--cd"), "Account name should have only one dash in a row.");
    assert_eq!(reason("1abc"), "segment \"1abc\" must start with a lowercase letter");
}
