//! Running witness_node (IO edge): write the rendered config.ini, wait for Elasticsearch if the
//! node needs it, start witness_node, and stop it the way it needs to be stopped.
//!
//! witness_node writes its object database to disk when it stops cleanly ("Writing object
//! database to disk ... please DO NOT kill the program"); killed instead, it replays the chain
//! at the next start, which takes hours on mainnet. So a stop signal to the launcher (SIGTERM
//! from `docker stop` or Kubernetes, SIGINT from a terminal) becomes one SIGINT to witness_node,
//! then the launcher waits for the grace period and only then sends SIGKILL. witness_node runs in
//! its own process group, so a terminal's Ctrl-C reaches it once, through the launcher.
//!
//! After the stop it asked for, the launcher tells a clean end (exit 0, after "Done writing
//! object database to disk") from a crash by the exit status alone: witness_node's output goes
//! straight to the launcher's stdout and stderr, unread, so the status is what it observes. A
//! crash during shutdown is what witness_node 7.0.2 does once a client has asked for the API of a
//! plugin it does not load (bitshares-core issue 2717; the spec's plugin rules prevent it), and
//! it costs a full replay at the next start, so it is logged as an error and its status passed on.
//!
//! The launcher installs nothing and changes nothing outside the data directory.

use crate::es;
use crate::render::Rendered;
use crate::spec::{History, NodeSpec};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;
use thiserror::Error;
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

const TARGET: &str = "bts_node::run";

/// How `node run` runs witness_node.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The witness_node executable (a name is looked up on `PATH`).
    pub program: PathBuf,
    /// How long witness_node may take to stop after SIGINT before it is killed.
    pub grace_period: Duration,
    /// How long to wait for Elasticsearch to answer before giving up (history es only).
    pub es_wait: Duration,
}

/// Why witness_node could not be run.
#[derive(Debug, Error)]
pub enum RunError {
    /// The launcher runs as root and was not allowed to.
    #[error(
        "refusing to run witness_node as root: it parses input from any peer on the network, so a flaw in it \
         would own the host (or container), and the files it writes would belong to root"
    )]
    Root,
    /// The data directory or config.ini could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Elasticsearch did not answer in time.
    #[error(
        "Elasticsearch at {url} did not answer within {waited}: {reason}; witness_node would exit at once (\"ES database is not up\")"
    )]
    Elasticsearch {
        /// Its URL.
        url: String,
        /// How long the launcher waited.
        waited: String,
        /// The last failure.
        reason: String,
    },
    /// witness_node could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        source: io::Error,
    },
    /// Signal handling or waiting failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// How witness_node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code to pass on: witness_node's own, or 128 + the signal that ended it (as shells report it).
    pub code: i32,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Whether the launcher had asked it to stop (one SIGINT) before it ended.
    pub stopped: bool,
    /// Whether the launcher had to kill it after the grace period.
    pub killed: bool,
}

impl Outcome {
    /// It was never started: the stop came while the launcher waited for Elasticsearch.
    pub const NOT_STARTED: Outcome = Outcome {
        code: 0,
        signal: None,
        stopped: true,
        killed: false,
    };

    /// Whether witness_node failed while stopping: after the SIGINT the launcher sent, a clean
    /// stop writes the object database and exits 0, so any other end (a signal, a non-zero
    /// code such as 134 passed on by a wrapper) means the database was not written. witness_node
    /// 7.0.2 ends this way when a client asked for the API of a plugin it does not load
    /// (bitshares-core issue 2717).
    pub fn crashed_during_shutdown(&self) -> bool {
        self.stopped && !self.killed && self.code != 0
    }

    /// Whether the next start replays the chain because the object database was not written:
    /// killed, crashed during shutdown, or ended by a signal while running.
    pub fn replays_next_start(&self) -> bool {
        self.killed || self.crashed_during_shutdown() || self.signal.is_some()
    }

    /// The ending signal's name (`SIGSEGV`), or its number.
    pub fn signal_name(&self) -> Option<String> {
        self.signal.map(|n| match Signal::try_from(n) {
            Ok(signal) => signal.as_str().to_owned(),
            Err(_) => format!("signal {n}"),
        })
    }
}

/// Refuses root unless `allow_root`: `is_root` is the effective uid's answer ([`running_as_root`]).
pub fn check_user(is_root: bool, allow_root: bool) -> Result<(), RunError> {
    if is_root && !allow_root {
        Err(RunError::Root)
    } else {
        Ok(())
    }
}

/// Whether the process runs with effective uid 0.
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Registers for SIGTERM and SIGINT now (so none is missed while witness_node starts) and returns
/// a future that completes at the first of them. Needs a tokio runtime.
pub fn stop_signals() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => info!(target: TARGET, "SIGTERM received"),
            _ = int.recv() => info!(target: TARGET, "SIGINT received"),
        }
    })
}

