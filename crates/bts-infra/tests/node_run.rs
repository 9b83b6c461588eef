//! `bts-infra node run` against a stand-in for witness_node (no witness_node can run in CI): a
//! shell script that records its arguments, the config.ini it was given and the signals it
//! receives. The test sends SIGTERM to the launcher, as `docker stop` does, and checks that the
//! stand-in gets SIGINT, that one ignoring it is killed after the grace period, that one crashing
//! during shutdown (as witness_node 7.0.2 does after bitshares-core issue 2717) is reported as
//! such, and that exit codes pass through.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// Held while a stand-in is written and while any process is started: a process forked while
/// the script is still open for writing would make executing it fail ("Text file busy").
static FORK: Mutex<()> = Mutex::new(());

const STAND_IN: &str = r#"#!/bin/sh
# Stand-in for witness_node: records what it was started with and the signals it receives.
rec="${0%/*}"
mode=$(cat "$rec/mode")
printf '%s\n' "$@" > "$rec/args"
cp "$2/config.ini" "$rec/config.ini"
# A crash must not leave a core file behind.
ulimit -c 0
on_int() {
  echo INT >> "$rec/signals"
  [ "$mode" = stubborn ] && return
  # A background job ignores SIGINT in a non-interactive shell: end the sleep explicitly, with
  # SIGKILL, as a SIGTERM can be lost while the forked shell is still becoming `sleep`.
  kill -KILL "$sleeper" 2>/dev/null
  echo "application.cpp:1088 shutdown ] Shutting down plugins" >&2
  # witness_node 7.0.2 after a client asked for a missing plugin's API: its segfault handler
  # prints a stack trace and aborts before the object database is written.
  [ "$mode" = abort-on-stop ] && { trap - ABRT; kill -ABRT $$; }
  echo "Done writing object database to disk" >&2
  exit 0
}
trap on_int INT
trap 'echo TERM >> "$rec/signals"; exit 3' TERM
case "$mode" in
  exit7) exit 7 ;;
esac
# The sleeper is started before `started` is printed, so a signal never finds it unnamed.
sleep 1000 & sleeper=$!
echo started
while :; do wait "$sleeper"; done
"#;

/// A fresh directory holding the stand-in (told to behave as `mode`) and a data directory.
fn stand_in(name: &str, mode: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("node-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mode"), mode).unwrap();
    let script = dir.join("witness_node");
    let _guard = FORK.lock().unwrap();
    std::fs::write(&script, STAND_IN).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Starts `bts-infra node run` for a mainnet seed with the stand-in, plus `extra` arguments.
fn launch(dir: &Path, extra: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    command
        .args([
            "node",
            "run",
            "--network",
            "mainnet",
            "--mode",
            "seed",
            "--rpc-endpoint",
            "off",
        ])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--witness-node")
        .arg(dir.join("witness_node"))
        .args(extra)
        // Only what the test sets: no BTS_NODE_* from the environment the tests run in.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _guard = FORK.lock().unwrap();
    command.spawn().unwrap()
}

/// Reads the launcher's stdout (the stand-in's, inherited) up to the stand-in's `started`.
fn wait_started(child: &mut Child) {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "started\n");
}

fn sigterm(child: &Child) {
    let _guard = FORK.lock().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the launcher and returns its exit code and stderr.
fn finish(mut child: Child) -> (i32, String) {
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap(), stderr)
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn allow_root() -> &'static [&'static str] {
    &["--allow-root"]
}

#[test]
fn sigterm_becomes_sigint_and_the_node_exits_cleanly() {
    let dir = stand_in("clean", "clean");
    let mut child = launch(&dir, allow_root());
    wait_started(&mut child);
    sigterm(&child);
    let (code, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        read(dir.join("signals")),
        "INT\n",
        "SIGTERM to the launcher is one SIGINT to witness_node"
    );
    let data = dir.join("data");
    assert_eq!(read(dir.join("args")), format!("--data-dir\n{}\n", data.display()));
    let config = read(dir.join("config.ini"));
    assert!(
        config.contains("\nplugins =\n") && config.contains("p2p-accept-incoming-connections = true\n"),
        "{config}"
    );
    let mode = std::fs::metadata(data.join("config.ini")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(stderr.contains("stopping witness_node with SIGINT"), "{stderr}");
    assert!(stderr.contains("Done writing object database to disk"), "{stderr}");
    assert!(!stderr.contains("crashed"), "{stderr}");
}

#[test]
fn a_node_that_does_not_stop_is_killed_after_the_grace_period() {
    let dir = stand_in("stubborn", "stubborn");
    let mut child = launch(&dir, &["--allow-root", "--grace-period", "300ms"]);
    wait_started(&mut child);
    sigterm(&child);
    let (code, stderr) = finish(child);
    assert_eq!(code, 128 + 9, "{stderr}");
    assert_eq!(read(dir.join("signals")), "INT\n");
    assert!(
        stderr.contains("did not stop within 300ms of SIGINT and was killed"),
        "{stderr}"
    );
}

#[test]
fn a_crash_during_shutdown_is_reported_and_its_status_passed_on() {
    let dir = stand_in("abort", "abort-on-stop");
    let mut child = launch(&dir, allow_root());
    wait_started(&mut child);
    sigterm(&child);
    let (code, stderr) = finish(child);
    assert_eq!(code, 128 + 6, "{stderr}");
    assert_eq!(read(dir.join("signals")), "INT\n");
    assert!(!stderr.contains("Done writing object database"), "{stderr}");
    assert!(
        stderr.contains("error: witness_node crashed during shutdown (exit status 134, SIGABRT)"),
        "{stderr}"
    );
    assert!(stderr.contains("the next start replays the whole chain"), "{stderr}");
    assert!(stderr.contains("bitshares-core issue 2717"), "{stderr}");
}

#[test]
fn the_exit_code_of_witness_node_passes_through() {
    let dir = stand_in("exit7", "exit7");
    let (code, stderr) = finish(launch(&dir, allow_root()));
    assert_eq!(code, 7, "{stderr}");
    assert_eq!(read(dir.join("signals")), "");
}

#[test]
fn a_missing_witness_node_is_an_input_error_and_nothing_is_installed() {
    let dir = stand_in("missing", "clean");
    std::fs::remove_file(dir.join("witness_node")).unwrap();
    let (code, stderr) = finish(launch(&dir, allow_root()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not installed or not on PATH"), "{stderr}");
    assert!(
        stderr.contains("hint: install bitshares-core's witness_node"),
        "{stderr}"
    );
}

#[test]
fn root_is_refused_unless_allowed() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        // Not root: nothing to refuse; the decision itself is unit-tested in bts-node (run.rs).
        return;
    }
    let dir = stand_in("root", "exit7");
    let (code, stderr) = finish(launch(&dir, &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: refusing to run witness_node as root"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-root"), "{stderr}");
    assert!(!dir.join("args").exists(), "the stand-in was not started");
}
