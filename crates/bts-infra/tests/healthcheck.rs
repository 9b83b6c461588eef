//! `bts-infra healthcheck URL`, the services image's HEALTHCHECK: exit 0 on a 2xx answer, else 1
//! with what answered.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn healthcheck(url: &str, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["healthcheck", url, "--timeout", "5s"])
        .args(extra)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn healthy_unhealthy_and_unreachable() {
    let mut up = Command::new(env!("CARGO_BIN_EXE_bts-infra"))
        .args(["up", "--port", "0", "--json", "--block-interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(up.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let report: serde_json::Value = serde_json::from_str(&line).unwrap();
    let gateway = report["gateway"]["mainnet_http"]
        .as_str()
        .unwrap()
        .trim_end_matches('/');

    let (code, out, err) = healthcheck(&format!("{gateway}/health"), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("answered 200"), "{out}");

    // --print-body: the answer itself (how `fleet status` reads a gateway's status).
    let (code, out, err) = healthcheck(&format!("{gateway}/status.json"), &["--print-body"]);
    assert_eq!(code, 0, "{out}{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["networks"][0]["name"], "mainnet-like", "{out}");

    // --method POST: a gateway's admin action from localhost (how the fleet cordons a backend).
    let (code, out, err) = healthcheck(
        &format!("{gateway}/admin/backends/mainnet-like/0/cordon"),
        &["--method", "POST", "--print-body"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"cordoned\":true"), "{out}");

    // A node answers a plain GET with 400, as witness_node does: not a health endpoint.
    let node = report["networks"][0]["nodes"][0]["http"].as_str().unwrap();
    let (code, _, err) = healthcheck(node, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("answered 400"), "{err}");

    let _ = Command::new("kill").args(["-TERM", &up.id().to_string()]).status();
    up.wait().unwrap();
    let (code, _, err) = healthcheck(&format!("{gateway}/health"), &[]);
    assert_eq!(code, 1);
    assert!(err.contains(gateway), "says which URL failed: {err}");
}
