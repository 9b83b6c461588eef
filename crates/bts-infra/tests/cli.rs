//! End-to-end tests of the `bts-infra` binary: the real executable, its stdout, stderr and exit
//! code. Vectors come from independent implementations (bitshares-ui password keys, the public
//! account_create vectors, the bitshares-core/bitsharesjs name table) copied into `tests/data/`.

#![allow(clippy::unwrap_used)] // Reason: test code (helpers included), where a panic is the failure report.

use expect_test::{Expect, expect};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
const PUBLIC: &str = "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV";
const MAINNET: &str = "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8";
const VECTOR_ACCOUNT: &str = "faucet-test-1";
const VECTOR_PASSWORD: &str = "P5KeyFaucetVectorPassword";

/// What one run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts success and parses stdout as exactly one JSON object.
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        assert!(self.stderr.is_empty(), "stderr: {}", self.stderr);
        assert_eq!(self.stdout.lines().count(), 1, "one line of JSON: {}", self.stdout);
        let value: Value = serde_json::from_str(&self.stdout).unwrap();
        assert!(value.is_object(), "{value}");
        value
    }

    /// Asserts success and returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        &self.stdout
    }

    /// Asserts an input error: exit code 2, nothing on stdout, a message on stderr.
    fn input_error(&self) -> &str {
        assert_eq!(self.code, 2, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        assert!(self.stderr.starts_with("error: "), "stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "stderr: {}", self.stderr);
        &self.stderr
    }
}

/// Runs the binary with `args`, `stdin` and extra environment variables.
fn run_with(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(args)
        .env_remove("BTS_PASSWORD")
        // Help text wraps at the terminal width; pin it.
        .env("COLUMNS", "100")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may exit before reading stdin (e.g. on a bad argument); that is not our error.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, "", &[])
}

fn check(actual: &str, expect: Expect) {
    expect.assert_eq(actual);
}

// ---- key derive ----------------------------------------------------------------------------

