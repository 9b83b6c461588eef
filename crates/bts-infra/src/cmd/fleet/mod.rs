//! `bts-infra fleet`: the fleet from one inventory file (docs/fleet.md). `check` validates it,
//! `render` writes each host's compose project for review. The inventory and rendering are
//! bts-fleet's; this module reads the files and secrets and writes the output.

mod apply;
mod bootstrap;
mod cordon;
mod down;
mod hosts;
mod ssh;
mod status;
mod upgrade;

use crate::error::InputError;
use crate::output::{OutputArgs, Report};
use anyhow::Context as _;
use bts_fleet::render::{render, render_kubernetes};
use bts_fleet::{Finding, Inventory, SecretSource, Secrets, Severity};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `bts-infra fleet ...`.
#[derive(Subcommand)]
pub(crate) enum FleetCommand {
    /// Validate the inventory: every error and warning, with file, line and key
    Check(CheckArgs),
    /// Write each host's compose project (compose.yml and service configs, no secrets) to a directory
    Render(RenderArgs),
    /// Show, per host, what apply would create, recreate, start or remove, and why
    Plan(apply::PlanArgs),
    /// Converge every host to the inventory: files and secrets, nodes first, then gateways and the faucet
    Apply(apply::ApplyArgs),
    /// One table of the fleet: hosts, containers (CPU, memory), node heads and lag, gateway pools and certificates
    Status(status::StatusArgs),
    /// Rolling upgrade of a network's nodes: cordon, drain, recreate, wait until in sync, uncordon; one per region at a time
    Upgrade(upgrade::UpgradeArgs),
    /// Rolling upgrade back to the network's previous-node-image (recorded by `upgrade --image`)
    Rollback(upgrade::RollbackArgs),
    /// Start a node from a copy of a synced peer's data (the peer leaves the pools during the copy) instead of replaying
    Bootstrap(bootstrap::BootstrapArgs),
    /// Take the fleet or some hosts out of service: gateways and faucet first, then nodes (cordoned first); volumes kept
    Down(down::DownArgs),
}

impl FleetCommand {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            FleetCommand::Check(c) => c.run(),
            FleetCommand::Render(c) => c.run(),
            FleetCommand::Plan(c) => c.run(),
            FleetCommand::Apply(c) => c.run(),
            FleetCommand::Status(c) => c.run(),
            FleetCommand::Upgrade(c) => c.run(),
            FleetCommand::Rollback(c) => c.run(),
            FleetCommand::Bootstrap(c) => c.run(),
            FleetCommand::Down(c) => c.run(),
        }
    }
}

/// The inventory argument every fleet command takes.
#[derive(Args)]
pub(crate) struct InventoryArgs {
    /// The inventory file
    #[arg(
        long,
        short = 'i',
        value_name = "FILE",
        default_value = "fleet.toml",
        env = "BTS_FLEET_INVENTORY"
    )]
    pub(super) inventory: PathBuf,
}

impl InventoryArgs {
    /// Reads and checks the inventory. Warnings go to stderr; errors make an input error.
    fn load(&self) -> anyhow::Result<(Inventory, Vec<Finding>)> {
        let text = std::fs::read_to_string(&self.inventory).map_err(|e| {
            InputError::new(format!("cannot read the inventory {}: {e}", self.inventory.display()))
                .hint("give the file with --inventory FILE (docs/fleet.md has an example)")
        })?;
        let secrets = self.secrets();
        let (inv, warnings) =
            Inventory::parse(&self.inventory, &text, &secrets).map_err(|findings| refused(&findings))?;
        if let Some(geo) = &inv.geo_database {
            let path = secrets.path(geo);
            if !path.is_file() {
                return Err(InputError::new(format!(
                    "{}: geo-database {} is not a file here",
                    self.inventory.display(),
                    path.display()
                ))
                .hint("give the path of a MaxMind-format country database (GeoLite2-Country.mmdb), or remove geo-database")
                .into());
            }
        }
        Ok((inv, warnings))
    }
}

impl InventoryArgs {
    /// The secrets, files relative to the inventory's directory.
    fn secrets(&self) -> FileSecrets {
        FileSecrets {
            base: self.inventory.parent().unwrap_or(Path::new(".")).to_path_buf(),
        }
    }
}

/// Exit status of a command that went to every host: an error naming the hosts in `failed`.
fn hosts_failed(failed: &[&str], all: usize, what: &str) -> anyhow::Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "{} of {all} hosts {what}: {} (the others went on; run the command again once fixed)",
        failed.len(),
        failed.join(", ")
    ))
}

