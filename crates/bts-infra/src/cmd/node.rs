//! `bts-infra node`: render witness_node's config.ini and command line from a node spec, run
//! witness_node with it, and probe a node's readiness. The logic lives in `bts-node`; this file
//! reads the three spec sources (spec file < `BTS_NODE_*` environment < flags) and the files they
//! name, and maps errors to exit codes (2: the spec or the environment needs changing).
//!
//! `node run` exits with witness_node's own exit status (128 + N when a signal N ended it), so
//! a supervisor sees the node's status, not the launcher's.

mod ready;

use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use crate::serve;
use bts_node::render::{Rendered, render};
use bts_node::run::{self, RunError, RunOptions};
use bts_node::spec::{Files, NodeSpec, Origin, RawSpec, Setting, SpecError};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `node run` runs for the spec (`--engine`, `BTS_NODE_ENGINE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Engine {
    /// bitshares-core's witness_node: the only production engine.
    WitnessNode,
    /// bts-infra's devnet, for demos, tests and CI: a producer of the network's devnet chain, or a
    /// follower of the first seed node; never a public chain.
    Devnet,
}

/// `bts-infra node ...` (the spec flags make the arguments large, hence the boxes).
#[derive(Subcommand)]
pub(crate) enum NodeCommand {
    /// Print witness_node's config.ini and command line for a node spec (or write them to --out DIR)
    Render(Box<RenderArgs>),
    /// Render the config into the data directory, run witness_node, stop it cleanly on SIGTERM/SIGINT
    Run(Box<RunArgs>),
    /// Exit 0 if the node answers, is on the expected chain and its head block is fresh; else say why
    Ready(ready::ReadyArgs),
}

impl NodeCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            NodeCommand::Render(args) => args.run(),
            NodeCommand::Run(args) => args.run(),
            NodeCommand::Ready(args) => args.run(),
        }
    }
}

/// The node spec as flags; each also comes from `BTS_NODE_<NAME>` or the spec file (docs/node.md).
#[derive(Args)]
#[command(next_help_heading = "Node spec (flags override BTS_NODE_* variables, which override the spec file)")]
struct SpecArgs {
    /// TOML spec file with the same settings (kebab-case keys)
    #[arg(long, value_name = "FILE", env = "BTS_NODE_SPEC")]
    spec: Option<PathBuf>,
    /// mainnet or testnet
    #[arg(long, value_name = "NETWORK")]
    network: Option<String>,
    /// producer, seed, api, full (= producer + seed + history full); repeat or comma-separate
    #[arg(long, value_name = "MODE")]
    mode: Vec<String>,
    /// none, low, full or es [default: none, full for --mode full]
    #[arg(long, value_name = "LEVEL")]
    history: Option<String>,
    /// Keep history only for this account (1.2.N); repeatable
    #[arg(long, value_name = "ID")]
    track_account: Vec<String>,
    /// Witness this producer signs for (1.6.N); repeatable
    #[arg(long, value_name = "ID")]
    witness_id: Vec<String>,
    /// Producer's key file: one ["PUBLIC_KEY","WIF"] per line (a mounted secret; never copied)
    #[arg(long, value_name = "FILE")]
    key_file: Option<String>,
    /// Where a seed listens for peers [default: 0.0.0.0:1776, testnet 0.0.0.0:9091]
    #[arg(long, value_name = "IP:PORT")]
    p2p_endpoint: Option<String>,
    /// The IP:PORT a seed advertises to peers
    #[arg(long, value_name = "IP:PORT")]
    public_address: Option<String>,
    /// A peer to connect to; repeatable
    #[arg(long, value_name = "HOST:PORT")]
    seed_node: Vec<String>,
    /// Use witness_node's built-in seed list (true/false) [default: true]
    #[arg(long, value_name = "BOOL")]
    builtin_seeds: Option<String>,
    /// JSON-RPC endpoint, or off [default: 127.0.0.1:8090, testnet 127.0.0.1:8091]
    #[arg(long, value_name = "IP:PORT|off")]
    rpc_endpoint: Option<String>,
    /// Elasticsearch URL (history es)
    #[arg(long, value_name = "URL")]
    es_url: Option<String>,
    /// Elasticsearch index prefix [default: bitshares-, testnet bitshares-testnet-]
    #[arg(long, value_name = "PREFIX")]
    es_index_prefix: Option<String>,
    /// An API limit, e.g. get-account-history=250; repeatable
    #[arg(long, value_name = "NAME=N")]
    api_limit: Vec<String>,
    /// Explicit plugin list instead of the one the modes imply (checked against them)
    #[arg(long, value_name = "LIST")]
    plugins: Option<String>,
    /// witness_node's data directory [default: witness_node_data_dir]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,
    /// A config.ini fragment with further witness_node options (checked line by line)
    #[arg(long, value_name = "FILE")]
    extra_config: Option<String>,
    /// Start with --replay-blockchain (rebuild the object database from the stored blocks)
    #[arg(long)]
    replay: bool,
}

impl SpecArgs {
    /// The flags as the top layer of the spec.
    fn flags(&self) -> Result<RawSpec, SpecError> {
        let lists = [
            (Setting::Mode, &self.mode),
            (Setting::TrackAccount, &self.track_account),
            (Setting::WitnessId, &self.witness_id),
            (Setting::SeedNode, &self.seed_node),
            (Setting::ApiLimit, &self.api_limit),
        ];
        let singles = [
            (Setting::Network, &self.network),
            (Setting::History, &self.history),
            (Setting::KeyFile, &self.key_file),
            (Setting::P2pEndpoint, &self.p2p_endpoint),
            (Setting::PublicAddress, &self.public_address),
            (Setting::BuiltinSeeds, &self.builtin_seeds),
            (Setting::RpcEndpoint, &self.rpc_endpoint),
            (Setting::EsUrl, &self.es_url),
            (Setting::EsIndexPrefix, &self.es_index_prefix),
            (Setting::Plugins, &self.plugins),
            (Setting::DataDir, &self.data_dir),
            (Setting::ExtraConfig, &self.extra_config),
        ];
        let mut raw = RawSpec::default();
        for (setting, values) in lists {
            if !values.is_empty() {
                raw.set(setting, &values.join(","), Origin::Flag)?;
            }
        }
        for (setting, value) in singles {
            if let Some(value) = value {
                raw.set(setting, value, Origin::Flag)?;
            }
        }
        if self.replay {
            raw.set(Setting::Replay, "true", Origin::Flag)?;
        }
        Ok(raw)
    }

    /// Reads and layers the three sources and validates the result.
    fn load(&self) -> anyhow::Result<NodeSpec> {
        let file = match &self.spec {
            Some(path) => RawSpec::from_toml(&read(path, "--spec")?, path).map_err(input)?,
            None => RawSpec::default(),
        };
        let env = RawSpec::from_env(environment()).map_err(input)?;
        let raw = file.merge(env).merge(self.flags().map_err(input)?);
        NodeSpec::build(&raw, &FileSystem).map_err(input)
    }
}

/// The process environment as text (variables that are not valid UTF-8 cannot be node settings).
fn environment() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// The spec's files, read from the file system.
struct FileSystem;

impl Files for FileSystem {
    fn read(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

fn read(path: &Path, flag: &str) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|e| InputError::new(format!("cannot read {flag} {}: {e}", path.display())))
}

fn input(e: SpecError) -> anyhow::Error {
    InputError::new(e.problem).hint(e.fix).into()
}

/// The witness_node program, shared by `render` (for the command line shown) and `run`.
#[derive(Args)]
#[command(next_help_heading = "Launcher")]
struct ProgramArgs {
    /// The witness_node executable (a name is looked up on PATH; nothing is ever installed)
    #[arg(
        long,
        value_name = "PATH",
        env = "BTS_NODE_WITNESS_NODE",
        default_value = "witness_node"
    )]
    witness_node: PathBuf,
}

/// Arguments of `node render`.
#[derive(Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    spec: SpecArgs,
    #[command(flatten)]
    program: ProgramArgs,
    /// Write config.ini (mode 0600) and command-line into this directory instead of printing them
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `node render` prints.
#[derive(Serialize)]
struct RenderReport {
    summary: String,
    command: Vec<String>,
    command_line: String,
    config_path: PathBuf,
    config_ini: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    written_to: Option<PathBuf>,
    /// Whether `written_to` is the data directory itself (then there is nothing to copy).
    #[serde(skip)]
    written_to_data_dir: bool,
    spec: NodeSpec,
}

impl RenderArgs {
    fn run(self) -> anyhow::Result<()> {
        let spec = self.spec.load()?;
        let rendered = render(&spec);
        let program = self.program.witness_node.display().to_string();
        // Written before the report is made, which compares the written directory with the data
        // directory by what they resolve to.
        if let Some(dir) = &self.out {
            write_out(dir, &rendered.command_line(&program), &rendered)?;
        }
        let report = RenderReport {
            summary: spec.summary(),
            command: std::iter::once(program.clone())
                .chain(rendered.args.iter().cloned())
                .collect(),
            command_line: rendered.command_line(&program),
            config_path: spec.data_dir.join("config.ini"),
            config_ini: rendered.config_ini.clone(),
            written_to_data_dir: self.out.as_deref().is_some_and(|dir| same_dir(dir, &spec.data_dir)),
            written_to: self.out.clone(),
            spec,
        };
        self.output.print(&report)
    }
}

/// Whether `a` and `b` name the same directory; `a` exists (it was just written), `b` may not.
fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
}

fn write_out(dir: &Path, command_line: &str, rendered: &Rendered) -> anyhow::Result<()> {
    run::write_config(dir, &rendered.config_ini)?;
    let path = dir.join("command-line");
    std::fs::write(&path, format!("{command_line}\n"))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

impl Report for RenderReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(dir) = &self.written_to {
            writeln!(
                out,
                "{}: wrote {}/config.ini (mode 0600) and {}/command-line",
                self.summary,
                dir.display(),
                dir.display()
            )?;
            if self.written_to_data_dir {
                // `node run` rewrites it there at every start, so this is for reading, not editing.
                return writeln!(
                    out,
                    "{} is the data directory: witness_node reads config.ini there (`node run` rewrites it at every start)",
                    dir.display()
                );
            }
            return writeln!(
                out,
                "witness_node reads config.ini from its --data-dir; copy it to {}",
                self.config_path.display()
            );
        }
        // The output is itself a valid config.ini: the command line is a comment.
        writeln!(out, "# Command line: {}", self.command_line)?;
        writeln!(out, "# File: {}", self.config_path.display())?;
        out.write_all(self.config_ini.as_bytes())
    }
}

/// Arguments of `node run`.
#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    spec: SpecArgs,
    #[command(flatten)]
    program: ProgramArgs,
    /// How long witness_node may take to write its database after SIGINT before it is killed
    #[arg(long, value_name = "DURATION", env = "BTS_NODE_GRACE_PERIOD", default_value = "10m", value_parser = humantime::parse_duration)]
    grace_period: Duration,
    /// How long to wait for Elasticsearch to answer before starting (history es)
    #[arg(long, value_name = "DURATION", env = "BTS_NODE_ES_WAIT", default_value = "2m", value_parser = humantime::parse_duration)]
    es_wait: Duration,
    /// Run even as root (not recommended: witness_node needs no privileges)
    #[arg(long, env = "BTS_NODE_ALLOW_ROOT")]
    allow_root: bool,
    /// What runs the node: witness-node, or devnet (bts-infra's development chain from the same
    /// spec, for demos and tests; see docs/node.md)
    #[arg(long, value_name = "ENGINE", env = "BTS_NODE_ENGINE", default_value = "witness-node")]
    engine: Engine,
    /// Time between blocks of a devnet-engine producer
    #[arg(long, value_name = "DURATION", env = "BTS_NODE_DEVNET_BLOCK_INTERVAL", default_value = "3s", value_parser = serve::parse_interval)]
    devnet_block_interval: u32,
}

impl RunArgs {
    fn run(self) -> anyhow::Result<()> {
        let spec = self.spec.load()?;
        run::check_user(run::running_as_root(), self.allow_root).map_err(|e| {
            InputError::new(e.to_string()).hint(
                "run as an unprivileged user (the images use uid 10000); --allow-root (BTS_NODE_ALLOW_ROOT=true) overrides this",
            )
        })?;
        if self.engine == Engine::Devnet {
            return crate::cmd::devnet::DevnetArgs::for_node(&spec, self.devnet_block_interval)?.run();
        }
        let rendered = render(&spec);
        let options = RunOptions {
            program: self.program.witness_node,
            grace_period: self.grace_period,
            es_wait: self.es_wait,
        };
        let outcome = serve::block_on(async {
            let stop = run::stop_signals()?;
            run::run(&spec, &rendered, &options, stop).await.map_err(run_error)
        })?;
        if outcome.killed {
            eprintln!(
                "error: witness_node did not stop within {} of SIGINT and was killed; the next start replays the chain \
                 (raise --grace-period and the orchestrator's stop timeout)",
                humantime::format_duration(options.grace_period)
            );
        } else if outcome.crashed_during_shutdown() {
            eprintln!(
                "error: witness_node crashed during shutdown (exit status {}{}) before writing its object database; \
                 the next start replays the whole chain (hours on mainnet). witness_node 7.0.2 does this once a client \
                 has asked for the API of a plugin it does not load (bitshares-core issue 2717; see docs/node.md)",
                outcome.code,
                outcome.signal_name().map(|s| format!(", {s}")).unwrap_or_default()
            );
        } else if outcome.replays_next_start() {
            eprintln!(
                "error: witness_node died (exit status {}{}) without writing its object database; the next start \
                 replays the chain",
                outcome.code,
                outcome.signal_name().map(|s| format!(", {s}")).unwrap_or_default()
            );
        }
        if outcome.code != 0 {
            // witness_node's own status, as documented; stdout holds nothing unflushed here.
            std::process::exit(outcome.code);
        }
        Ok(())
    }
}

fn run_error(e: RunError) -> anyhow::Error {
    match e {
        RunError::Spawn { program, source } if source.kind() == io::ErrorKind::NotFound => InputError::new(format!(
            "cannot start {program}: it is not installed or not on PATH"
        ))
        .hint("install bitshares-core's witness_node (or use the bts-infra node image), or point --witness-node at it")
        .into(),
        other => other.into(),
    }
}
