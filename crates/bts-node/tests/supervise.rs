//! The supervisor against a stand-in for witness_node (no witness_node can run in CI): a shell
//! script that records the signals it receives, prints witness_node's shutdown log lines and
//! exits the way the test tells it to. Checks that a stop becomes SIGINT, that a child ignoring
//! it is killed after the grace period, that exit codes and deaths by signal are passed on, and
//! that a crash during shutdown (witness_node 7.0.2 with bitshares-core issue 2717) is told apart
//! from a clean stop.

#![allow(clippy::unwrap_used)] // Reason: test code, where a panic is the failure report.

use bts_node::run::{Outcome, spawn, supervise};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The stand-in. It is run as `sh SCRIPT`, so the file is never executed while open for writing.
const STAND_IN: &str = r#"
rec="$1"; mode="$2"
# A crash must not leave a core file behind.
ulimit -c 0
on_int() {
  echo INT >> "$rec/signals"
  [ "$mode" = stubborn ] && return
  # A background job ignores SIGINT in a non-interactive shell: end the sleep explicitly, with
  # SIGKILL, as a SIGTERM can be lost while the forked shell is still becoming `sleep`.
  kill -KILL "$sleeper" 2>/dev/null
  # witness_node 7.0.2's own lines (bitshares-core issue 2717 shows the crashing run).
  echo "main.cpp:214 operator() ] Caught SIGINT, attempting to exit cleanly" >&2
  echo "application.cpp:1080 shutdown ] Shutting down application" >&2
  echo "application.cpp:1088 shutdown ] Shutting down plugins" >&2
  case "$mode" in
    # Its segfault handler prints a stack trace and aborts: status 134 through a shell.
    abort-on-stop) trap - ABRT; kill -ABRT $$ ;;
    segv-on-stop) trap - SEGV; kill -SEGV $$ ;;
    fail-on-stop) exit 134 ;;
  esac
  echo "db_management.cpp close ] Done writing object database to disk" >&2
  exit 0
}
trap on_int INT
trap 'echo TERM >> "$rec/signals"; exit 3' TERM
case "$mode" in
  exit7) exit 7 ;;
  crash) kill -KILL $$ ;;
esac
# The sleeper is started before `started` is printed, so a signal never finds it unnamed.
sleep 1000 & sleeper=$!
echo started
while :; do wait "$sleeper"; done
"#;

/// A fresh directory for one test's records, with the stand-in script in it.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("supervise-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stand-in.sh"), STAND_IN).unwrap();
    dir
}

/// Starts the stand-in in `mode` and returns it with a future that completes once it has set
/// its traps (it prints `started` then).
fn start(dir: &Path, mode: &str) -> (Child, impl Future<Output = ()> + use<>) {
    // A test run started in the background of a non-interactive shell (`cmd &`) inherits SIGINT
    // ignored, and a shell cannot trap a signal that was ignored when it started. Catching SIGINT
    // here (tokio keeps its handler for the process's life) makes exec give the stand-in the
    // default, as `node run` does by installing its own SIGINT handler before it spawns.
    let _ = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let mut command = Command::new("sh");
    command
        .arg(dir.join("stand-in.sh"))
        .arg(dir)
        .arg(mode)
        .stdout(Stdio::piped());
    let mut child = spawn(command).unwrap();
    let stdout = child.stdout.take().unwrap();
    let started = async move {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await.unwrap();
        assert_eq!(line, "started\n");
    };
    (child, started)
}

fn signals(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("signals")).unwrap_or_default()
}

#[tokio::test]
async fn a_stop_becomes_sigint_and_a_clean_exit_passes_on() {
    let dir = scratch("clean");
    let (child, started) = start(&dir, "clean");
    let outcome = supervise(child, Duration::from_secs(600), started).await.unwrap();
    assert_eq!(
        outcome,
        Outcome {
            code: 0,
            signal: None,
            stopped: true,
            killed: false
        }
    );
    assert!(!outcome.crashed_during_shutdown() && !outcome.replays_next_start());
    assert_eq!(signals(&dir), "INT\n", "one SIGINT, no SIGTERM");
}

#[tokio::test]
async fn a_child_that_ignores_sigint_is_killed_after_the_grace_period() {
    let dir = scratch("stubborn");
    let (child, started) = start(&dir, "stubborn");
    let outcome = supervise(child, Duration::from_millis(300), started).await.unwrap();
    assert_eq!(
        outcome,
        Outcome {
            code: 128 + 9,
            signal: Some(9),
            stopped: true,
            killed: true
        }
    );
    assert!(outcome.replays_next_start());
    assert!(!outcome.crashed_during_shutdown(), "a kill is reported as a kill");
    assert_eq!(signals(&dir), "INT\n");
}

#[tokio::test]
async fn a_crash_during_shutdown_is_told_apart_from_a_clean_stop() {
    for (mode, code, signal, name) in [
        ("abort-on-stop", 128 + 6, Some(6), Some("SIGABRT")),
        ("segv-on-stop", 128 + 11, Some(11), Some("SIGSEGV")),
        // A wrapper that runs witness_node as its child passes the status on as an exit code.
        ("fail-on-stop", 134, None, None),
    ] {
        let dir = scratch(mode);
        let (child, started) = start(&dir, mode);
        let outcome = supervise(child, Duration::from_secs(600), started).await.unwrap();
        assert_eq!(
            outcome,
            Outcome {
                code,
                signal,
                stopped: true,
                killed: false
            },
            "{mode}"
        );
        assert!(outcome.crashed_during_shutdown(), "{mode}");
        assert!(outcome.replays_next_start(), "{mode}");
        assert_eq!(outcome.signal_name().as_deref(), name, "{mode}");
        assert_eq!(signals(&dir), "INT\n", "{mode}: one SIGINT and no kill");
    }
}

#[tokio::test]
async fn exit_codes_and_deaths_by_signal_pass_on() {
    for (mode, code, signal) in [("exit7", 7, None), ("crash", 128 + 9, Some(9))] {
        let dir = scratch(mode);
        let mut command = Command::new("sh");
        command.arg(dir.join("stand-in.sh")).arg(&dir).arg(mode);
        let never = std::future::pending::<()>();
        let outcome = supervise(spawn(command).unwrap(), Duration::from_secs(600), never)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Outcome {
                code,
                signal,
                stopped: false,
                killed: false
            },
            "{mode}"
        );
        assert!(!outcome.crashed_during_shutdown(), "{mode}: no stop was asked for");
        assert_eq!(outcome.replays_next_start(), signal.is_some(), "{mode}");
        assert_eq!(signals(&dir), "", "{mode}: nobody sent a signal");
    }
}

#[tokio::test]
async fn a_missing_program_is_reported_by_name() {
    let error = spawn(Command::new("/nonexistent/witness_node")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot start /nonexistent/witness_node: "),
        "{error}"
    );
}
