//! Tests of the validated configuration layer: defaults, errors that name the key, the key sources.

use super::*;
use std::time::Duration;

const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
const TESTNET: &str = "39f5e2ede1f8bc1a3a54a7914414e3779e33193f1f5693510e73cb7a87617447";

fn minimal(extra: &str) -> String {
    format!("[chain]\nid = \"{TESTNET}\"\nnodes = [\"http://127.0.0.1:8090\"]\n[registrar]\nname = \"faucet\"\n{extra}")
}

fn load(text: &str, env: &[(&str, &str)]) -> Result<FaucetConfig, ConfigError> {
    let raw = RawConfig::from_toml(text).unwrap();
    FaucetConfig::from_raw(raw, |k| {
        env.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned())
    })
}

fn key_of(e: ConfigError) -> String {
    match e {
        ConfigError::Invalid { key, .. } => key,
        other => panic!("not an Invalid error: {other}"),
    }
}

#[test]
fn defaults_and_the_key_from_the_environment() {
    let c = load(&minimal(""), &[(DEFAULT_KEY_ENV, WIF)]).unwrap();
    assert_eq!(c.prefix, Prefix::TEST, "the prefix of a known chain id");
    assert_eq!(c.referrer_percent, 7000);
    assert_eq!(c.unknown_referrer, UnknownReferrer::UseRegistrar);
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
    assert!(!c.names.allow_premium);
    assert_eq!(c.registrar_key.to_wif(), WIF);
    // The key never shows in Debug output.
    assert!(!format!("{c:?}").contains(WIF));
}

#[test]
fn each_invalid_value_names_its_key() {
    let env = [(DEFAULT_KEY_ENV, WIF)];
    let base = minimal("");
    let chain = |line: &str, drop: &str| {
        base.replace(drop, "")
            .replace("[chain]\n", &format!("[chain]\n{line}\n"))
    };
    let registrar = |line: &str| base.replace("name = \"faucet\"\n", &format!("name = \"faucet\"\n{line}\n"));
    let id_line = format!("id = \"{TESTNET}\"\n");
    let nodes_line = "nodes = [\"http://127.0.0.1:8090\"]\n";
    let cases = [
        (registrar("referrer-percent = 10001"), "registrar.referrer-percent"),
        (registrar("unknown-referrer = \"maybe\""), "registrar.unknown-referrer"),
        (registrar("key-env = \"MY-KEY\""), "registrar.key-env"),
        (chain("prefix = \"BTS\"", "\u{0}"), "chain.prefix"),
        (chain("nodes = [\"https://node\"]", nodes_line), "chain.nodes[0]"),
        (chain("nodes = []", nodes_line), "chain.nodes"),
        (chain("id = \"abc\"", &id_line), "chain.id"),
        (chain("", &id_line), "chain.id"),
        (base.replace("name = \"faucet\"", "name = \"Faucet\""), "registrar.name"),
    ];
    for (text, key) in cases {
        assert_eq!(key_of(load(&text, &env).unwrap_err()), key, "{text}");
    }
    let top = |line: &str| format!("{line}\n{base}");
    for (line, key) in [
        ("path-prefix = \"onboarding\"", "path-prefix"),
        ("listen = \"localhost\"", "listen"),
        ("database-url = \"mysql://x\"", "database-url"),
    ] {
        assert_eq!(key_of(load(&top(line), &env).unwrap_err()), key, "{line}");
    }
    let proxy = format!("{base}[proxy]\ntrusted = [\"10.0.0.0/8\", \"nonsense\"]\n");
    assert_eq!(key_of(load(&proxy, &env).unwrap_err()), "proxy.trusted[1]");
    let timeouts = format!("{base}[timeouts]\ntransaction-expiration = \"2d\"\n");
    assert_eq!(
        key_of(load(&timeouts, &env).unwrap_err()),
        "timeouts.transaction-expiration"
    );
}

#[test]
fn the_key_comes_from_exactly_one_place_and_is_never_shown() {
    let none = load(&minimal(""), &[]).unwrap_err();
    assert!(none.to_string().contains(DEFAULT_KEY_ENV), "{none}");
    let bad = load(
        &minimal(""),
        &[(DEFAULT_KEY_ENV, "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD4")],
    )
    .unwrap_err();
    assert!(!bad.to_string().contains("5KQwrPbw"), "{bad}");
    let public = load(
        &minimal(""),
        &[(
            DEFAULT_KEY_ENV,
            "TEST6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV",
        )],
    )
    .unwrap_err();
    assert!(public.to_string().contains("public key"), "{public}");

    let dir = std::env::temp_dir().join(format!("bts-faucet-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("registrar.wif");
    std::fs::write(&file, format!("{WIF}\n")).unwrap();
    let with_file = minimal(&format!("key-file = {:?}\n", file.display().to_string()));
    assert_eq!(load(&with_file, &[]).unwrap().registrar_key.to_wif(), WIF);
    let twice = load(&with_file, &[(DEFAULT_KEY_ENV, WIF)]).unwrap_err();
    assert!(twice.to_string().contains("twice"), "{twice}");
    let custom = minimal("key-env = \"MY_KEY\"\n");
    assert_eq!(load(&custom, &[("MY_KEY", WIF)]).unwrap().registrar_key.to_wif(), WIF);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn limits_zero_means_off_and_prefixes_are_normalised() {
    let text = format!(
        "path-prefix = \"/onboarding/\"\n{}[limits]\nip-interval = \"0s\"\nip-per-day = 0\nglobal-per-hour = 3\n",
        minimal("")
    );
    let c = load(&text, &[(DEFAULT_KEY_ENV, WIF)]).unwrap();
    assert_eq!(c.path_prefix.as_deref(), Some("/onboarding"));
    assert_eq!(
        c.limits,
        Limits {
            ip_interval: None,
            ip_per_day: None,
            global_per_hour: Some(3)
        }
    );
    assert_eq!(parse_path_prefix(Some("/".into())).unwrap(), None);
    assert_eq!(parse_path_prefix(Some("/a/b".into())).unwrap().as_deref(), Some("/a/b"));
    assert!(parse_path_prefix(Some("/a//b".into())).is_err());
    assert!(parse_path_prefix(Some("/stats".into())).is_err());
    assert!(c.check().is_ok());
    let mut bad = c.clone();
    bad.path_prefix = Some("/".into());
    assert!(bad.check().is_err());
    assert_eq!(c.timeouts.node, Duration::from_secs(5));
}
