//! The log of long-running commands as containers and log shippers get it: no colour codes when
//! stderr is not a terminal, and one JSON object per line with `--log-format json` (or
//! `BTS_LOG_FORMAT=json`).

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs a devnet with a data dir (so that it logs at `info`), stops it, and returns its stderr.
fn devnet_log(flag: Option<&str>, env: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let mut command = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    command
        .args(["devnet", "--listen", "127.0.0.1:0", "--json", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("NO_COLOR")
        .env_remove("BTS_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    if let Some(format) = flag {
        command.args(["--log-format", format]);
    }
    if let Some(format) = env {
        command.env("BTS_LOG_FORMAT", format);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with('{'), "{line}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    std::fs::read_to_string(log).unwrap()
}

#[test]
fn text_logs_carry_no_colour_codes_off_a_terminal() {
    let text = devnet_log(None, None);
    assert!(text.contains("INFO"), "{text}");
    assert!(text.contains("new block file"), "{text}");
    assert!(!text.contains('\u{1b}'), "no escape sequences in a file: {text:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    for (flag, env) in [(Some("json"), None), (None, Some("json"))] {
        let text = devnet_log(flag, env);
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect();
        let block_file = lines
            .iter()
            .find(|l| l["message"] == "new block file")
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(block_file["level"], "INFO");
        assert_eq!(block_file["target"], "bts_devnet::store");
        assert!(
            block_file["path"].as_str().unwrap().ends_with("blocks.log"),
            "{block_file}"
        );
        assert!(block_file["timestamp"].is_string(), "{block_file}");
    }
}