/// Prints `findings` on stderr and says how many errors there were.
fn refused(findings: &[Finding]) -> InputError {
    for f in findings {
        eprintln!("{f}");
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    InputError::new(format!(
        "the inventory has {errors} error{}",
        if errors == 1 { "" } else { "s" }
    ))
    .hint("fix them and run `bts-infra fleet check` again")
}

/// Secrets on this machine: a file (relative to the inventory's directory, `~/` to the home
/// directory) or an environment variable. Only ever read to be checked or copied to a host.
pub(crate) struct FileSecrets {
    base: PathBuf,
}

impl FileSecrets {
    /// A file on this machine: `~/` is the home directory, relative paths are the inventory's.
    fn path(&self, file: &Path) -> PathBuf {
        match (file.strip_prefix("~"), std::env::var_os("HOME")) {
            (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => self.base.join(file),
        }
    }
}

impl Secrets for FileSecrets {
    fn read(&self, _name: &str, source: &SecretSource) -> Result<String, String> {
        match source {
            SecretSource::File(file) => std::fs::read_to_string(self.path(file)).map_err(|e| e.to_string()),
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Ok(value),
                _ => Err("the variable is not set".to_owned()),
            },
        }
    }
}

/// `bts-infra fleet check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    inventory: InventoryArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `fleet check` found in a valid inventory.
#[derive(Serialize)]
struct CheckReport {
    inventory: String,
    hosts: usize,
    nodes: usize,
    gateways: usize,
    faucet: bool,
    warnings: Vec<Finding>,
}

impl Report for CheckReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for w in &self.warnings {
            writeln!(out, "{w}")?;
        }
        writeln!(
            out,
            "{}: valid: {} hosts, {} nodes, {} gateways{}; {} warning{}",
            self.inventory,
            self.hosts,
            self.nodes,
            self.gateways,
            if self.faucet { ", the faucet" } else { "" },
            self.warnings.len(),
            if self.warnings.len() == 1 { "" } else { "s" }
        )
    }
}

impl CheckArgs {
    fn run(self) -> anyhow::Result<()> {
        let (inv, warnings) = self.inventory.load()?;
        self.output.print(&CheckReport {
            inventory: self.inventory.inventory.display().to_string(),
            hosts: inv.hosts.len(),
            nodes: inv.nodes.len(),
            gateways: inv.gateways.len(),
            faucet: inv.faucet.is_some(),
            warnings,
        })
    }
}

/// `bts-infra fleet render`.
#[derive(Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    inventory: InventoryArgs,
    /// Where to write DIR/HOST/compose.yml and the service configs
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "kubernetes",
        conflicts_with = "kubernetes"
    )]
    out: Option<PathBuf>,
    /// Write Kubernetes manifests instead: a kustomize directory DIR/REGION per region (one cluster each)
    #[arg(long, value_name = "DIR")]
    kubernetes: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `fleet render` wrote.
#[derive(Serialize)]
struct RenderReport {
    out: String,
    hosts: Vec<RenderedHost>,
}

#[derive(Serialize)]
struct RenderedHost {
    host: String,
    files: Vec<String>,
    services: Vec<String>,
    secrets: Vec<String>,
}

impl Report for RenderReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for h in &self.hosts {
            writeln!(
                out,
                "{}/{}: {} (secrets copied by apply: {})",
                self.out,
                h.host,
                h.files.join(", "),
                if h.secrets.is_empty() {
                    "none".to_owned()
                } else {
                    h.secrets.join(", ")
                }
            )?;
        }
        Ok(())
    }
}

/// What `fleet render --kubernetes` wrote.
#[derive(Serialize)]
struct KubernetesReport {
    out: String,
    regions: Vec<RenderedRegion>,
}

#[derive(Serialize)]
struct RenderedRegion {
    region: String,
    files: Vec<String>,
}

impl Report for KubernetesReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for r in &self.regions {
            writeln!(out, "{}/{}: {}", self.out, r.region, r.files.join(", "))?;
        }
        writeln!(
            out,
            "create the secrets listed in each kustomization.yaml, then: kubectl apply -k {}/REGION",
            self.out
        )
    }
}

impl RenderArgs {
    fn run(self) -> anyhow::Result<()> {
        let (inv, warnings) = self.inventory.load()?;
        for w in &warnings {
            eprintln!("{w}");
        }
        let out = match (self.out, self.kubernetes) {
            (Some(out), _) => out,
            (None, Some(dir)) => return Self::kubernetes(&inv, &dir, &self.output),
            (None, None) => anyhow::bail!("give --out DIR (compose) or --kubernetes DIR"),
        };
        let mut hosts = Vec::new();
        for project in render(&inv) {
            let dir = out.join(&project.host);
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let mut files = vec!["compose.yml".to_owned()];
            write(&dir.join("compose.yml"), &project.compose)?;
            for (path, text) in &project.files {
                write(&dir.join(path), text)?;
                files.push(path.clone());
            }
            hosts.push(RenderedHost {
                host: project.host.clone(),
                files,
                services: project.services.iter().map(|s| s.name.clone()).collect(),
                secrets: project.secrets.iter().map(|s| s.name.clone()).collect(),
            });
        }
        self.output.print(&RenderReport {
            out: out.display().to_string(),
            hosts,
        })
    }

    fn kubernetes(inv: &Inventory, out: &Path, output: &OutputArgs) -> anyhow::Result<()> {
        let mut regions: Vec<RenderedRegion> = Vec::new();
        for (path, text) in render_kubernetes(inv) {
            let (region, file) = path.split_once('/').unwrap_or(("", &path));
            let dir = out.join(region);
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            write(&dir.join(file), &text)?;
            match regions.last_mut().filter(|r| r.region == region) {
                Some(r) => r.files.push(file.to_owned()),
                None => regions.push(RenderedRegion {
                    region: region.to_owned(),
                    files: vec![file.to_owned()],
                }),
            }
        }
        output.print(&KubernetesReport {
            out: out.display().to_string(),
            regions,
        })
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
