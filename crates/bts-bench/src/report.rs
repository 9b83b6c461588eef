//! The printed result: the machine, the versions, the parameters, one markdown table with the
//! ratios to HAProxy, and bts-gateway against the goals.

use crate::bench::{DIRECT, GATEWAY, HAPROXY_NAME, Key, Measured, Params, Phase, Programs, Proto, Results};
use crate::procs;
use std::fmt::Write as _;

/// The machine and program versions, read before the run (so the load average is the
/// machine's own, not the bench's).
pub(crate) struct Environment {
    cores: usize,
    cpu: String,
    kernel: String,
    load_before: String,
    versions: Vec<(&'static str, String)>,
}

impl Environment {
    /// Reads `/proc` and asks each program for its version.
    pub(crate) fn read(programs: &Programs) -> Environment {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Environment {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel: first_line("/proc/sys/kernel/osrelease"),
            load_before: first_line("/proc/loadavg"),
            versions: vec![
                ("bts-infra", procs::version_line(&programs.bts_infra, "--version")),
                ("HAProxy", procs::version_line(&programs.haproxy, "-v")),
                ("nginx", procs::version_line(&programs.nginx, "-v")),
            ],
        }
    }
}

fn first_line(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().next().unwrap_or("unknown").trim().to_owned()
}

/// Renders the whole report as markdown.
pub(crate) fn render(env: &Environment, params: &Params, results: &Results) -> String {
    let mut out = String::new();
    let r = Report::new(params, results);
    header(&mut out, env, params, results);
    r.bounds(&mut out);
    r.per_call_table(&mut out, "CPU µs per answered call (↓)", |p| p.cpu_us_per_call, 1);
    r.per_call_table(&mut out, "Answers per second (↑)", |p| p.rate, 0);
    r.latency_table(&mut out);
    r.cached_and_memory(&mut out);
    r.goals(&mut out);
    out
}

/// The machine, the versions and the parameters.
fn header(out: &mut String, env: &Environment, params: &Params, results: &Results) {
    let _ = writeln!(out, "\n## bts-bench gateway\n");
    let _ = writeln!(
        out,
        "Machine: {} cores, {}, Linux {}; load average before the run: {}; after: {}.",
        env.cores,
        env.cpu,
        env.kernel,
        env.load_before,
        first_line("/proc/loadavg")
    );
    for (name, version) in &env.versions {
        let _ = writeln!(out, "- {name}: {version}");
    }
    let connections: Vec<String> = params.connections.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "\nParameters: --duration {} per phase and target in --rounds {} (the targets taking turns in each round, \
         a {} warm-up before each turn), --connections {}, --handshakes {}, --idle {}{}; RLIMIT_NOFILE {}.\n\
         Load: bts-bench's own clients on the same machine; each call `get_objects [[\"1.2.<n%8>\",\"1.2.<n>\"]]` \
         with a fresh n, so nothing can be collapsed or cached (except in the cached phase). TLS: bts-gateway and \
         HAProxy terminate it with the same ECDSA P-256 certificate; the clients are rustls, TLS 1.3.\n",
        humantime::format_duration(params.duration),
        params.rounds,
        humantime::format_duration(params.warmup),
        connections.join(","),
        params.handshake_concurrency,
        params.idle_requested,
        if params.idle < params.idle_requested {
            format!(
                " (held {}: RLIMIT_NOFILE, and a proxy takes two descriptors per session)",
                params.idle
            )
        } else {
            String::new()
        },
        results.nofile,
    );
}

/// The results with the lookups every table needs.
struct Report<'a> {
    results: &'a Results,
    first: usize,
    columns: Vec<(String, Key)>,
}

