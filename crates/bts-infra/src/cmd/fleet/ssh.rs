//! The fleet's transport: OpenSSH's `ssh` client to each host, checking the host key the
//! inventory gives and nothing else, with one multiplexed connection per host for the whole
//! command. The system client is used (as Ansible does) rather than an SSH library: operators
//! already have it configured and audited, and it keeps a large crypto stack out of the build.

use bts_fleet::inventory::Host;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long a connection may take to open.
const CONNECT_TIMEOUT_SECS: u32 = 10;

/// One host, reached over SSH.
pub(crate) struct Remote {
    /// The host's inventory entry.
    pub(crate) host: Host,
    key: PathBuf,
    known_hosts: PathBuf,
    control: PathBuf,
}

/// What a remote command printed.
pub(crate) struct Output {
    pub(crate) stdout: String,
}

impl Remote {
    /// A remote for `host`; `state` is a private directory for its known_hosts file and the
    /// connection's control socket; `key` its login key on this machine.
    pub(crate) fn new(host: &Host, key: PathBuf, state: &Path) -> std::io::Result<Remote> {
        let known_hosts = state.join(format!("{}.known_hosts", host.name));
        let pattern = if host.ssh.port == 22 {
            host.ssh.host.clone()
        } else {
            format!("[{}]:{}", host.ssh.host, host.ssh.port)
        };
        std::fs::write(&known_hosts, format!("{pattern} {}\n", host.host_key))?;
        Ok(Remote {
            host: host.clone(),
            key,
            known_hosts,
            control: state.join(format!("{}.ctl", host.name)),
        })
    }

    /// Runs `script` with `sh` on the host, `stdin` as its input. The error says whether the
    /// host could not be reached or the script failed, with what it printed on stderr.
    /// The ssh command that runs `script` (with `sh -c`) on the host; stdio is the caller's.
    pub(crate) fn command(&self, script: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .arg("-i")
            .arg(&self.key)
            .arg("-p")
            .arg(self.host.ssh.port.to_string())
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
            .arg("-o")
            .arg(format!("ConnectTimeout={CONNECT_TIMEOUT_SECS}"))
            .args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"])
            .args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60"])
            .arg("-o")
            .arg(format!("ControlPath={}", self.control.display()))
            .arg(format!("{}@{}", self.host.ssh.user, self.host.ssh.host))
            .arg(format!("sh -c {}", quote(script)))
            .kill_on_drop(true);
        command
    }

    pub(crate) async fn run(&self, script: &str, stdin: Option<&[u8]>) -> Result<Output, String> {
        let mut command = self.command(script);
        command
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run ssh: {e} (install OpenSSH's client)"))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(data)
                .await
                .map_err(|e| format!("cannot send to the host: {e}"))?;
            drop(pipe);
        }
        let out = child.wait_with_output().await.map_err(|e| format!("ssh failed: {e}"))?;
        match out.status.code() {
            Some(0) => Ok(Output {
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            }),
            code => Err(self.failure(code, &String::from_utf8_lossy(&out.stderr))),
        }
    }

    /// What an ssh exit status other than 0 means, with what to do.
    pub(crate) fn failure(&self, code: Option<i32>, stderr: &str) -> String {
        let stderr = stderr.trim();
        match code {
            Some(255)
                if stderr.contains("Host key verification failed") || stderr.contains("IDENTIFICATION HAS CHANGED") =>
            {
                format!(
                    "the host's SSH key is not the inventory's host-key (refused: {stderr}); if the host was reinstalled, \
                 put its new key in the inventory (ssh-keyscan -p {} {})",
                    self.host.ssh.port, self.host.ssh.host
                )
            }
            Some(255) => format!(
                "cannot reach {}@{}:{} over SSH: {}",
                self.host.ssh.user,
                self.host.ssh.host,
                self.host.ssh.port,
                last_line(stderr)
            ),
            code => format!(
                "failed on the host (exit {}): {}",
                code.map_or("signal".to_owned(), |c| c.to_string()),
                last_line(stderr)
            ),
        }
    }

    pub(crate) async fn close(&self) {
        let _ = Command::new("ssh")
            .arg("-o")
            .arg(format!("ControlPath={}", self.control.display()))
            .args(["-O", "exit", "x"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
}

/// `s` as one single-quoted shell word.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn last_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
