//! The printed result: the machine, the versions, the parameters, one markdown table with the
//! ratios to HAProxy, and bts-gateway against the goals.

use crate::bench::{Measured, Params, Phase, Programs, Results};
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
    let haproxy = results.targets.iter().find(|t| t.name == "HAProxy");
    let direct = results.targets.iter().find(|t| t.name == "direct");
    header(&mut out, env, params, results);
    main_table(&mut out, results, haproxy, direct);
    cpu_table(&mut out, results, haproxy);
    goals(&mut out, results, haproxy, direct);
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
    let _ = writeln!(
        out,
        "\nParameters: --duration {} per phase and target in --rounds {} (the targets taking turns in each round, \
         a {} warm-up before each turn), --connections {}, --idle {}{}; \
         half load = 50% of HAProxy's peak = {:.0} calls/s offered to every target; RLIMIT_NOFILE {}.\n\
         Load: bts-bench's own closed-loop (peak) and open-loop (half load) clients on the same machine; each call \
         `get_objects [[\"1.2.<n%8>\",\"1.2.<n>\"]]` with a fresh n.\n",
        humantime::format_duration(params.duration),
        params.rounds,
        humantime::format_duration(params.warmup),
        params.connections,
        params.idle_requested,
        if params.idle < params.idle_requested {
            format!(
                " (held {}: RLIMIT_NOFILE, and a proxy takes two descriptors per session)",
                params.idle
            )
        } else {
            String::new()
        },
        results.half_rate,
        results.nofile,
    );
}

/// The table of the measures, with its legend and details.
fn main_table(out: &mut String, results: &Results, haproxy: Option<&Measured>, direct: Option<&Measured>) {
    let _ = writeln!(
        out,
        "| target | HTTP req/s | ÷HAProxy (↑) | p50 ms | p99 ms | p99 ÷HAProxy (↓) | WS msg/s | ÷HAProxy (↑) \
         | ½-load p50 ms | ½-load p99 ms | added p99 ms (↓) | KiB/idle WS | ÷HAProxy (↓) | errors http/½/ws/idle |"
    );
    let _ = writeln!(out, "|{}", "---|".repeat(14));
    for t in &results.targets {
        let _ = writeln!(out, "{}", row(t, haproxy, direct));
    }
    let _ = writeln!(
        out,
        "\n↑: higher is better, ↓: lower is better. Added p99 = the target's half-load p99 − direct's. \
         KiB/idle WS = growth of the target's resident memory (all its processes) per idle, logged-in \
         WebSocket; for `direct` it is the node's own cost, not a proxy's."
    );
    let half: Vec<String> = results
        .targets
        .iter()
        .filter_map(|t| {
            let h = t.half?;
            let (p50, p99) = (h.from_due.p50_ms, h.from_due.p99_ms);
            Some(format!("{} {:.0}/s, {p50:.2}/{p99:.2} ms", t.name, h.rate))
        })
        .collect();
    let _ = writeln!(
        out,
        "Half load, answers/s achieved and p50/p99 from when each call was due: {}.",
        half.join("; ")
    );
    let held: Vec<String> = results
        .targets
        .iter()
        .filter_map(|t| t.idle.map(|i| format!("{} {}", t.name, i.held)))
        .collect();
    let _ = writeln!(out, "Idle sessions held while weighing: {}.", held.join("; "));
}

/// CPU per call, which background load on the machine disturbs less than rates and latencies.
fn cpu_table(out: &mut String, results: &Results, haproxy: Option<&Measured>) {
    let _ = writeln!(
        out,
        "\nCPU time of the target's own processes per answered call, µs (↓; `direct`: the node's; \
         the proxies' figures exclude the node's):\n\n\
         | target | HTTP peak | ÷HAProxy (↓) | HTTP half load | WS peak | ÷HAProxy (↓) |\n|---|---|---|---|---|---|"
    );
    for t in &results.targets {
        let cpu = |p: Option<Phase>| p.map(|p| p.cpu_us_per_call);
        let hp = |f: fn(&Measured) -> Option<Phase>| haproxy.and_then(|h| cpu(f(h)));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            t.name,
            num(cpu(t.http), 1),
            ratio(cpu(t.http), hp(|m| m.http)),
            num(cpu(t.half), 1),
            num(cpu(t.ws), 1),
            ratio(cpu(t.ws), hp(|m| m.ws)),
        );
    }
}

