//! The peer processes under test: finding their programs, starting them in a scratch directory,
//! measuring their memory, and stopping every one of them however the bench ends.

use anyhow::{Context, bail};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A program the bench needs, with the Debian package that provides it.
pub(crate) struct Peer {
    /// The program name, e.g. `haproxy`.
    pub(crate) program: &'static str,
    /// The Debian package to install when it is missing.
    pub(crate) package: &'static str,
}

/// HAProxy, from Debian's `haproxy`.
pub(crate) const HAPROXY: Peer = Peer {
    program: "haproxy",
    package: "haproxy",
};
/// nginx, from Debian's `nginx-light` (any nginx package with the upstream and map modules will do).
pub(crate) const NGINX: Peer = Peer {
    program: "nginx",
    package: "nginx-light",
};

/// Finds `peer` on `PATH` or in the sbin directories where Debian puts daemons (often not on a
/// user's `PATH`); the error says which package to install.
pub(crate) fn find_program(peer: &Peer) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(peer.program);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "{} is not installed: the bench compares bts-gateway with it. Install it with `apt-get install -y {}`",
        peer.program,
        peer.package
    )
}

/// `bts-infra`, which must sit next to this binary (both come from the same `cargo build --release`).
pub(crate) fn find_bts_infra() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot tell where bts-bench is")?;
    let candidate = me.with_file_name("bts-infra");
    if !candidate.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p bts-infra -p bts-bench`",
            candidate.display()
        );
    }
    Ok(candidate)
}

/// The first line a program prints about its version (nginx prints it on stderr).
pub(crate) fn version_line(program: &Path, flag: &str) -> String {
    let Ok(out) = Command::new(program).arg(flag).output() else {
        return "unknown".to_owned();
    };
    let text = [out.stdout, out.stderr].concat();
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or("unknown")
        .trim()
        .to_owned()
}

/// Raises the open-file limit as far as allowed (children inherit it): to 1,048,576 or the
/// kernel's `nr_open` when permitted (root), else the soft limit to the hard one. Returns the limit.
pub(crate) fn raise_nofile() -> u64 {
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    let want = nr_open.min(1 << 20);
    if setrlimit(Resource::RLIMIT_NOFILE, want, want).is_ok() {
        return want;
    }
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft)
}

/// A free TCP port on 127.0.0.1 for a peer that cannot report the one it bound. Another
/// program could take it before the peer binds; the peer then fails to start and says so.
pub(crate) fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

/// A started program: its name, process and log file.
struct Running {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Owns the scratch directory and every started process. Dropping it (normal end, error,
/// Ctrl-C, panic) stops the processes, newest first, and removes the directory.
pub(crate) struct Fleet {
    dir: PathBuf,
    running: Vec<Running>,
}

impl Fleet {
    /// Creates a fresh scratch directory under the system temp dir.
    pub(crate) fn new() -> anyhow::Result<Fleet> {
        let dir = std::env::temp_dir().join(format!("bts-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Fleet {
            dir,
            running: Vec::new(),
        })
    }

    /// The scratch directory, for config files and the peers' runtime files.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts `command` with stdout and stderr to `<dir>/<name>.log`; returns its pid.
    pub(crate) fn start(&mut self, name: &str, mut command: Command) -> anyhow::Result<u32> {
        let log = self.dir.join(format!("{name}.log"));
        let file = File::create(&log)?;
        command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
        self.spawn(name, command, log)
    }

    /// Starts `command` and returns its pid and first line of stdout (stderr to the log), for
    /// programs that announce readiness that way. Fails if no line comes within `within`.
    pub(crate) fn start_announcing(
        &mut self,
        name: &str,
        mut command: Command,
        within: Duration,
    ) -> anyhow::Result<(u32, String)> {
        let log = self.dir.join(format!("{name}.log"));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log)?);
        let pid = self.spawn(name, command, log)?;
        let stdout = self
            .running
            .last_mut()
            .and_then(|r| r.child.stdout.take())
            .context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        // Keep draining after the first line, so the program never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        match rx.recv_timeout(within) {
            Ok(line) => Ok((pid, line)),
            Err(_) => bail!("{name} did not start within {within:?}{}", self.log_tail(name)),
        }
    }

    fn spawn(&mut self, name: &str, mut command: Command, log: PathBuf) -> anyhow::Result<u32> {
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name} ({:?})", command.get_program()))?;
        let pid = child.id();
        self.running.push(Running {
            name: name.to_owned(),
            child,
            log,
        });
        Ok(pid)
    }

    /// Fails, with the end of its log, if the named process has exited.
    pub(crate) fn check_alive(&mut self, name: &str) -> anyhow::Result<()> {
        let exited = self
            .running
            .iter_mut()
            .find(|r| r.name == name)
            .and_then(|r| r.child.try_wait().ok().flatten());
        if let Some(status) = exited {
            bail!("{name} exited ({status}){}", self.log_tail(name));
        }
        Ok(())
    }

    /// The last lines of a process's log, for error messages.
    pub(crate) fn log_tail(&self, name: &str) -> String {
        let Some(r) = self.running.iter().find(|r| r.name == name) else {
            return String::new();
        };
        let text = std::fs::read_to_string(&r.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n  ");
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its log ({}) ends:\n  {tail}", r.log.display())
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master stops its workers on it, which SIGKILL would orphan.
        for r in self.running.iter_mut().rev() {
            if let Ok(pid) = i32::try_from(r.child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for r in self.running.iter_mut().rev() {
            while Instant::now() < deadline && matches!(r.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(r.child.try_wait(), Ok(None)) {
                let _ = r.child.kill();
                let _ = r.child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Resident memory in bytes of `pid` and all its descendants (nginx's master and workers), from
/// `/proc/<pid>/status` `VmRSS`.
pub(crate) fn tree_rss(pid: u32) -> u64 {
    tree(pid).into_iter().map(rss).sum()
}

/// CPU time (user and system) `pid` and its descendants have used so far, from `/proc/<pid>/stat`.
pub(crate) fn tree_cpu(pid: u32) -> Duration {
    tree(pid).into_iter().map(cpu).sum()
}

/// CPU time (user and system) of `pid` alone, not its children (the bench's own load clients,
/// whose children are the peers).
pub(crate) fn process_cpu(pid: u32) -> Duration {
    cpu(pid)
}

/// The machine's CPU ticks so far, summed over all cores: (busy, all), from `/proc/stat`. Busy
/// is everything but idle and iowait.
pub(crate) fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let all: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (all.saturating_sub(idle), all)
}

/// `pid` and all its descendants.
fn tree(pid: u32) -> Vec<u32> {
    let parents = parent_map();
    let mut found = vec![pid];
    let mut i = 0;
    while let Some(&p) = found.get(i) {
        found.extend(
            parents
                .iter()
                .filter(|(_, parent)| *parent == p)
                .map(|(child, _)| *child),
        );
        i += 1;
    }
    found
}

/// The fields of `/proc/<pid>/stat` after the command name (which is in parentheses and may
/// hold spaces), starting with the state (field 3).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    Some(after.split(' ').map(str::to_owned).collect())
}

/// User plus system CPU time of one process (0 if it is gone).
fn cpu(pid: u32) -> Duration {
    // utime and stime are fields 14 and 15, in USER_HZ ticks, which Linux fixes at 100 per second
    // for everything it reports in /proc, whatever the kernel's own tick rate.
    let ticks = stat_fields(pid).map_or(0, |f| {
        let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        field(14) + field(15)
    });
    Duration::from_millis(ticks * 10)
}

/// Every process's (pid, parent pid).
fn parent_map() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat_fields(pid)?.get(1)?.parse().ok()?)))
        .collect()
}

/// `VmRSS` of one process in bytes (0 if it is gone).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighs_and_times_a_process_tree() {
        let me = std::process::id();
        assert!(tree_rss(me) > 0);
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {}
        assert!(tree_cpu(me) > Duration::ZERO);
        assert!(tree(1).contains(&1));
        assert!(process_cpu(me) > Duration::ZERO);
        let (busy, all) = machine_ticks();
        assert!(busy > 0 && all >= busy, "{busy} {all}");
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let peer = Peer {
            program: "no-such-proxy-here",
            package: "no-such-package",
        };
        let e = find_program(&peer).unwrap_err().to_string();
        assert!(e.contains("apt-get install -y no-such-package"), "{e}");
    }
}
