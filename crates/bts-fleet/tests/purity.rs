//! bts-fleet is pure: the inventory, its checks and the rendering do no IO and read no clock.
//! It depends on bts-node (for the launcher's spec check), which brings tokio along, so the
//! compiler cannot keep IO out; this test does. The IO edge (files, secrets, SSH, Docker) is the
//! caller's.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_crate_does_no_io() {
    let forbidden = [
        "tokio",
        "std::fs",
        "std::process",
        "std::env",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "SystemTime",
        "Instant",
        "thread::",
    ];
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() >= 10, "found only {} files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word}", path.display());
        }
    }
}
