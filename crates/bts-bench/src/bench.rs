//! `bts-bench gateway`: starts the devnet node and the three proxies, runs every phase against
//! every target in one run, and returns what was measured.

use crate::configs::{Setup, gateway_toml, haproxy_cfg, nginx_conf};
use crate::dial::{Certificate, Dialer};
use crate::load::{Call, Window};
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
    /// Concurrent connections of each peak phase, one phase per entry (HTTP and WebSocket; the
    /// first also for half load, cached calls and TLS).
    pub(crate) connections: Vec<usize>,
    /// Connections being set up at once in the TLS handshake phases.
    pub(crate) handshake_concurrency: usize,
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

/// Which phase a result is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// One call in flight at a time (one connection, closed loop): the latency a proxy adds.
    One(Proto),
    /// Closed loop over this many connections: peak throughput.
    Peak(Proto, usize),
    /// HTTP open loop at half of HAProxy's HTTP peak at the first `--connections`.
    Half,
    /// Cached calls (`get_chain_id`), HTTP closed loop at the first `--connections`.
    Cached,
    /// New TLS connections, each a handshake and one call: full or resumed handshakes.
    Handshakes {
        /// Whether the clients keep a session cache (TLS 1.3 tickets).
        resumed: bool,
    },
}

/// A load phase's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    /// HTTP POST on kept connections.
    Http,
    /// WebSocket request/response.
    Ws,
    /// HTTPS POST on kept connections.
    Https,
    /// Secure WebSocket request/response.
    Wss,
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
    /// The node's CPU per good answer (for `direct`, the same as `cpu_us_per_call`).
    pub(crate) node_us_per_call: f64,
    /// The bench's own load clients' CPU per good answer.
    pub(crate) client_us_per_call: f64,
    /// The machine's busy share of all its cores during the counted windows, 0 to 1.
    pub(crate) machine_busy: f64,
    /// New-connection phases: the share of handshakes that resumed a session.
    pub(crate) resumed_share: f64,
}

impl Phase {
    fn of(mut tally: Tally, counted: Duration, cpu: Cpu) -> Phase {
        let per_call = |d: Duration| d.as_secs_f64() * 1e6 / tally.ok.max(1) as f64;
        Phase {
            cpu_us_per_call: per_call(cpu.target),
            node_us_per_call: per_call(cpu.node),
            client_us_per_call: per_call(cpu.client),
            machine_busy: cpu.busy_ticks as f64 / cpu.all_ticks.max(1) as f64,
            resumed_share: tally.resumed as f64 / tally.ok.max(1) as f64,
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
    /// Memory per idle WebSocket session.
    pub(crate) idle: Option<IdleMemory>,
    /// Every load phase this target ran.
    pub(crate) phases: Vec<(Key, Phase)>,
    addr: SocketAddr,
    /// The TLS listener (bts-gateway and HAProxy).
    tls: Option<SocketAddr>,
    pid: u32,
}

impl Measured {
    /// This target's result of phase `key`, if it ran it.
    pub(crate) fn phase(&self, key: Key) -> Option<Phase> {
        self.phases.iter().find(|(k, _)| *k == key).map(|(_, p)| *p)
    }
}

/// Whether the node, rather than the proxies, could be what the numbers measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BackendCheck {
    /// Median TCP round trip over loopback between two threads (1 byte each way), ms.
    pub(crate) loopback_rtt_ms: f64,
}

/// The whole run's results.
pub(crate) struct Results {
    /// Per target, in the order direct, bts-gateway, HAProxy, nginx.
    pub(crate) targets: Vec<Measured>,
    /// The offered load of the half-load phase, calls per second.
    pub(crate) half_rate: f64,
    /// The open-file limit the bench and its peers ran with.
    pub(crate) nofile: u64,
    /// The loopback round trip, against which direct's one-in-flight latency is judged.
    pub(crate) backend: BackendCheck,
}

/// The target names, as the report finds them.
pub(crate) const DIRECT: &str = "direct";
/// bts-gateway.
pub(crate) const GATEWAY: &str = "bts-gateway";
/// HAProxy: every ratio is to it.
pub(crate) const HAPROXY_NAME: &str = "HAProxy";

/// The measuring run: the peers, the targets and what has been measured so far.
struct Run<'a> {
    fleet: Fleet,
    targets: Vec<Measured>,
    params: &'a Params,
    node_pid: u32,
}

