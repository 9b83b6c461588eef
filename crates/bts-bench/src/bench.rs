//! `bts-bench gateway`: starts the devnet node and the three proxies, runs every phase against
//! every target in one run, and returns what was measured.

use crate::configs::{Setup, gateway_toml, haproxy_cfg, nginx_conf};
use crate::load::Window;
use crate::procs::{self, Fleet, HAPROXY, NGINX};
use crate::stats::{Latency, Tally};
use crate::{http, ws};
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The run's parameters, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    /// Counted time per phase and target, in all rounds together.
    pub(crate) duration: Duration,
    /// Load before counting starts, in each round of each phase for each target.
    pub(crate) warmup: Duration,
    /// Rounds each phase is split into, the targets taking turns within a round.
    pub(crate) rounds: usize,
    /// Concurrent connections (HTTP and WebSocket load).
    pub(crate) connections: usize,
    /// Idle WebSocket sessions for the memory phase.
    pub(crate) idle: usize,
    /// `--idle` as given, when the open-file limit forced a smaller `idle`.
    pub(crate) idle_requested: usize,
}

impl Params {
    /// Lowers `idle` to what `nofile` descriptors allow: a proxy (one process for HAProxy and
    /// bts-gateway) holds two per session, client and backend side, plus its listeners.
    pub(crate) fn fit_to(mut self, nofile: u64) -> Params {
        let most = usize::try_from(nofile.saturating_sub(512) / 2).unwrap_or(usize::MAX);
        self.idle_requested = self.idle;
        self.idle = self.idle.min(most);
        self
    }
}

/// The programs the run uses.
pub(crate) struct Programs {
    /// `bts-infra` (devnet and gateway).
    pub(crate) bts_infra: PathBuf,
    /// `haproxy`.
    pub(crate) haproxy: PathBuf,
    /// `nginx`.
    pub(crate) nginx: PathBuf,
}

impl Programs {
    /// Finds them all, or says what to build or install.
    pub(crate) fn find() -> anyhow::Result<Programs> {
        Ok(Programs {
            bts_infra: procs::find_bts_infra()?,
            haproxy: procs::find_program(&HAPROXY)?,
            nginx: procs::find_program(&NGINX)?,
        })
    }
}

/// One load phase's outcome for one target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phase {
    /// Good answers per second in the counted window.
    pub(crate) rate: f64,
    /// Their latency.
    pub(crate) latency: Latency,
    /// Failed calls.
    pub(crate) errors: u64,
    /// Open loop: latency from when each call was due (NaN for the closed loops).
    pub(crate) from_due: Latency,
    /// CPU time the target's processes used per good answer, in microseconds.
    pub(crate) cpu_us_per_call: f64,
}

impl Phase {
    fn of(mut tally: Tally, counted: Duration, cpu: Duration) -> Phase {
        Phase {
            cpu_us_per_call: cpu.as_secs_f64() * 1e6 / tally.ok.max(1) as f64,
            rate: tally.rate(counted),
            latency: tally.latency(),
            errors: tally.errors,
            from_due: tally.latency_from_due(),
        }
    }
}

/// The memory phase's outcome for one target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdleMemory {
    /// Growth of the resident memory of the target's processes per held session, in KiB.
    pub(crate) kib_per_session: f64,
    /// Sessions held.
    pub(crate) held: usize,
    /// Sessions that could not be opened or logged in.
    pub(crate) failed: usize,
}

/// Everything measured for one target.
#[derive(Debug)]
pub(crate) struct Measured {
    /// `direct`, `bts-gateway`, `HAProxy` or `nginx`.
    pub(crate) name: &'static str,
    /// Closed-loop HTTP at `--connections`.
    pub(crate) http: Option<Phase>,
    /// Open-loop HTTP at half of HAProxy's peak.
    pub(crate) half: Option<Phase>,
    /// WebSocket request/response.
    pub(crate) ws: Option<Phase>,
    /// Memory per idle WebSocket session.
    pub(crate) idle: Option<IdleMemory>,
    addr: SocketAddr,
    pid: u32,
}

/// The whole run's results.
pub(crate) struct Results {
    /// Per target, in the order direct, bts-gateway, HAProxy, nginx.
    pub(crate) targets: Vec<Measured>,
    /// The offered load of the half-load phase, calls per second.
    pub(crate) half_rate: f64,
    /// The open-file limit the bench and its peers ran with.
    pub(crate) nofile: u64,
}

