//! The launcher's core is pure: specs, plugins, the option table, the extra config, key files,
//! rendering and the readiness judgement do no IO and read no clock. The crate depends on tokio
//! and nix for its edges (`run.rs`, `ready.rs`, `es.rs`), so the compiler cannot keep them out of
//! the core; this test does.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use std::path::{Path, PathBuf};

/// The IO edges; everything else under src/ is the core.
const EDGES: [&str; 3] = ["run.rs", "ready.rs", "es.rs"];

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
fn the_core_does_no_io() {
    let forbidden = [
        "tokio",
        "nix::",
        "std::fs",
        "std::process",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "SystemTime",
        "Instant",
        "std::env",
        "thread::",
    ];
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut checked = 0;
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap();
        if EDGES.contains(&name) || name == "lib.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} mentions {word}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 12, "found only {checked} core files");
}
