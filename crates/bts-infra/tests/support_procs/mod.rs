//! Devnet nodes as separate `bts-infra devnet` processes, as an operator (or the fleet) runs them:
//! start, SIGKILL, SIGSTOP/SIGCONT, restart on the same address and data dir.

#![allow(dead_code, unreachable_pub)] // Reason: each test binary uses a different subset.

use bts_rpc::{HttpClient, HttpOptions};
use serde_json::Value;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One devnet process.
pub struct Proc {
    /// A name for messages (`producer`, `f1`, ...).
    pub name: String,
    child: Option<Child>,
    args: Vec<String>,
    /// `127.0.0.1:PORT`, fixed after the first start so restarts keep it.
    pub addr: String,
    /// The process's stderr (its log), kept across restarts.
    pub log: PathBuf,
    /// Its data dir.
    pub data_dir: PathBuf,
    /// The start-up report of the last start.
    pub report: Value,
}

/// The `bts-infra` binary with `args`, its stderr appended to `log`.
pub fn command(args: &[String], log: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bts-infra"));
    let log = OpenOptions::new().create(true).append(true).open(log).unwrap();
    command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    command
}

impl Proc {
    /// Starts `bts-infra devnet --admin --json --data-dir DIR/NAME` plus `extra` on a port the
    /// system picks, and waits for its report.
    pub fn start(name: &str, dir: &Path, extra: &[String]) -> Proc {
        let data_dir = dir.join(name);
        let mut args: Vec<String> = ["devnet", "--admin", "--json", "--data-dir"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.push(data_dir.display().to_string());
        args.extend(extra.iter().cloned());
        let mut proc = Proc {
            name: name.to_owned(),
            child: None,
            args,
            addr: "127.0.0.1:0".to_owned(),
            log: dir.join(format!("{name}.log")),
            data_dir,
            report: Value::Null,
        };
        proc.launch();
        let ws = proc.report["nodes"][0]["ws"].as_str().unwrap().to_owned();
        proc.addr = ws.trim_start_matches("ws://").trim_end_matches('/').to_owned();
        proc
    }

    fn launch(&mut self) {
        let mut args = self.args.clone();
        args.extend(["--listen".to_owned(), self.addr.clone()]);
        let mut child = command(&args, &self.log).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        self.report = serde_json::from_str(&line).unwrap_or_else(|e| {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!("{} did not start ({e}): {line:?}\n{log}", self.name)
        });
        self.child = Some(child);
    }

    /// `ws://ADDR/`.
    pub fn ws(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// `http://ADDR/`.
    pub fn http(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`, ...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Starts it again on the same address, with the same data dir and flags.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name);
        self.launch();
    }

    /// SIGTERM, and the exit status (a deadline turns a hang into a failure).
    pub fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{} did not stop after SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `bts-infra` with `args` to its end: exit status and stderr.
pub fn run_to_end(args: &[String], log: &Path) -> (ExitStatus, String) {
    let mut child = command(args, log).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("bts-infra {args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, std::fs::read_to_string(log).unwrap_or_default())
}

/// An HTTP client of `url` whose calls give up after 10 s.
pub fn client(url: &str) -> HttpClient {
    HttpClient::new(url, HttpOptions::default())
        .unwrap()
        .with_timeout(Duration::from_secs(10))
}

/// The head block number of the node at `url`, if it answers.
pub async fn head(url: &str) -> Option<u32> {
    let dgp = client(url).api().get_dynamic_global_properties().await.ok()?;
    Some(dgp.head_block_number)
}

/// Waits until the node at `url` has applied block `num`.
pub async fn wait_for_block(url: &str, num: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while head(url).await.is_none_or(|h| h < num) {
        assert!(Instant::now() < deadline, "{url} never reached block {num}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Block `num` of the node at `url`, as JSON.
pub async fn block(url: &str, num: u32) -> Value {
    client(url)
        .call_as(bts_rpc::ApiRef::DATABASE, "get_block", &(num,))
        .await
        .unwrap()
}