impl<'a> Report<'a> {
    fn new(params: &Params, results: &'a Results) -> Report<'a> {
        let first = params.connections.first().copied().unwrap_or(0);
        let mut columns = Vec::new();
        for (label, proto) in [("HTTP", Proto::Http), ("WS", Proto::Ws)] {
            for &n in &params.connections {
                columns.push((format!("{label} ×{n}"), Key::Peak(proto, n)));
            }
        }
        columns.push((format!("HTTPS ×{first}"), Key::Peak(Proto::Https, first)));
        columns.push((format!("WSS ×{first}"), Key::Peak(Proto::Wss, first)));
        columns.push(("TLS full handshake+call".to_owned(), Key::Handshakes { resumed: false }));
        columns.push((
            "TLS resumed handshake+call".to_owned(),
            Key::Handshakes { resumed: true },
        ));
        Report {
            results,
            first,
            columns,
        }
    }

    fn target(&self, name: &str) -> Option<&'a Measured> {
        self.results.targets.iter().find(|t| t.name == name)
    }

    fn get(&self, name: &str, key: Key) -> Option<Phase> {
        self.target(name)?.phase(key)
    }

    /// What `t` adds to direct in phase `key`: `f` of its result minus `f` of direct's.
    fn added(&self, t: &Measured, key: Key, f: impl Fn(Phase) -> f64) -> Option<f64> {
        Some(f(t.phase(key)?) - f(self.get(DIRECT, key)?))
    }

    /// The value of `f` for the target over HAProxy's, for phase `key`.
    fn ratio(&self, t: &Measured, key: Key, f: impl Fn(Phase) -> f64) -> Option<f64> {
        let ours = f(t.phase(key)?);
        let theirs = f(self.get(HAPROXY_NAME, key)?);
        (theirs > 0.0 && ours.is_finite()).then(|| ours / theirs)
    }

