//! `bts-infra`: the operator's single binary for BitShares infrastructure.
//!
//! This file only parses the command line, dispatches to a command group in [`cmd`] and turns an
//! error into a message on stderr and an exit code ([`error`]). Exit codes: 0 success, 1 failure,
//! 2 bad usage or bad input (the same code clap uses for its own usage errors).

mod cmd;
mod error;
mod input;
mod output;
mod serve;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: see the workspace Cargo.toml for the measurement.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// BitShares infrastructure: devnet and local stack, keys, account names and transaction signing.
#[derive(Parser)]
#[command(
    name = "bts-infra",
    version,
    after_help = "Exit codes: 0 success, 1 failure, 2 bad usage or bad input. With --json, stdout is \
        exactly one JSON object; errors go to stderr."
)]
struct Cli {
    /// Log format of long-running commands (on stderr): text, coloured only on a terminal, or
    /// json, one object per line for log shippers
    #[arg(
        long,
        global = true,
        value_name = "FORMAT",
        env = "BTS_LOG_FORMAT",
        default_value = "text",
        hide_possible_values = true
    )]
    log_format: serve::LogFormat,
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    // `parse` prints clap's own usage errors and exits with code 2, and prints --help with code 0.
    let cli = Cli::parse();
    serve::set_log_format(cli.log_format);
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => error::report(&err),
    }
}