/// Runs the benchmark. Every process it starts is stopped when this returns or is dropped.
pub(crate) async fn run(programs: &Programs, params: &Params, nofile: u64) -> anyhow::Result<Results> {
    let mut fleet = Fleet::new()?;
    let cert = Certificate::write(fleet.dir())?;
    let targets = start(&mut fleet, programs, params, nofile, &cert).await?;
    let node_pid = targets[0].pid;
    let mut run = Run {
        fleet,
        targets,
        params,
        node_pid,
    };
    progress("loopback round trip");
    let backend = BackendCheck {
        loopback_rtt_ms: tokio::task::spawn_blocking(loopback_rtt).await??,
    };

    // Memory first, on freshly started proxies: memory freed after the load phases would
    // otherwise be reused by the idle sessions and hide their cost.
    for t in &mut run.targets {
        progress(&format!("idle WebSockets: {} sessions to {}", params.idle, t.name));
        t.idle = Some(idle_memory(t, params.idle).await);
        check_alive(&mut run.fleet)?;
    }
    let plain = |t: &Measured| Ok(Some(Dialer::plain(t.addr)));
    let first = params.connections[0];
    run.measure(Key::One(Proto::Http), "HTTP, one call in flight", plain, |d, w| {
        http::closed_loop(d, 1, Call::Fresh, w)
    })
    .await?;
    run.measure(Key::One(Proto::Ws), "WebSocket, one call in flight", plain, |d, w| {
        ws::throughput(d, 1, w)
    })
    .await?;
    for &n in &params.connections {
        let what = format!("HTTP closed loop, {n} connections");
        run.measure(Key::Peak(Proto::Http, n), &what, plain, |d, w| {
            http::closed_loop(d, n, Call::Fresh, w)
        })
        .await?;
        let what = format!("WebSocket request/response, {n} sessions");
        run.measure(Key::Peak(Proto::Ws, n), &what, plain, |d, w| ws::throughput(d, n, w))
            .await?;
    }
    let haproxy_peak = run
        .targets
        .iter()
        .find(|t| t.name == HAPROXY_NAME)
        .and_then(|t| t.phase(Key::Peak(Proto::Http, first)))
        .map_or(0.0, |p| p.rate);
    if haproxy_peak < 1.0 {
        bail!("HAProxy answered no HTTP calls");
    }
    let half_rate = haproxy_peak / 2.0;
    let what = format!("HTTP open loop at {half_rate:.0} calls/s");
    run.measure(Key::Half, &what, plain, |d, w| http::open_loop(d, first, half_rate, w))
        .await?;
    let caching = |t: &Measured| Ok([DIRECT, GATEWAY].contains(&t.name).then(|| Dialer::plain(t.addr)));
    run.measure(Key::Cached, "cached calls", caching, |d, w| {
        http::closed_loop(d, first, Call::Cached, w)
    })
    .await?;

    let tls = |resume: bool| {
        let cert = &cert;
        move |t: &Measured| -> anyhow::Result<Option<Dialer>> {
            t.tls.map(|a| Ok(Dialer::tls(a, cert.client(resume)?))).transpose()
        }
    };
    let what = format!("HTTPS closed loop, {first} connections");
    run.measure(Key::Peak(Proto::Https, first), &what, tls(true), |d, w| {
        http::closed_loop(d, first, Call::Fresh, w)
    })
    .await?;
    let what = format!("WSS request/response, {first} sessions");
    run.measure(Key::Peak(Proto::Wss, first), &what, tls(true), |d, w| {
        ws::throughput(d, first, w)
    })
    .await?;
    let handshakes = params.handshake_concurrency;
    for resumed in [false, true] {
        let what = format!(
            "TLS {} handshakes, {handshakes} at a time",
            if resumed { "resumed" } else { "full" }
        );
        run.measure(Key::Handshakes { resumed }, &what, tls(resumed), |d, w| {
            http::new_connections(d, handshakes, w)
        })
        .await?;
    }
    progress("done; stopping the peers");
    Ok(Results {
        targets: run.targets,
        half_rate,
        nofile,
        backend,
    })
}