fn row(t: &Measured, haproxy: Option<&Measured>, direct: Option<&Measured>) -> String {
    let hp = |f: fn(&Measured) -> Option<f64>| haproxy.and_then(f);
    let http_rate = |m: &Measured| m.http.map(|p| p.rate);
    let http_p99 = |m: &Measured| m.http.map(|p| p.latency.p99_ms);
    let ws_rate = |m: &Measured| m.ws.map(|p| p.rate);
    let idle = |m: &Measured| m.idle.map(|i| i.kib_per_session);
    let cells = [
        t.name.to_owned(),
        num(http_rate(t), 0),
        ratio(http_rate(t), hp(http_rate)),
        num(t.http.map(|p| p.latency.p50_ms), 2),
        num(http_p99(t), 2),
        ratio(http_p99(t), hp(http_p99)),
        num(ws_rate(t), 0),
        ratio(ws_rate(t), hp(ws_rate)),
        num(t.half.map(|p| p.latency.p50_ms), 2),
        num(t.half.map(|p| p.latency.p99_ms), 2),
        num(added_p99(t, direct), 2),
        num(idle(t), 1),
        if t.name == "direct" {
            "—".to_owned()
        } else {
            ratio(idle(t), hp(idle))
        },
        errors(t),
    ];
    format!("| {} |", cells.join(" | "))
}

/// Half-load p99 of `t` minus direct's.
fn added_p99(t: &Measured, direct: Option<&Measured>) -> Option<f64> {
    let p99 = |m: &Measured| m.half.map(|p| p.latency.p99_ms);
    Some(p99(t)? - p99(direct?)?)
}

fn errors(t: &Measured) -> String {
    let e = |p: Option<Phase>| p.map_or("—".to_owned(), |p| p.errors.to_string());
    let idle = t.idle.map_or("—".to_owned(), |i| i.failed.to_string());
    format!("{}/{}/{}/{}", e(t.http), e(t.half), e(t.ws), idle)
}

fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_owned(),
    }
}

fn ratio(ours: Option<f64>, haproxy: Option<f64>) -> String {
    match (ours, haproxy) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => format!("{:.2}", a / b),
        _ => "—".to_owned(),
    }
}

/// bts-gateway against the goals, reported, not asserted.
fn goals(out: &mut String, results: &Results, haproxy: Option<&Measured>, direct: Option<&Measured>) {
    let Some(gw) = results.targets.iter().find(|t| t.name == "bts-gateway") else {
        return;
    };
    let verdict = |met: Option<bool>| match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not measured",
    };
    let http = gw.http.zip(haproxy.and_then(|h| h.http)).map(|(g, h)| g.rate / h.rate);
    let ws = gw.ws.zip(haproxy.and_then(|h| h.ws)).map(|(g, h)| g.rate / h.rate);
    let added = added_p99(gw, direct);
    let kib = gw.idle.map(|i| i.kib_per_session);
    let _ = writeln!(out, "\nGoals (issue 4), bts-gateway:");
    let _ = writeln!(
        out,
        "- throughput at least HAProxy's: HTTP {}× ({}), WebSocket {}× ({})",
        num(http, 2),
        verdict(http.map(|r| r >= 1.0)),
        num(ws, 2),
        verdict(ws.map(|r| r >= 1.0))
    );
    let _ = writeln!(
        out,
        "- added p99 under 1 ms at half of peak: {} ms ({})",
        num(added, 2),
        verdict(added.map(|a| a < 1.0))
    );
    let _ = writeln!(
        out,
        "- at most 16 KiB per idle WebSocket: {} KiB ({})",
        num(kib, 1),
        verdict(kib.map(|k| k <= 16.0))
    );
}
