//! `bts-bench`: benchmark harnesses that print a table. `bts-bench gateway` compares bts-gateway
//! with HAProxy and nginx in front of one devnet node (see the crate's README).

mod bench;
mod configs;
mod dial;
mod http;
mod load;
mod procs;
mod report;
mod stats;
mod ws;

use bench::{Params, Programs};
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

/// Benchmarks for bts-infra, printed as markdown tables.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// bts-gateway against HAProxy and nginx (and the node directly) in front of one devnet node:
    /// CPU per relayed call, throughput, added latency, TLS, cached calls, memory per idle
    /// WebSocket
    Gateway(GatewayArgs),
}

#[derive(Args)]
struct GatewayArgs {
    /// Counted time of each phase for each target, all rounds together
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Load before counting starts, in every round of every phase for every target
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Rounds each phase is split into; within a round the targets take turns, so background
    /// load on the machine falls on all of them alike
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Concurrent connections of the peak phases, one phase per number (HTTP and WebSocket); the
    /// first also sets the half-load, cached, HTTPS and WSS phases
    #[arg(long, default_value = "64,256", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: Vec<u32>,
    /// TLS connections being set up at once in the handshake phases
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    handshakes: u32,
    /// Idle WebSocket sessions held through each target for the memory measurement
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    idle: u32,
}

fn main() -> ExitCode {
    let Bench::Gateway(args) = Cli::parse().command;
    let params = Params {
        duration: args.duration,
        warmup: args.warmup,
        rounds: args.rounds as usize,
        connections: args.connections.iter().map(|&c| c as usize).collect(),
        handshake_concurrency: args.handshakes as usize,
        idle: args.idle as usize,
        idle_requested: args.idle as usize,
    };
    match gateway(params) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bts-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn gateway(params: Params) -> anyhow::Result<()> {
    let programs = Programs::find()?;
    let env = report::Environment::read(&programs);
    let nofile = procs::raise_nofile();
    let params = &params.fit_to(nofile);
    if params.idle < params.idle_requested {
        eprintln!(
            "bts-bench: RLIMIT_NOFILE is {nofile} and cannot be raised here: holding {} idle sessions, not {}",
            params.idle, params.idle_requested
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let results = runtime.block_on(async {
        // Ctrl-C or SIGTERM drops the run, and with it the guard that stops every peer process.
        tokio::select! {
            results = bench::run(&programs, params, nofile) => results,
            () = stop_signal() => anyhow::bail!("interrupted; the peers were stopped"),
        }
    });
    println!("{}", report::render(&env, params, &results?));
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