    /// What bounds the numbers: the node's own latency against the loopback round trip, and how
    /// busy the machine was at peak, with the CPU per call split between the load clients, the
    /// node and the target.
    fn bounds(&self, out: &mut String) {
        let rtt = self.results.backend.loopback_rtt_ms;
        let direct = self.get(DIRECT, Key::One(Proto::Http)).map(|p| p.latency.p50_ms);
        let _ = writeln!(out, "### What bounds the numbers\n");
        match direct {
            Some(d) => {
                let verdict = if d < rtt + 0.25 {
                    "the node answers at once (no timer or queue wait): it does not set the latencies"
                } else {
                    "NOT close to the round trip: the node itself is slow, and every latency below includes it"
                };
                let _ = writeln!(
                    out,
                    "- Loopback TCP round trip (p50): {rtt:.3} ms; the node directly, one call in flight (p50): \
                     {d:.3} ms: {verdict}."
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "- Loopback TCP round trip (p50): {rtt:.3} ms; direct not measured."
                );
            }
        }
        let key = Key::Peak(Proto::Http, self.first);
        let _ = writeln!(
            out,
            "- At peak (HTTP ×{}), the machine's busy share and the CPU per answered call of each part \
             (µs): a machine near 100% busy is CPU-bound, so each part's CPU per call decides throughput.\n\n\
             | target | machine busy | load clients | node | target's own |\n|---|---|---|---|---|",
            self.first
        );
        for t in &self.results.targets {
            let Some(p) = t.phase(key) else { continue };
            let own = if t.name == DIRECT {
                "(the node)".to_owned()
            } else {
                format!("{:.1}", p.cpu_us_per_call)
            };
            let _ = writeln!(
                out,
                "| {} | {:.0}% | {:.1} | {:.1} | {own} |",
                t.name,
                p.machine_busy * 100.0,
                p.client_us_per_call,
                p.node_us_per_call
            );
        }
        let busy: Vec<f64> = self
            .results
            .targets
            .iter()
            .filter(|t| t.name != DIRECT)
            .filter_map(|t| t.phase(key).map(|p| p.machine_busy))
            .collect();
        let least = busy.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            out,
            "\n{}\n",
            if least >= 0.9 {
                "Every proxy's peak ran the machine at ≥ 90% busy: CPU-bound, as intended."
            } else {
                "A proxy's peak left the machine under 90% busy: something other than CPU (connections, a \
                 wait) bounded it; read its throughput with care."
            }
        );
    }

    /// A table of `f` per target and phase column, each with its ratio to HAProxy's.
    fn per_call_table(&self, out: &mut String, title: &str, f: fn(Phase) -> f64, decimals: usize) {
        let _ = writeln!(
            out,
            "### {title}, ÷HAProxy in parentheses\n\n| target | {} |\n|---|{}",
            self.columns
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(self.columns.len())
        );
        for t in &self.results.targets {
            let cells: Vec<String> = self
                .columns
                .iter()
                .map(|&(_, key)| match t.phase(key) {
                    None => "—".to_owned(),
                    Some(p) => {
                        let r = self.ratio(t, key, f).map_or(String::new(), |r| format!(" ({r:.2})"));
                        format!("{}{r}", num(Some(f(p)), decimals))
                    }
                })
                .collect();
            let _ = writeln!(out, "| {} | {} |", t.name, cells.join(" | "));
        }
        let _ = writeln!(out);
    }

    /// Latency: one call in flight, half load, peak; what each proxy adds to direct.
    fn latency_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "### Latency, ms (↓)\n\nAdded = the target's figure − direct's in the same phase.\n\n\
             | target | HTTP 1 in flight p50 | added | WS 1 in flight p50 | added | ½-load p50 | ½-load p99 | added p99 \
             | HTTP ×{0} p99 | ÷HAProxy | WS ×{0} p99 | ÷HAProxy |\n|{1}",
            self.first,
            "---|".repeat(12)
        );
        for t in &self.results.targets {
            let p = |key: Key, f: fn(Phase) -> f64| t.phase(key).map(f);
            let added = |key: Key, f: fn(Phase) -> f64| self.added(t, key, f);
            let p50 = |p: Phase| p.latency.p50_ms;
            let p99 = |p: Phase| p.latency.p99_ms;
            let (one_http, one_ws) = (Key::One(Proto::Http), Key::One(Proto::Ws));
            let (peak_http, peak_ws) = (Key::Peak(Proto::Http, self.first), Key::Peak(Proto::Ws, self.first));
            let cells = [
                num(p(one_http, p50), 3),
                num(added(one_http, p50), 3),
                num(p(one_ws, p50), 3),
                num(added(one_ws, p50), 3),
                num(p(Key::Half, p50), 2),
                num(p(Key::Half, p99), 2),
                num(added(Key::Half, p99), 2),
                num(p(peak_http, p99), 2),
                num(self.ratio(t, peak_http, p99), 2),
                num(p(peak_ws, p99), 2),
                num(self.ratio(t, peak_ws, p99), 2),
            ];
            let _ = writeln!(out, "| {} | {} |", t.name, cells.join(" | "));
        }
        let half: Vec<String> = self
            .results
            .targets
            .iter()
            .filter_map(|t| {
                let h = t.phase(Key::Half)?;
                let (p50, p99) = (h.from_due.p50_ms, h.from_due.p99_ms);
                Some(format!("{} {:.0}/s, {p50:.2}/{p99:.2} ms", t.name, h.rate))
            })
            .collect();
        let _ = writeln!(
            out,
            "\nHalf load = {:.0} calls/s (half of HAProxy's HTTP ×{} peak) offered to every target; answers/s \
             achieved and p50/p99 from when each call was due: {}.\n",
            self.results.half_rate,
            self.first,
            half.join("; ")
        );
    }

    /// Cached calls against direct, memory per idle WebSocket, handshake resumption, errors.
    fn cached_and_memory(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "### Cached calls (`get_chain_id`, HTTP ×{}), memory per idle WebSocket, errors\n",
            self.first
        );
        for name in [DIRECT, GATEWAY] {
            if let Some(p) = self.get(name, Key::Cached) {
                let _ = writeln!(
                    out,
                    "- cached calls, {name}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} µs CPU per call",
                    p.rate, p.latency.p50_ms, p.latency.p99_ms, p.cpu_us_per_call
                );
            }
        }
        for t in &self.results.targets {
            if let Some(i) = t.idle {
                let r = self
                    .target(HAPROXY_NAME)
                    .and_then(|h| h.idle)
                    .filter(|h| h.kib_per_session > 0.0 && t.name != DIRECT)
                    .map_or(String::new(), |h| {
                        format!(" ({:.2}× HAProxy's)", i.kib_per_session / h.kib_per_session)
                    });
                let _ = writeln!(
                    out,
                    "- idle WebSocket, {}: {:.1} KiB per session{r}, {} held, {} failed{}",
                    t.name,
                    i.kib_per_session,
                    i.held,
                    i.failed,
                    if t.name == DIRECT { " (the node's own cost)" } else { "" }
                );
            }
        }
        for t in &self.results.targets {
            if let Some(p) = t.phase(Key::Handshakes { resumed: true }) {
                let _ = writeln!(
                    out,
                    "- resumed share of the resumed-handshake phase, {}: {:.0}%",
                    t.name,
                    p.resumed_share * 100.0
                );
            }
        }
        let errors: Vec<String> = self
            .results
            .targets
            .iter()
            .flat_map(|t| {
                t.phases
                    .iter()
                    .filter(|(_, p)| p.errors > 0)
                    .map(move |(k, p)| format!("{} {k:?}: {}", t.name, p.errors))
            })
            .collect();
        let _ = writeln!(
            out,
            "- failed calls: {}\n",
            if errors.is_empty() {
                "none".to_owned()
            } else {
                errors.join("; ")
            }
        );
    }

    /// bts-gateway against issue 16's goals, reported, not asserted.
    fn goals(&self, out: &mut String) {
        let Some(gw) = self.target(GATEWAY) else {
            return;
        };
        let _ = writeln!(out, "### Goals (issue 16), bts-gateway, ratios to HAProxy\n");
        let list = |keys: &[(String, Key)], f: fn(Phase) -> f64, ok: fn(f64) -> bool| -> String {
            keys.iter()
                .map(|(label, key)| match self.ratio(gw, *key, f) {
                    Some(r) => format!("{label} {r:.2} ({})", verdict(Some(ok(r)))),
                    None => format!("{label} {}", verdict(None)),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "- CPU per relayed call ≤ 1.0×: {}",
            list(&self.columns, |p| p.cpu_us_per_call, |r| r <= 1.0)
        );
        let peaks: Vec<(String, Key)> = self
            .columns
            .iter()
            .filter(|(_, k)| matches!(k, Key::Peak(Proto::Http | Proto::Ws, _)))
            .cloned()
            .collect();
        let _ = writeln!(out, "- throughput ≥ 1.0×: {}", list(&peaks, |p| p.rate, |r| r >= 1.0));
        for (label, proto) in [("HTTP", Proto::Http), ("WS", Proto::Ws)] {
            let key = Key::One(proto);
            let added = |t: Option<&Measured>| self.added(t?, key, |p| p.latency.p50_ms);
            let (ours, theirs) = (added(Some(gw)), added(self.target(HAPROXY_NAME)));
            let _ = writeln!(
                out,
                "- added latency at one call in flight ≤ HAProxy's, {label}: {} ms vs {} ms ({})",
                num(ours, 3),
                num(theirs, 3),
                verdict(ours.zip(theirs).map(|(a, b)| a <= b))
            );
        }
        let added = self
            .added(gw, Key::Half, |p| p.latency.p99_ms)
            .filter(|a| a.is_finite());
        let _ = writeln!(
            out,
            "- added p99 at half of HAProxy's peak < 1 ms: {} ms ({})",
            num(added, 2),
            verdict(added.map(|a| a < 1.0))
        );
        let kib = gw.idle.map(|i| i.kib_per_session);
        let _ = writeln!(
            out,
            "- at most 5 KiB per idle WebSocket: {} KiB ({})",
            num(kib, 1),
            verdict(kib.map(|k| k <= 5.0))
        );
        let cached = gw.phase(Key::Cached).zip(self.get(DIRECT, Key::Cached));
        let _ = writeln!(
            out,
            "- cached calls faster than direct at p99 too: p50 {} vs {} ms, p99 {} vs {} ms ({})",
            num(cached.map(|(g, _)| g.latency.p50_ms), 2),
            num(cached.map(|(_, d)| d.latency.p50_ms), 2),
            num(cached.map(|(g, _)| g.latency.p99_ms), 2),
            num(cached.map(|(_, d)| d.latency.p99_ms), 2),
            verdict(cached.map(|(g, d)| g.latency.p99_ms < d.latency.p99_ms && g.latency.p50_ms < d.latency.p50_ms))
        );
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not measured",
    }
}

fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_owned(),
    }
}