#[test]
fn derive_vector_text() {
    let out = run(&[
        "key",
        "derive",
        "--account",
        VECTOR_ACCOUNT,
        "--password",
        VECTOR_PASSWORD,
    ]);
    check(
        out.ok(),
        expect![[r#"
            password keys of faucet-test-1
            owner  public key  BTS78Fq3eszqfiKCFBJusrWL9azF1wSvzJ3BXEhmykfpCg4DBrNQu
                   WIF         5JypTuTrrW6i3BG5Zmb2SU5Jw1fvsjqo1ZaDaMwtXHSaom7qB1F
            active public key  BTS78RyVhLNFHGUaEGV1arChEYkhzcTcR5Vzoo92pKYA87UzndZqz
                   WIF         5Kd6tqYC4PKJAw7Bqk8tVDMCy3Ki7E1PSqGLRUBu7uFhaAGoizd
            memo   public key  BTS5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6
                   WIF         5Jb5pkCXfJL9yBo9WHuV1Uit24vsn3LvxSzspoQRccpVvaEgQTG
        "#]],
    );
}

#[test]
fn derive_vector_json_and_wifs_map_back() {
    let out = run(&[
        "key",
        "derive",
        "--account",
        VECTOR_ACCOUNT,
        "--password",
        VECTOR_PASSWORD,
        "--json",
    ]);
    let v = out.json();
    assert_eq!(v["account"], VECTOR_ACCOUNT);
    assert_eq!(v["prefix"], "BTS");
    let expected = [
        ("owner", "BTS78Fq3eszqfiKCFBJusrWL9azF1wSvzJ3BXEhmykfpCg4DBrNQu"),
        ("active", "BTS78RyVhLNFHGUaEGV1arChEYkhzcTcR5Vzoo92pKYA87UzndZqz"),
        ("memo", "BTS5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6"),
    ];
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    assert_eq!(v["keys"].as_object().unwrap().len(), 3, "{v}");
    for (role, public) in expected {
        assert_eq!(v["keys"][role]["public_key"], public, "{role}");
        let wif = v["keys"][role]["wif"].as_str().unwrap();
        let back = run(&["key", "public", wif, "--json"]).json();
        assert_eq!(back["public_key"], public, "{role}: WIF maps back to the public key");
    }
}

#[test]
fn derive_reads_the_password_from_a_file_stdin_or_the_environment() {
    let owner = "BTS78Fq3eszqfiKCFBJusrWL9azF1wSvzJ3BXEhmykfpCg4DBrNQu";
    let base = ["key", "derive", "--account", VECTOR_ACCOUNT, "--json"];

    let dir = std::env::temp_dir().join(format!("bts-infra-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, format!("{VECTOR_PASSWORD}\n")).unwrap();
    let from_file = run(&[&base[..], &["--password-file", file.to_str().unwrap()]].concat()).json();
    assert_eq!(from_file["keys"]["owner"]["public_key"], owner);
    std::fs::remove_dir_all(&dir).unwrap();

    let from_stdin = run_with(
        &[&base[..], &["--password-file", "-"]].concat(),
        &format!("{VECTOR_PASSWORD}\r\n"),
        &[],
    );
    assert_eq!(from_stdin.json()["keys"]["owner"]["public_key"], owner);

    let from_env = run_with(&base, "", &[("BTS_PASSWORD", VECTOR_PASSWORD)]).json();
    assert_eq!(from_env["keys"]["owner"]["public_key"], owner);

    let prefixed = run_with(
        &[&base[..], &["--prefix", "TEST"]].concat(),
        "",
        &[("BTS_PASSWORD", VECTOR_PASSWORD)],
    );
    let prefixed = prefixed.json();
    assert_eq!(prefixed["prefix"], "TEST");
    assert_eq!(
        prefixed["keys"]["owner"]["public_key"],
        owner.replacen("BTS", "TEST", 1)
    );
}

#[test]
fn derive_needs_exactly_one_password_source() {
    let none = run(&["key", "derive", "--account", VECTOR_ACCOUNT]);
    check(
        none.input_error(),
        expect![[r#"
            error: no password given
            hint: give exactly one of --password-file PATH, the BTS_PASSWORD environment variable or --password PASS
        "#]],
    );
    let two = run_with(
        &[
            "key",
            "derive",
            "--account",
            VECTOR_ACCOUNT,
            "--password",
            VECTOR_PASSWORD,
        ],
        "",
        &[("BTS_PASSWORD", "other-secret-password")],
    );
    let err = two.input_error();
    check(
        err,
        expect![[r#"
            error: the password is given 2 ways (--password, BTS_PASSWORD)
            hint: give exactly one of --password-file PATH, the BTS_PASSWORD environment variable or --password PASS
        "#]],
    );
    assert!(!err.contains(VECTOR_PASSWORD) && !err.contains("other-secret"));
}

#[test]
fn derive_refuses_an_invalid_account_name() {
    let out = run(&["key", "derive", "--account", "Faucet", "--password", VECTOR_PASSWORD]);
    check(
        out.input_error(),
        expect![[r#"
            error: --account "Faucet" is not a valid account name: segment "Faucet" must start with a lowercase letter
            hint: keys derived for it would belong to no account; names are lowercase, e.g. alice-1
        "#]],
    );
}

// ---- key public / key new ------------------------------------------------------------------

#[test]
fn public_key_of_the_reference_wif() {
    check(
        run(&["key", "public", WIF]).ok(),
        expect![[r#"
            BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV
        "#]],
    );
    let test = run(&["key", "public", WIF, "--prefix", "TEST", "--json"]).json();
    assert_eq!(
        test,
        json!({"public_key": "TEST6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV", "prefix": "TEST"})
    );
    // From stdin, so the key stays out of `ps`; surrounding whitespace is ignored.
    let piped = run_with(&["key", "public", "-", "--json"], &format!("  {WIF}\n"), &[]).json();
    assert_eq!(piped, json!({"public_key": PUBLIC, "prefix": "BTS"}));
}

#[test]
fn new_key_maps_back_to_its_public_key() {
    for prefix in ["BTS", "TEST"] {
        let new = run(&["key", "new", "--prefix", prefix, "--json"]).json();
        assert_eq!(new.as_object().unwrap().len(), 3, "{new}");
        assert_eq!(new["prefix"], prefix);
        let wif = new["wif"].as_str().unwrap();
        let public = run(&["key", "public", wif, "--prefix", prefix, "--json"]).json();
        assert_eq!(public["public_key"], new["public_key"]);
        assert!(new["public_key"].as_str().unwrap().starts_with(prefix));
    }
    let a = run(&["key", "new", "--json"]).json();
    let b = run(&["key", "new", "--json"]).json();
    assert_ne!(a["wif"], b["wif"], "keys are random");
    let text = run(&["key", "new"]);
    let lines: Vec<&str> = text.ok().lines().collect();
    assert!(lines.len() == 2 && lines[0].starts_with("public key: BTS") && lines[1].starts_with("WIF:        5"));
}

#[test]
fn bad_wif_is_refused_without_echoing_it() {
    let mut typo = WIF.to_owned();
    typo.replace_range(10..11, "X");
    let out = run(&["key", "public", &typo]);
    let err = out.input_error();
    check(
        err,
        expect![[r#"
            error: WIF argument: the private key (WIF) has a wrong checksum (mistyped or truncated?)
            hint: check the key (it is not shown here): a private key (WIF) is 51 base58 characters starting with 5
        "#]],
    );
    assert!(!err.contains(&typo[..12]) && !err.contains(&typo[30..]));

    let public_instead = run(&["key", "public", PUBLIC]);
    assert!(
        public_instead.input_error().contains("this is a public key"),
        "{}",
        public_instead.stderr
    );
    let junk = run_with(&["key", "public", "-"], "0OIl-not-base58\n", &[]);
    assert!(junk.input_error().contains("not valid base58"), "{}", junk.stderr);
}

#[test]
fn bad_prefix_is_a_usage_error() {
    let out = run(&["key", "new", "--prefix", "1BTS"]);
    assert!(out.input_error().contains("is not an address prefix"), "{}", out.stderr);
}

// ---- name check ----------------------------------------------------------------------------

/// One row of the name table: the name and the verdicts `name check` reports.
struct NameRow {
    name: String,
    valid: bool,
    cheap: bool,
    wallet_ok: bool,
    wallet_cheap: bool,
}

/// Parses `name_rules_table.txt`; `aaaaaaaaaa...(63)` stands for 63 `a`s.
fn name_rows() -> Vec<NameRow> {
    let text = include_str!("data/name_rules_table.txt");
    let mut rows = Vec::new();
    for line in text.lines().skip(1).take_while(|l| !l.trim().is_empty()) {
        let (name, verdicts) = line.split_at(35);
        let name = name.trim_end();
        let name = match name.strip_prefix("aaaaaaaaaa...(") {
            Some(n) => "a".repeat(n.trim_end_matches(')').parse().unwrap()),
            None => name.to_owned(),
        };
        let flags: Vec<bool> = verdicts
            .split_whitespace()
            .filter(|w| *w != "|")
            .map(|w| w == "True")
            .collect();
        assert_eq!(flags.len(), 7, "{line:?}");
        // Columns: core_v core_c | js_v js_noerr js_c | tapinPrem rails.
        rows.push(NameRow {
            name,
            valid: flags[0],
            cheap: flags[1],
            wallet_ok: flags[3],
            wallet_cheap: flags[4],
        });
    }
    rows
}

#[test]
fn name_check_agrees_with_the_reference_table() {
    let rows = name_rows();
    assert_eq!(rows.len(), 34);
    for r in &rows {
        for allow_premium in [false, true] {
            let mut args = vec!["name", "check", r.name.as_str(), "--json"];
            if allow_premium {
                args.push("--allow-premium");
            }
            let v = run(&args).json();
            let faucet_ok = r.valid && r.wallet_ok && (allow_premium || r.wallet_cheap);
            assert_eq!(
                v.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["cheap", "faucet_ok", "name", "reason", "valid", "wallet_ok"],
                "{v}"
            );
            assert_eq!(v["name"], r.name.as_str());
            assert_eq!(v["valid"], r.valid, "{:?} valid", r.name);
            assert_eq!(v["cheap"], r.cheap, "{:?} cheap", r.name);
            assert_eq!(v["wallet_ok"], r.wallet_ok, "{:?} wallet_ok", r.name);
            assert_eq!(
                v["faucet_ok"], faucet_ok,
                "{:?} faucet_ok (premium {allow_premium})",
                r.name
            );
            assert_eq!(v["reason"].is_null(), faucet_ok, "{:?} reason", r.name);
        }
    }
}

#[test]
fn name_check_text() {
    let text = |args: &[&str]| run(&[&["name", "check"], args].concat()).ok().to_owned();
    check(
        &text(&["faucet1"]),
        expect![[r#"
            name "faucet1"
              valid on chain:             yes
              cheap (basic fee on chain): yes
              accepted by bitshares-ui:   yes
              accepted by the faucet:     yes (cheap names only)
        "#]],
    );
    // A failing name is still a successful report: exit code 0.
    check(
        &text(&["faucet"]),
        expect![[r#"
            name "faucet"
              valid on chain:             yes
              cheap (basic fee on chain): no
              accepted by bitshares-ui:   yes
              accepted by the faucet:     no (cheap names only)
              reason: Only cheap names allowed!
        "#]],
    );
    check(
        &text(&["faucet", "--allow-premium"]),
        expect![[r#"
            name "faucet"
              valid on chain:             yes
              cheap (basic fee on chain): no
              accepted by bitshares-ui:   yes
              accepted by the faucet:     yes (premium names allowed)
        "#]],
    );
    check(
        &text(&["abc-d.e"]),
        expect![[r#"
            name "abc-d.e"
              valid on chain:             yes
              cheap (basic fee on chain): yes
              accepted by bitshares-ui:   no
              accepted by the faucet:     no (cheap names only)
              reason: Each account segment should be longer
        "#]],
    );
    // A leading dash is a name to check, not an option.
    check(
        &text(&["-abc"]),
        expect![[r#"
            name "-abc"
              valid on chain:             no
              cheap (basic fee on chain): yes
              accepted by bitshares-ui:   no
              accepted by the faucet:     no (cheap names only)
              reason: segment "-abc" must start with a lowercase letter
        "#]],
    );
}

// ---- tx sign -------------------------------------------------------------------------------

/// Vector 1 of bts-protocol's `account_create.json` (python-bitshares/bitsharesjs/fc agree on it).
fn vector() -> Value {
    serde_json::from_str(include_str!("data/account_create_1.json")).unwrap()
}

/// The vector's unsigned transaction in node JSON.
fn unsigned_tx(v: &Value) -> Value {
    json!({
        "ref_block_num": v["ref_block_num"],
        "ref_block_prefix": v["ref_block_prefix"],
        "expiration": v["expiration"],
        "operations": [[5, v["op"]]],
        "extensions": [],
    })
}

fn sign(args: &[&str], tx: &str) -> Run {
    run_with(&[&["tx", "sign"], args].concat(), tx, &[])
}

#[test]
fn sign_vector_1_json() {
    let v = vector();
    let tx = unsigned_tx(&v);
    let wif = v["wif"].as_str().unwrap();
    let out = sign(&["--chain-id", MAINNET, "--wif", wif, "--json"], &tx.to_string()).json();
    assert_eq!(
        out.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["digest", "hex", "signatures", "transaction", "txid"]
    );
    assert_eq!(out["hex"], v["unsigned_hex"]);
    assert_eq!(out["digest"], v["digest"]);
    assert_eq!(out["txid"], v["txid"]);
    assert_eq!(out["signatures"], json!([v["sig_fc"]]));
    let mut signed = tx.clone();
    signed["signatures"] = json!([v["sig_fc"]]);
    assert_eq!(out["transaction"], signed);

    // The same key from a file, and an explicit empty signature list, give the same result.
    let dir = std::env::temp_dir().join(format!("bts-infra-sign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("registrar.wif");
    std::fs::write(&file, format!("{wif}\n")).unwrap();
    let mut empty_sigs = tx.clone();
    empty_sigs["signatures"] = json!([]);
    let from_file = sign(
        &["--chain-id", MAINNET, "--wif-file", file.to_str().unwrap(), "--json"],
        &serde_json::to_string_pretty(&empty_sigs).unwrap(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(from_file.json(), out);
}

#[test]
fn sign_vector_1_text() {
    let v = vector();
    let tx = unsigned_tx(&v).to_string();
    let out = sign(&["--chain-id", MAINNET, "--wif", v["wif"].as_str().unwrap()], &tx);
    check(
        out.ok(),
        expect![[r#"
            txid:         eb826e75f7105ba0b1bdcaab02015606035440ce
            digest:       ee9e3f35759455a9563628ea1c2943234a7fd8301f581d14b5cb2df02c3b7d95
            signed by:    BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV
            signature:    207f9a42de5892684cfcbf816c7b4a858903fd5c9b1f1eb22f5d5a04cd790be572748632371c65c65c5cb7cc764585768eeb1285096afe06eabb5f907e4218fe7c
            unsigned hex: 5fab8a2b1c3d9e009265010511e10000000000000064c801581b0d6661756365742d746573742d310100000000010326a6c4b8fd92a088cff510295e6a48976b9b546eaad1998d684596658995b56301000001000000000103270c72eee7892dbfa58342d51aa4624b47ac162f68180b7ff00705aafb3ef669010000028221c3af3ac2629bc5976b1332eeeb4595b96ab7671b4725ad1ab9318d80f139050000000000000000
            transaction:  {"ref_block_num":43871,"ref_block_prefix":1025256330,"expiration":"2024-01-01T00:00:30","operations":[[5,{"fee":{"amount":57617,"asset_id":"1.3.0"},"registrar":"1.2.100","referrer":"1.2.200","referrer_percent":7000,"name":"faucet-test-1","owner":{"weight_threshold":1,"account_auths":[],"key_auths":[["BTS78Fq3eszqfiKCFBJusrWL9azF1wSvzJ3BXEhmykfpCg4DBrNQu",1]],"address_auths":[]},"active":{"weight_threshold":1,"account_auths":[],"key_auths":[["BTS78RyVhLNFHGUaEGV1arChEYkhzcTcR5Vzoo92pKYA87UzndZqz",1]],"address_auths":[]},"options":{"memo_key":"BTS5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6","voting_account":"1.2.5","num_witness":0,"num_committee":0,"votes":[],"extensions":[]},"extensions":{}}]],"extensions":[],"signatures":["207f9a42de5892684cfcbf816c7b4a858903fd5c9b1f1eb22f5d5a04cd790be572748632371c65c65c5cb7cc764585768eeb1285096afe06eabb5f907e4218fe7c"]}
        "#]],
    );
}

#[test]
fn sign_refuses_a_bad_wif_without_echoing_it() {
    let v = vector();
    let mut typo = WIF.to_owned();
    typo.replace_range(20..21, "z");
    let out = sign(
        &["--chain-id", MAINNET, "--wif", WIF, "--wif", &typo],
        &unsigned_tx(&v).to_string(),
    );
    let err = out.input_error();
    check(
        err,
        expect![[r#"
            error: --wif #2: the private key (WIF) has a wrong checksum (mistyped or truncated?)
            hint: check the key (it is not shown here): a private key (WIF) is 51 base58 characters starting with 5
        "#]],
    );
    assert!(!err.contains(&typo[..12]) && !err.contains(WIF));
}

#[test]
fn sign_refuses_a_key_with_the_wrong_prefix() {
    let v = vector();
    let tx = unsigned_tx(&v).to_string().replace(
        "BTS5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6",
        "TEST5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6",
    );
    check(
        sign(&["--chain-id", MAINNET, "--wif", WIF], &tx).input_error(),
        expect![[r#"
            error: public key "TEST5soQ3hM2rYD6UhMDdsZg43LEYavbM9i7sdT5LCGzKzCK5SkRr6" has prefix "TEST" but this chain uses "BTS"
            hint: this chain id is a known chain whose keys start with BTS: write the key with that prefix
        "#]],
    );
    // An unknown chain assumes BTS unless told otherwise.
    let private_chain = "11".repeat(32);
    let err = sign(&["--chain-id", &private_chain, "--wif", WIF], &tx);
    assert!(err.input_error().contains("pass --prefix"), "{}", err.stderr);
}

#[test]
fn sign_refuses_garbage_json_with_its_position() {
    check(
        sign(
            &["--chain-id", MAINNET, "--wif", WIF],
            "{\n  \"ref_block_num\": 1,\n  oops\n}",
        )
        .input_error(),
        expect![[r#"
            error: stdin is not valid JSON: key must be a string at line 3 column 3
            hint: expected the node's JSON form of an unsigned transaction: {"ref_block_num":N,"ref_block_prefix":N,"expiration":"YYYY-MM-DDTHH:MM:SS","operations":[[TAG,{...}]],"extensions":[]}
        "#]],
    );
    let empty = sign(&["--chain-id", MAINNET, "--wif", WIF], "");
    assert!(
        empty.input_error().contains("no transaction on stdin"),
        "{}",
        empty.stderr
    );
}

#[test]
fn sign_refuses_an_unknown_operation() {
    let tx = r#"{"ref_block_num": 1, "ref_block_prefix": 2, "expiration": "2024-01-01T00:00:30",
        "operations": [[1, {}]], "extensions": []}"#;
    check(
        sign(&["--chain-id", MAINNET, "--wif", WIF], tx).input_error(),
        expect![[r#"
            error: stdin is not a valid unsigned transaction: operation 1 (limit_order_create) is not supported: bts-infra handles transfer (0), account_create (5), account_update (6), account_upgrade (8), proposal_create (22) and proposal_update (23) at line 2 column 27
            hint: expected the node's JSON form of an unsigned transaction: {"ref_block_num":N,"ref_block_prefix":N,"expiration":"YYYY-MM-DDTHH:MM:SS","operations":[[TAG,{...}]],"extensions":[]}
        "#]],
    );
}

#[test]
fn sign_refuses_what_the_node_would_reject() {
    let v = vector();
    let tx = unsigned_tx(&v).to_string().replace("\"faucet-test-1\"", "\"Faucet\"");
    check(
        sign(&["--chain-id", MAINNET, "--wif", WIF], &tx).input_error(),
        expect![[r#"
            error: operation 0 (account_create) fails the node's check is_valid_name( name ): segment "Faucet" must start with a lowercase letter
            hint: the node would reject this transaction: fix it before signing
        "#]],
    );
    let mut signed = unsigned_tx(&v);
    signed["signatures"] = json!([v["sig_fc"]]);
    check(
        sign(&["--chain-id", MAINNET, "--wif", WIF], &signed.to_string()).input_error(),
        expect![[r#"
            error: the transaction on stdin already has signatures
            hint: tx sign signs an unsigned transaction: remove the "signatures" field (or make it []) and give every signing key
        "#]],
    );
}

#[test]
fn sign_needs_a_chain_id_and_a_key() {
    let tx = unsigned_tx(&vector()).to_string();
    let no_chain = sign(&["--wif", WIF], &tx);
    let err = no_chain.input_error();
    assert!(err.contains("--chain-id"), "{err}");
    assert!(!err.contains(WIF), "{err}");
    let bad_chain = sign(&["--chain-id", "4018d784", "--wif", WIF], &tx);
    assert!(
        bad_chain.input_error().contains("64 hex characters"),
        "{}",
        bad_chain.stderr
    );
    check(
        sign(&["--chain-id", MAINNET], &tx).input_error(),
        expect![[r#"
            error: no signing key given
            hint: pass --wif-file PATH (or --wif WIF)
        "#]],
    );
    let twice = sign(&["--chain-id", MAINNET, "--wif", WIF, "--wif", WIF], &tx);
    assert!(twice.input_error().contains("given twice"), "{}", twice.stderr);
}

// ---- help ----------------------------------------------------------------------------------

#[test]
fn help_texts() {
    check(
        run(&["--help"]).ok(),
        expect![[r#"
            BitShares infrastructure: devnet and local stack, keys, account names and transaction signing

            Usage: bts-infra [OPTIONS] <COMMAND>

            Commands:
              key          Create keys, show a key's public key, derive wallet password keys
              name         Check account names against the chain, wallet and faucet rules
              tx           Sign transactions offline
              devnet       Run a BitShares-compatible development chain (WebSocket and HTTP JSON-RPC, like
                           witness_node)
              up           Run the local stack on devnets: a mainnet-like and a testnet-like network, several
                           nodes each
              faucet       Run the onboarding faucet: registers accounts for bitshares-ui and other wallets
              account      Register an account through a faucet with the reference wallet's password keys
              gateway      Run the gateway: a health-aware load balancer in front of BitShares API nodes
              probe        Probe public endpoints as a wallet does; keep their history and serve a status page
              node         Run a BitShares node: render witness_node's config from a node spec, run it, probe
                           its readiness
              healthcheck  Exit 0 if an HTTP URL answers 2xx (a container HEALTHCHECK that needs no curl)
              registrar    Set up, watch and rotate the faucet's registrar account
              fleet        Deploy and operate a fleet of nodes, gateways and the faucet from one inventory file
              help         Print this message or the help of the given subcommand(s)

            Options:
                  --log-format <FORMAT>  Log format of long-running commands (on stderr): text, coloured only on
                                         a terminal, or json, one object per line for log shippers [env:
                                         BTS_LOG_FORMAT=] [default: text]
              -h, --help                 Print help
              -V, --version              Print version

            Exit codes: 0 success, 1 failure, 2 bad usage or bad input. With --json, stdout is exactly one JSON
            object; errors go to stderr.
        "#]],
    );
    check(
        run(&["key", "--help"]).ok(),
        expect![[r#"
            Create keys, show a key's public key, derive wallet password keys

            Usage: bts-infra key [OPTIONS] <COMMAND>

            Commands:
              new     Create a random private key; print it (WIF) and its public key
              public  Print the public key of a private key (WIF)
              derive  Derive an account's owner, active and memo keys from its password, as bitshares-ui does
              help    Print this message or the help of the given subcommand(s)

            Options:
                  --log-format <FORMAT>  Log format of long-running commands (on stderr): text, coloured only on
                                         a terminal, or json, one object per line for log shippers [env:
                                         BTS_LOG_FORMAT=] [default: text]
              -h, --help                 Print help
        "#]],
    );
    check(
        run(&["key", "derive", "--help"]).ok(),
        expect![[r#"
            Derive an account's owner, active and memo keys from its password, as bitshares-ui does

            Usage: bts-infra key derive [OPTIONS] --account <NAME>

            Options:
                  --account <NAME>        The account the keys are for (must be a valid account name)
                  --log-format <FORMAT>   Log format of long-running commands (on stderr): text, coloured only
                                          on a terminal, or json, one object per line for log shippers [env:
                                          BTS_LOG_FORMAT=] [default: text]
                  --password <PASS>       The account's password (visible in `ps`: prefer --password-file or
                                          BTS_PASSWORD)
                  --password-file <PATH>  Read the password from this file (- for stdin); a trailing line break
                                          is not part of it
                  --prefix <PREFIX>       Address prefix of the chain: BTS (mainnet), TEST (public testnet) or
                                          your own chain's [default: BTS]
                  --json                  Print exactly one JSON object on stdout instead of text
              -h, --help                  Print help

            The password comes from exactly one of --password, --password-file or the BTS_PASSWORD environment
            variable (an empty BTS_PASSWORD counts as unset). --password is visible to other users in `ps`;
            prefer the other two.
        "#]],
    );
    check(
        run(&["name", "check", "--help"]).ok(),
        expect![[r#"
            Report whether a name is valid on chain, cheap, accepted by the wallet and by the faucet

            Usage: bts-infra name check [OPTIONS] <NAME>

            Arguments:
              <NAME>  The account name to check (may start with '-', which is then reported as invalid)

            Options:
                  --allow-premium        Let the faucet register premium names too (it then pays the premium
                                         fee)
                  --log-format <FORMAT>  Log format of long-running commands (on stderr): text, coloured only on
                                         a terminal, or json, one object per line for log shippers [env:
                                         BTS_LOG_FORMAT=] [default: text]
                  --json                 Print exactly one JSON object on stdout instead of text
              -h, --help                 Print help

            The exit code is 0 whenever the name could be checked, also when it fails a rule: the output is a
            report. Scripts should read "faucet_ok" (or "valid") from --json.
        "#]],
    );
    check(
        run(&["tx", "sign", "--help"]).ok(),
        expect![[r#"
            Sign an unsigned transaction read from stdin (node JSON) and print it signed

            Usage: bts-infra tx sign [OPTIONS] --chain-id <HEX>

            Options:
                  --chain-id <HEX>       Chain id the signatures commit to (64 hex characters, from
                                         get_chain_properties)
                  --log-format <FORMAT>  Log format of long-running commands (on stderr): text, coloured only on
                                         a terminal, or json, one object per line for log shippers [env:
                                         BTS_LOG_FORMAT=] [default: text]
                  --wif <WIF>            Signing key in WIF; repeat for more signers (visible in `ps`: prefer
                                         --wif-file)
                  --wif-file <PATH>      File holding one signing key in WIF (surrounding whitespace ignored);
                                         repeatable
                  --prefix <PREFIX>      Prefix every public key in the transaction must carry [default: the
                                         chain id's (BTS on mainnet, TEST on the public testnet), else BTS]
                  --json                 Print exactly one JSON object on stdout instead of text
              -h, --help                 Print help

            Keys from --wif sign first, then keys from --wif-file, each in the order given. Supported
            operations: transfer (0), account_create (5), account_update (6), account_upgrade (8),
            proposal_create (22), proposal_update (23).

            Example: bts-infra tx sign --chain-id 4018d784...12c8 --wif-file registrar.wif < tx.json
        "#]],
    );
    check(
        run(&["registrar", "rotate-key", "--help"]).ok(),
        expect![[r#"
            Propose a new active key for a committee-owned registrar (a proposal committee members approve)

            Usage: bts-infra registrar rotate-key [OPTIONS] --name <NAME> --new-active-key <PUBKEY> --fee-payer <ACCOUNT> --node <URL>

            Options:
                  --log-format <FORMAT>        Log format of long-running commands (on stderr): text, coloured
                                               only on a terminal, or json, one object per line for log shippers
                                               [env: BTS_LOG_FORMAT=] [default: text]
                  --name <NAME>                The registrar's account name (or id)
                  --new-active-key <PUBKEY>    The registrar's new active key (the faucet's new key)
                  --fee-payer <ACCOUNT>        The account that proposes and pays the proposal's fee (any funded
                                               account)
                  --fee-payer-key-file <PATH>  File holding the fee payer's active key (WIF); not needed with
                                               --dry-run
                  --expiration <DURATION>      How long committee members have to approve [default: 7days]
                  --review-period <DURATION>   A review period before the expiration (the proposal then executes
                                               at its expiration) [default: none, or the chain's committee
                                               review period when committee-account itself must approve]
                  --owner-account <ACCOUNT>    The account that owns the registrar [default: committee-account]
                  --dry-run                    Print the unsigned transaction (node JSON) and stop: for review,
                                               or to sign elsewhere
                  --broadcast                  Send the signed transaction and wait for its block
                  --node <URL>                 A node of the chain: ws://, wss://, http:// or https://
                  --timeout <DURATION>         How long a call may take; a broadcast waits for its block within
                                               it [default: 30s]
                  --json                       Print exactly one JSON object on stdout instead of text
              -h, --help                       Print help

            The proposal wraps an account_update of the registrar's active authority; any funded account pays
            its fee. It executes when committee members holding a majority of the committee's weight have
            approved it (`registrar approve`), or at its expiration when it has a review period.
        "#]],
    );
}

// ---- probe ---------------------------------------------------------------------------------

#[test]
fn probe_refuses_a_bad_configuration_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.toml");
    std::fs::write(
        &file,
        "region = \"us\"\n[[endpoint]]\nname = \"main\"\nnetwork = \"mainnet\"\nws = \"wss://a.example/\"\n",
    )
    .unwrap();
    let missing = run(&["probe", "--config", file.to_str().unwrap()]);
    let text = missing.input_error().replace(file.to_str().unwrap(), "probe.toml");
    check(
        &text,
        expect![[r#"
            error: probe.toml: endpoint[0].chain-id: missing: the chain the endpoint must serve (get_chain_id on a node you trust)
            hint: fix the key named above (see docs/kpis.md)
        "#]],
    );
    let absent = run(&["probe", "--config", "/nonexistent/probe.toml"]);
    check(
        absent.input_error(),
        expect![[r#"
            error: cannot read /nonexistent/probe.toml: No such file or directory (os error 2)
            hint: give the prober's configuration file (see docs/kpis.md)
        "#]],
    );
}