/// Writes `rendered`'s config.ini into the data directory, waits for Elasticsearch if the node
/// needs it, runs witness_node until it exits or `stop` completes, and reports how it ended.
pub async fn run(
    spec: &NodeSpec,
    rendered: &Rendered,
    options: &RunOptions,
    stop: impl Future<Output = ()>,
) -> Result<Outcome, RunError> {
    let config = write_config(&spec.data_dir, &rendered.config_ini)?;
    info!(target: TARGET, path = %config.display(), node = %spec.summary(), "config written");
    if let Some(producer) = &spec.producer {
        warn_if_shared(&producer.key_file);
    }
    let mut stop = std::pin::pin!(stop);
    if let History::Es { url, .. } = &spec.history {
        tokio::select! {
            up = es::wait_until_up(url, options.es_wait) => up.map_err(|reason| RunError::Elasticsearch {
                url: url.as_str().to_owned(),
                waited: humantime::format_duration(options.es_wait).to_string(),
                reason,
            })?,
            () = &mut stop => return Ok(Outcome::NOT_STARTED),
        }
    }
    let mut command = Command::new(&options.program);
    command.args(&rendered.args);
    info!(target: TARGET, command = %rendered.command_line(&options.program.display().to_string()), "starting witness_node");
    supervise(spawn(command)?, options.grace_period, stop).await
}

/// Starts `command` in a process group of its own, so that only the launcher signals it (a
/// terminal's Ctrl-C would otherwise reach it twice) and a kill reaches any helper it started.
pub fn spawn(mut command: Command) -> Result<Child, RunError> {
    let program = command.as_std().get_program().to_string_lossy().into_owned();
    command
        .process_group(0)
        .spawn()
        .map_err(|source| RunError::Spawn { program, source })
}

/// Waits for `child` (started by [`spawn`]) to exit. When `stop` completes first, sends its
/// process group SIGINT, waits up to `grace`, then sends SIGKILL. An end that loses the object
/// database (see [`Outcome::replays_next_start`]) is logged as an error.
pub async fn supervise(mut child: Child, grace: Duration, stop: impl Future<Output = ()>) -> Result<Outcome, RunError> {
    let group = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);
    tokio::select! {
        status = child.wait() => return Ok(report(outcome(status?, false, false))),
        () = stop => {}
    }
    info!(
        target: TARGET,
        grace = %humantime::format_duration(grace),
        "stopping witness_node with SIGINT; waiting for it to write its database"
    );
    signal_group(group, Signal::SIGINT);
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => Ok(report(outcome(status?, true, false))),
        Err(_) => {
            warn!(
                target: TARGET,
                "witness_node did not stop within the grace period; killing it (the next start replays the chain)"
            );
            signal_group(group, Signal::SIGKILL);
            let _ = child.start_kill();
            Ok(outcome(child.wait().await?, true, true))
        }
    }
}

/// Logs an end that loses the object database (a kill is logged where it happens) and passes
/// `outcome` on.
fn report(outcome: Outcome) -> Outcome {
    let how = match outcome.signal_name() {
        Some(signal) => format!("{signal}, status {}", outcome.code),
        None => format!("status {}", outcome.code),
    };
    if outcome.crashed_during_shutdown() {
        error!(
            target: TARGET,
            code = outcome.code,
            signal = outcome.signal,
            "witness_node crashed during shutdown ({how}) before writing its object database; the next start \
             replays the whole chain (hours on mainnet). witness_node 7.0.2 does this once a client has asked \
             for the API of a plugin it does not load (bitshares-core issue 2717)"
        );
    } else if outcome.signal.is_some() {
        error!(
            target: TARGET,
            code = outcome.code,
            signal = outcome.signal,
            "witness_node died ({how}) without writing its object database; the next start replays the chain"
        );
    }
    outcome
}

fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        // ESRCH: the group is gone (the child has just exited); `wait` collects it.
        let _ = killpg(group, signal);
    }
}

fn outcome(status: ExitStatus, stopped: bool, killed: bool) -> Outcome {
    let signal = status.signal();
    let code = status.code().or_else(|| signal.map(|s| 128 + s)).unwrap_or(1);
    Outcome {
        code,
        signal,
        stopped,
        killed,
    }
}

/// Writes `<data_dir>/config.ini` with mode 0600 by renaming a new file over the old one, so a
/// reader never sees half a file and an old symlink (the upstream image links it to /etc) is
/// replaced rather than followed.
pub fn write_config(data_dir: &Path, text: &str) -> Result<PathBuf, RunError> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| RunError::Write { path, source }
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(failed(data_dir))?;
    let path = data_dir.join("config.ini");
    let temporary = data_dir.join(".config.ini.new");
    let _ = fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(failed(&temporary))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed(&temporary))?;
    fs::set_permissions(&temporary, Permissions::from_mode(0o600)).map_err(failed(&temporary))?;
    fs::rename(&temporary, &path).map_err(failed(&path))?;
    Ok(path)
}

/// Warns when the key file can be read by other users (a key file should be 0400 or 0600).
fn warn_if_shared(key_file: &Path) {
    if let Ok(meta) = fs::metadata(key_file)
        && meta.permissions().mode() & 0o077 != 0
    {
        warn!(
            target: TARGET,
            path = %key_file.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the key file can be read by other users; chmod 600 it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_needs_permission() {
        assert!(matches!(check_user(true, false), Err(RunError::Root)));
        assert!(check_user(true, true).is_ok());
        assert!(check_user(false, false).is_ok());
    }
}