const HAPROXY_NAME: &str = "HAProxy";

/// Runs the benchmark. Every process it starts is stopped when this returns or is dropped.
pub(crate) async fn run(programs: &Programs, params: &Params, nofile: u64) -> anyhow::Result<Results> {
    let mut fleet = Fleet::new()?;
    let mut targets = start(&mut fleet, programs, params, nofile).await?;

    // Memory first, on freshly started proxies: memory freed after the load phases would
    // otherwise be reused by the idle sessions and hide their cost.
    for t in &mut targets {
        progress(&format!("idle WebSockets: {} sessions to {}", params.idle, t.name));
        t.idle = Some(idle_memory(t, params.idle).await);
        check_alive(&mut fleet)?;
    }
    let connections = params.connections;
    let peaks = interleaved(&mut fleet, &targets, params, "HTTP closed loop", |addr, window| {
        http::closed_loop(addr, connections, window)
    })
    .await?;
    let haproxy_peak = targets
        .iter()
        .zip(&peaks)
        .find(|(t, _)| t.name == HAPROXY_NAME)
        .map_or(0.0, |(_, p)| p.rate);
    if haproxy_peak < 1.0 {
        bail!("HAProxy answered no HTTP calls");
    }
    let half_rate = haproxy_peak / 2.0;
    let what = format!("HTTP open loop at {half_rate:.0} calls/s");
    let halves = interleaved(&mut fleet, &targets, params, &what, |addr, window| {
        http::open_loop(addr, connections, half_rate, window)
    })
    .await?;
    let sessions = interleaved(
        &mut fleet,
        &targets,
        params,
        "WebSocket request/response",
        |addr, window| ws::throughput(addr, connections, window),
    )
    .await?;
    for (i, t) in targets.iter_mut().enumerate() {
        (t.http, t.half, t.ws) = (Some(peaks[i]), Some(halves[i]), Some(sessions[i]));
    }
    progress("done; stopping the peers");
    Ok(Results {
        targets,
        half_rate,
        nofile,
    })
}

/// Starts the devnet node, then bts-gateway, HAProxy and nginx in front of it, and waits until
/// each answers over HTTP and WebSocket.
async fn start(fleet: &mut Fleet, programs: &Programs, params: &Params, nofile: u64) -> anyhow::Result<Vec<Measured>> {
    let mut devnet = Command::new(&programs.bts_infra);
    // Connections to the node are kept (unlike witness_node's), so that every proxy may reuse
    // them: the bench measures the proxies, not the node's accepts.
    devnet.args([
        "devnet",
        "--listen",
        "127.0.0.1:0",
        "--block-interval",
        "3s",
        "--http-keep-alive",
        "--json",
    ]);
    devnet.env("RUST_LOG", "warn");
    let (devnet_pid, line) = fleet.start_announcing("devnet", devnet, Duration::from_secs(60))?;
    let report: serde_json::Value = serde_json::from_str(&line).with_context(|| format!("devnet printed {line}"))?;
    let chain_id = report["chain_id"]
        .as_str()
        .context("devnet report without chain_id")?
        .to_owned();
    let ws_url = report["nodes"][0]["ws"]
        .as_str()
        .context("devnet report without nodes[0].ws")?;
    let backend: SocketAddr = ws_url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("devnet node URL {ws_url}"))?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_connections = ((params.idle + params.connections + 1024) as u64).min(nofile.saturating_sub(128) / 2);
    let dir = fleet.dir().to_owned();
    let setup = |listen| Setup {
        listen,
        backend,
        cores,
        max_connections,
        nofile,
        dir: &dir,
    };

    let gateway = setup(procs::free_port()?);
    let path = write(&dir, "gateway.toml", &gateway_toml(&gateway, &chain_id))?;
    let mut command = Command::new(&programs.bts_infra);
    command.arg("gateway").arg("--config").arg(path).env("RUST_LOG", "warn");
    let gateway_pid = fleet.start("bts-gateway", command)?;

    let haproxy = setup(procs::free_port()?);
    let path = write(&dir, "haproxy.cfg", &haproxy_cfg(&haproxy))?;
    let mut command = Command::new(&programs.haproxy);
    command.arg("-db").arg("-f").arg(path);
    let haproxy_pid = fleet.start(HAPROXY_NAME, command)?;

    let nginx = setup(procs::free_port()?);
    let path = write(&dir, "nginx.conf", &nginx_conf(&nginx))?;
    let mut command = Command::new(&programs.nginx);
    command
        .args(["-g", "daemon off;"])
        .arg("-c")
        .arg(path)
        .arg("-p")
        .arg(&dir);
    command.arg("-e").arg(dir.join("nginx-error.log"));
    let nginx_pid = fleet.start("nginx", command)?;

    let targets = vec![
        target("direct", backend, devnet_pid),
        target("bts-gateway", gateway.listen, gateway_pid),
        target(HAPROXY_NAME, haproxy.listen, haproxy_pid),
        target("nginx", nginx.listen, nginx_pid),
    ];
    for t in &targets {
        wait_ready(fleet, t).await?;
    }
    Ok(targets)
}

