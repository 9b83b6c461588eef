#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.
//! The chain core is pure: no async runtime, no network, no clock, no randomness. The crate
//! depends on tokio and axum for its server, so the compiler cannot keep them out of `chain/`;
//! this test does.

use std::path::Path;

#[test]
fn the_chain_core_does_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/chain");
    let forbidden = [
        "tokio",
        "axum",
        "futures",
        "std::net",
        "std::fs",
        "std::time",
        "SystemTime",
        "Instant",
        "thread::",
        "rand::",
        "rand_core",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for word in forbidden {
                assert!(!text.contains(word), "{} mentions {word}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "found only {checked} files in {}", dir.display());
}