impl Run<'_> {
    /// Runs one phase on every target that `dial` gives a dialer for, in `params.rounds`
    /// rounds, each giving every such target in turn a slice of the phase (a warm-up, then
    /// `duration / rounds` counted), so that a change in the machine's background load falls on
    /// all targets alike rather than on whichever ran then. Records the result under `key`.
    async fn measure<D, F, Fut>(&mut self, key: Key, what: &str, dial: D, mut slice: F) -> anyhow::Result<()>
    where
        D: Fn(&Measured) -> anyhow::Result<Option<Dialer>>,
        F: FnMut(Dialer, Window) -> Fut,
        Fut: Future<Output = anyhow::Result<Tally>>,
    {
        let params = self.params;
        let rounds = u32::try_from(params.rounds.max(1)).unwrap_or(u32::MAX);
        let counted = params.duration / rounds;
        let mut totals: Vec<Option<(Tally, Cpu)>> = self.targets.iter().map(|_| None).collect();
        for round in 1..=rounds {
            progress(&format!("{what}: round {round}/{rounds}"));
            for (t, total) in self.targets.iter().zip(&mut totals) {
                let Some(dialer) = dial(t)? else { continue };
                let window = Window::from_now(params.warmup, counted);
                let (measured, used) = tokio::join!(slice(dialer, window), cpu_during(t.pid, self.node_pid, window));
                let (tally, cpu) = total.get_or_insert_with(Default::default);
                tally.merge(measured?);
                cpu.add(used);
                check_alive(&mut self.fleet)?;
            }
        }
        for (t, total) in self.targets.iter_mut().zip(totals) {
            if let Some((tally, cpu)) = total {
                t.phases.push((key, Phase::of(tally, counted * rounds, cpu)));
            }
        }
        Ok(())
    }
}

/// CPU used during the counted parts of a phase.
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    /// By the target's processes.
    target: Duration,
    /// By the node.
    node: Duration,
    /// By the bench itself (the load clients).
    client: Duration,
    /// The machine's busy ticks, all cores.
    busy_ticks: u64,
    /// All its ticks, all cores.
    all_ticks: u64,
}

impl Cpu {
    fn add(&mut self, other: Cpu) {
        self.target += other.target;
        self.node += other.node;
        self.client += other.client;
        self.busy_ticks += other.busy_ticks;
        self.all_ticks += other.all_ticks;
    }

    /// The counters now.
    fn now(target: u32, node: u32) -> Cpu {
        let (busy_ticks, all_ticks) = procs::machine_ticks();
        Cpu {
            target: procs::tree_cpu(target),
            node: procs::tree_cpu(node),
            client: procs::process_cpu(std::process::id()),
            busy_ticks,
            all_ticks,
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            target: self.target.saturating_sub(before.target),
            node: self.node.saturating_sub(before.node),
            client: self.client.saturating_sub(before.client),
            busy_ticks: self.busy_ticks.saturating_sub(before.busy_ticks),
            all_ticks: self.all_ticks.saturating_sub(before.all_ticks),
        }
    }
}

/// CPU the target, the node and the bench use within the counted part of `window`.
async fn cpu_during(target: u32, node: u32, window: Window) -> Cpu {
    tokio::time::sleep_until(window.start.into()).await;
    let before = Cpu::now(target, node);
    tokio::time::sleep_until(window.end.into()).await;
    Cpu::now(target, node).since(before)
}