fn target(name: &'static str, addr: SocketAddr, pid: u32) -> Measured {
    Measured {
        name,
        http: None,
        half: None,
        ws: None,
        idle: None,
        addr,
        pid,
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Waits until `t` answers a call over HTTP and a login over WebSocket (bts-gateway first
/// needs its health checks to pass), failing with the program's log if it exits or takes 60 s.
async fn wait_ready(fleet: &mut Fleet, t: &Measured) -> anyhow::Result<()> {
    let process = if t.name == "direct" { "devnet" } else { t.name };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        fleet.check_alive(process)?;
        if http::probe(t.addr).await && ws::probe(t.addr).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} at {} did not answer within 60 s{}",
                t.name,
                t.addr,
                fleet.log_tail(process)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs one phase on every target in `params.rounds` rounds, each giving every target in turn a
/// slice of the phase (a warm-up, then `duration / rounds` counted), so that a change in the
/// machine's background load falls on all targets alike rather than on whichever ran then.
async fn interleaved<F, Fut>(
    fleet: &mut Fleet,
    targets: &[Measured],
    params: &Params,
    what: &str,
    mut slice: F,
) -> anyhow::Result<Vec<Phase>>
where
    F: FnMut(SocketAddr, Window) -> Fut,
    Fut: Future<Output = anyhow::Result<Tally>>,
{
    let rounds = u32::try_from(params.rounds.max(1)).unwrap_or(u32::MAX);
    let counted = params.duration / rounds;
    let mut totals: Vec<(Tally, Duration)> = targets.iter().map(|_| Default::default()).collect();
    for round in 1..=rounds {
        progress(&format!("{what}: round {round}/{rounds}"));
        for (t, (tally, cpu)) in targets.iter().zip(&mut totals) {
            let window = Window::from_now(params.warmup, counted);
            let (measured, used) = tokio::join!(slice(t.addr, window), cpu_during(t.pid, window));
            tally.merge(measured?);
            *cpu += used;
            check_alive(fleet)?;
        }
    }
    Ok(totals
        .into_iter()
        .map(|(tally, cpu)| Phase::of(tally, counted * rounds, cpu))
        .collect())
}

/// CPU time the processes of `pid` use within the counted part of `window`.
async fn cpu_during(pid: u32, window: Window) -> Duration {
    tokio::time::sleep_until(window.start.into()).await;
    let before = procs::tree_cpu(pid);
    tokio::time::sleep_until(window.end.into()).await;
    procs::tree_cpu(pid).saturating_sub(before)
}

fn check_alive(fleet: &mut Fleet) -> anyhow::Result<()> {
    for name in ["devnet", "bts-gateway", HAPROXY_NAME, "nginx"] {
        fleet.check_alive(name)?;
    }
    Ok(())
}

/// Holds `count` idle sessions through `t` and weighs its processes before and after.
async fn idle_memory(t: &Measured, count: usize) -> IdleMemory {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = procs::tree_rss(t.pid);
    let idle = ws::hold_idle(t.addr, count).await;
    // Let every session's setup finish on the far side before weighing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = procs::tree_rss(t.pid);
    let held = idle.sessions.len();
    drop(idle.sessions);
    // Give the proxies and the node time to tear the sessions down before the next target.
    tokio::time::sleep(Duration::from_secs(3)).await;
    IdleMemory {
        kib_per_session: after.saturating_sub(before) as f64 / 1024.0 / held.max(1) as f64,
        held,
        failed: idle.failed,
    }
}

/// A progress line on stderr (the table goes to stdout).
fn progress(what: &str) {
    eprintln!("bts-bench: {what}");
}