/// The median round trip of one byte over a loopback TCP connection between two threads: the
/// floor under any target's one-in-flight latency.
fn loopback_rtt() -> anyhow::Result<f64> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 1];
        while s.read(&mut b)? == 1 {
            s.write_all(&b)?;
        }
        Ok(())
    });
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut b = [7u8; 1];
    let mut tally = Tally::default();
    for i in 0..22_000 {
        let started = Instant::now();
        s.write_all(&b)?;
        s.read_exact(&mut b)?;
        if i >= 2_000 {
            tally.record(true, started.elapsed());
        }
    }
    drop(s);
    let _ = echo.join();
    Ok(tally.latency().p50_ms)
}

/// Starts the devnet node, then bts-gateway, HAProxy and nginx in front of it, and waits until
/// each answers over HTTP and WebSocket.
async fn start(
    fleet: &mut Fleet,
    programs: &Programs,
    params: &Params,
    nofile: u64,
    cert: &Certificate,
) -> anyhow::Result<Vec<Measured>> {
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
    let max_connections = ((params.idle + params.connections.iter().max().copied().unwrap_or(0) + 1024) as u64)
        .min(nofile.saturating_sub(128) / 2);
    let dir = fleet.dir().to_owned();
    let setup = |listen, tls| Setup {
        listen,
        tls,
        backend,
        cores,
        max_connections,
        nofile,
        dir: &dir,
    };

    let gateway = setup(procs::free_port()?, Some(procs::free_port()?));
    let path = write(&dir, "gateway.toml", &gateway_toml(&gateway, &chain_id))?;
    let mut command = Command::new(&programs.bts_infra);
    command.arg("gateway").arg("--config").arg(path).env("RUST_LOG", "warn");
    let gateway_pid = fleet.start(GATEWAY, command)?;

    let haproxy = setup(procs::free_port()?, Some(procs::free_port()?));
    let path = write(&dir, "haproxy.cfg", &haproxy_cfg(&haproxy))?;
    let mut command = Command::new(&programs.haproxy);
    command.arg("-db").arg("-f").arg(path);
    let haproxy_pid = fleet.start(HAPROXY_NAME, command)?;

    let nginx = setup(procs::free_port()?, None);
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
        target(DIRECT, backend, None, devnet_pid),
        target(GATEWAY, gateway.listen, gateway.tls, gateway_pid),
        target(HAPROXY_NAME, haproxy.listen, haproxy.tls, haproxy_pid),
        target("nginx", nginx.listen, None, nginx_pid),
    ];
    for t in &targets {
        wait_ready(fleet, t, cert).await?;
    }
    Ok(targets)
}

fn target(name: &'static str, addr: SocketAddr, tls: Option<SocketAddr>, pid: u32) -> Measured {
    Measured {
        name,
        idle: None,
        phases: Vec::new(),
        addr,
        tls,
        pid,
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Waits until `t` answers a call over HTTP and a login over WebSocket, on its TLS listener too
/// (bts-gateway first needs its health checks to pass), failing with the program's log if it
/// exits or takes 60 s.
async fn wait_ready(fleet: &mut Fleet, t: &Measured, cert: &Certificate) -> anyhow::Result<()> {
    let process = if t.name == DIRECT { "devnet" } else { t.name };
    let mut dialers = vec![Dialer::plain(t.addr)];
    if let Some(tls) = t.tls {
        dialers.push(Dialer::tls(tls, cert.client(false)?));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        fleet.check_alive(process)?;
        let mut ready = true;
        for d in &dialers {
            ready = ready && http::probe(d).await && ws::probe(d).await;
        }
        if ready {
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

fn check_alive(fleet: &mut Fleet) -> anyhow::Result<()> {
    for name in ["devnet", GATEWAY, HAPROXY_NAME, "nginx"] {
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
