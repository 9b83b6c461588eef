//! `fleet plan` and `fleet apply`: every host is looked at in parallel; plan prints what would
//! change and why, apply makes it so: files and secrets first, then the nodes on every host
//! (waiting until they are healthy), then the gateways and the faucet. A host that cannot be
//! reached or fails does not stop the others; the summary names it and the exit code is 1.

use super::cordon::uncordon_all;
use super::hosts::{HostState, compose_up, exec_in, observe, wait_ready, write_file, write_secret};
use super::ssh::Remote;
use super::{FileSecrets, InventoryArgs};
use crate::output::{OutputArgs, Report};
use bts_fleet::plan::{Change, file_hash, plan, project_files};
use bts_fleet::render::{HostProject, SERVICE_PORT, render};
use bts_fleet::{Inventory, Secrets};
use clap::Args;
use futures_util::future::join_all;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

/// `bts-infra fleet plan`.
#[derive(Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    inventory: InventoryArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `bts-infra fleet apply`.
#[derive(Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    inventory: InventoryArgs,
    /// How long each host's services may take to become healthy
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    output: OutputArgs,
}

/// The result per host.
#[derive(Serialize)]
struct FleetReport {
    hosts: Vec<HostReport>,
}

#[derive(Serialize)]
struct HostReport {
    host: String,
    changes: Vec<Change>,
    /// `unchanged`, `planned`, `applied` or `failed`.
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Report for FleetReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for h in &self.hosts {
            match (&h.error, h.changes.len()) {
                (Some(e), _) => writeln!(out, "{}: FAILED: {e}", h.host)?,
                (None, 0) => writeln!(out, "{}: no changes", h.host)?,
                (None, n) => writeln!(
                    out,
                    "{}: {n} change{} {}",
                    h.host,
                    if n == 1 { "" } else { "s" },
                    h.result
                )?,
            }
            for c in &h.changes {
                let (action, what, reason) = describe(c);
                writeln!(out, "  {action} {what}: {reason}")?;
            }
        }
        Ok(())
    }
}

fn describe(c: &Change) -> (&'static str, &str, &str) {
    match c {
        Change::WriteFile { path, reason } => ("write", path, reason),
        Change::Create { service, reason } => ("create", service, reason),
        Change::Recreate { service, reason } => ("recreate", service, reason),
        Change::Start { service, reason } => ("start", service, reason),
        Change::Reload { service, reason } => ("reload", service, reason),
        Change::Remove { service, reason } => ("remove", service, reason),
    }
}

/// A private directory for the SSH known_hosts files and control sockets, removed at the end.
struct StateDir(PathBuf);

impl StateDir {
    fn new() -> anyhow::Result<StateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let path = std::env::temp_dir().join(format!("bts-fleet-{}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).recursive(true).create(&path)?;
        Ok(StateDir(path))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One host: its rendered project, its connection, and what it has.
pub(super) struct Target {
    pub(super) project: HostProject,
    pub(super) remote: Remote,
}

/// The loaded inventory with a connection per host.
pub(super) struct Fleet {
    pub(super) inv: Inventory,
    secrets: FileSecrets,
    pub(super) targets: Vec<Target>,
    _state: StateDir,
}

impl Fleet {
    fn open(args: &InventoryArgs) -> anyhow::Result<Fleet> {
        let (inv, warnings) = args.load()?;
        for w in &warnings {
            eprintln!("{w}");
        }
        let secrets = args.secrets();
        let state = StateDir::new()?;
        let mut targets = Vec::new();
        for project in render(&inv) {
            let Some(host) = inv.host(&project.host) else { continue };
            let remote = Remote::new(host, secrets.path(&host.ssh_key), &state.0)?;
            targets.push(Target { project, remote });
        }
        Ok(Fleet {
            inv,
            secrets,
            targets,
            _state: state,
        })
    }

    /// sha256 of each secret's value here, by name.
    fn secret_hashes(&self) -> BTreeMap<String, String> {
        self.inv
            .secrets
            .iter()
            .filter_map(|(name, source)| {
                self.secrets
                    .read(name, source)
                    .ok()
                    .map(|v| (name.clone(), file_hash(v.as_bytes())))
            })
            .collect()
    }

    async fn plans(&self) -> Vec<Result<(Vec<Change>, HostState), String>> {
        self.plans_with(&self.secret_hashes()).await
    }

    /// Every host looked at and planned, in parallel; `secrets` are the hashes of the values here
    /// (empty: secrets are not compared).
    pub(super) async fn plans_with(
        &self,
        secrets: &BTreeMap<String, String>,
    ) -> Vec<Result<(Vec<Change>, HostState), String>> {
        join_all(self.targets.iter().map(|t| async {
            let state = observe(&t.remote, &self.inv.project).await?;
            Ok((plan(&t.project, &state.containers, &state.files, secrets), state))
        }))
        .await
    }

    /// One report per host from its plan: `unchanged`, `done` when it has changes, or `failed`.
    fn reports(&self, plans: Vec<Result<(Vec<Change>, HostState), String>>, done: &'static str) -> Vec<HostReport> {
        self.targets
            .iter()
            .zip(plans)
            .map(|(t, p)| {
                let host = t.project.host.clone();
                match p {
                    Ok((changes, _)) => HostReport {
                        host,
                        result: if changes.is_empty() { "unchanged" } else { done },
                        changes,
                        error: None,
                    },
                    Err(e) => HostReport {
                        host,
                        changes: Vec::new(),
                        result: "failed",
                        error: Some(e),
                    },
                }
            })
            .collect()
    }

    pub(super) async fn close(&self) {
        join_all(self.targets.iter().map(|t| t.remote.close())).await;
    }
}

/// Loads the inventory and prepares a connection per host.
pub(super) fn open_fleet(args: &InventoryArgs) -> anyhow::Result<Fleet> {
    Fleet::open(args)
}

impl PlanArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let fleet = Fleet::open(&self.inventory)?;
        let report = crate::serve::block_on(async {
            let plans = fleet.plans().await;
            fleet.close().await;
            Ok(FleetReport {
                hosts: fleet.reports(plans, "planned"),
            })
        })?;
        finish(&self.output, &report)
    }
}

impl ApplyArgs {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let fleet = Fleet::open(&self.inventory)?;
        let timeout = self.timeout;
        let report = crate::serve::block_on(async {
            let plans = fleet.plans().await;
            let mut hosts = fleet.reports(plans, "applied");
            // Files and secrets, then the nodes everywhere, then everything else.
            let phases: [(&str, StepFn); 2] = [("nodes", node_step), ("services", service_step)];
            for (phase, step) in phases {
                let results = join_all(fleet.targets.iter().zip(&hosts).map(|(t, h)| {
                    let step = (h.error.is_none() && !h.changes.is_empty()).then(|| step(t, &h.changes));
                    run_step(&fleet, t, step, phase, timeout)
                }))
                .await;
                for (h, r) in hosts.iter_mut().zip(results) {
                    if let Err(e) = r {
                        h.result = "failed";
                        h.error = Some(e);
                    }
                }
            }
            // The inventory has no cordons: every node goes back into the pools.
            let healthy: Vec<&str> = hosts
                .iter()
                .filter(|h| h.error.is_none())
                .map(|h| h.host.as_str())
                .collect();
            for what in uncordon_all(&fleet, &healthy).await {
                eprintln!("{what}: uncordoned");
            }
            fleet.close().await;
            Ok(FleetReport { hosts })
        })?;
        finish(&self.output, &report)
    }
}

/// Decides what a phase does on a host from its changes.
type StepFn = fn(&Target, &[Change]) -> Step;

/// What one phase does on one host.
struct Step {
    write: bool,
    services: Vec<String>,
    force: Vec<String>,
    remove_orphans: bool,
    /// Running services to have read their configuration again.
    reload: Vec<String>,
    /// Files not to write with the others: the configuration of a service to reload, written
    /// just before its reload, so that a run stopped in between leaves the old file (and the
    /// next plan sees the reload still to do).
    deferred: Vec<String>,
}

/// The services to reload among `changes`, with the file each reads again.
fn reloads<'a>(t: &'a Target, changes: &'a [Change]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    changes.iter().filter_map(|c| match c {
        Change::Reload { service, .. } => {
            let s = t.project.services.iter().find(|s| &s.name == service)?;
            Some((service.as_str(), s.reload_file.as_deref()?))
        }
        _ => None,
    })
}

/// Phase one: write the files and secrets, start or recreate the host's changed nodes.
fn node_step(t: &Target, changes: &[Change]) -> Step {
    let nodes: Vec<String> = t
        .project
        .services
        .iter()
        .filter(|s| s.kind == "node")
        .map(|s| s.name.clone())
        .collect();
    let touched =
        |c: &Change| c.service().is_some_and(|s| nodes.iter().any(|n| n == s)) && !matches!(c, Change::Remove { .. });
    Step {
        write: true,
        services: changes
            .iter()
            .filter(|c| touched(c))
            .filter_map(|c| c.service().map(str::to_owned))
            .collect(),
        force: forced(changes, &nodes),
        remove_orphans: false,
        reload: Vec::new(),
        deferred: reloads(t, changes).map(|(_, file)| file.to_owned()).collect(),
    }
}

/// Phase two: the whole project (gateways, faucet), removing what the inventory no longer has.
fn service_step(t: &Target, changes: &[Change]) -> Step {
    let all: Vec<String> = t.project.services.iter().map(|s| s.name.clone()).collect();
    let others: Vec<String> = t
        .project
        .services
        .iter()
        .filter(|s| s.kind != "node")
        .map(|s| s.name.clone())
        .collect();
    Step {
        write: false,
        services: all,
        force: forced(changes, &others),
        remove_orphans: true,
        reload: reloads(t, changes).map(|(service, _)| service.to_owned()).collect(),
        deferred: Vec::new(),
    }
}

/// Services among `among` to recreate although compose sees no change (a secret changed).
fn forced(changes: &[Change], among: &[String]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Recreate { service, reason } if reason.starts_with("its secret") && among.contains(service) => {
                Some(service.clone())
            }
            _ => None,
        })
        .collect()
}

async fn run_step(fleet: &Fleet, t: &Target, step: Option<Step>, phase: &str, timeout: Duration) -> Result<(), String> {
    let Some(step) = step else { return Ok(()) };
    let host = &t.project.host;
    if step.write {
        eprintln!("{host}: writing the project files and secrets");
        for (path, text) in project_files(&t.project) {
            if step.deferred.contains(&path) {
                continue;
            }
            write_file(&t.remote, &path, text.as_bytes())
                .await
                .map_err(|e| format!("writing {path}: {e}"))?;
        }
        if let Some(geo) = fleet
            .inv
            .geo_database
            .as_ref()
            .filter(|_| t.project.services.iter().any(|s| s.kind == "gateway"))
        {
            let bytes = std::fs::read(fleet.secrets.path(geo))
                .map_err(|e| format!("reading the geo database {}: {e}", geo.display()))?;
            write_file(&t.remote, "geo.mmdb", &bytes)
                .await
                .map_err(|e| format!("writing geo.mmdb: {e}"))?;
        }
        for secret in &t.project.secrets {
            let source = fleet
                .inv
                .secrets
                .get(&secret.name)
                .ok_or_else(|| format!("secret {} is not defined", secret.name))?;
            let value = fleet
                .secrets
                .read(&secret.name, source)
                .map_err(|e| format!("secret {}: {e}", secret.name))?;
            let image = t
                .project
                .services
                .iter()
                .find(|s| s.secrets.contains(&secret.name))
                .map_or(fleet.inv.services_image.as_str(), |s| s.image.as_str());
            write_secret(&t.remote, secret, value.as_bytes(), image)
                .await
                .map_err(|e| format!("writing secret {}: {e}", secret.name))?;
        }
    }
    if step.services.is_empty() && !step.remove_orphans {
        return Ok(());
    }
    eprintln!(
        "{host}: starting the {phase}{}",
        if step.services.is_empty() {
            String::new()
        } else {
            format!(" ({})", step.services.join(", "))
        }
    );
    compose_up(
        &t.remote,
        &fleet.inv.project,
        if step.remove_orphans { &[] } else { &step.services },
        &step.force,
        step.remove_orphans,
    )
    .await
    .map_err(|e| format!("compose up: {e}"))?;
    wait_ready(&t.remote, &fleet.inv.project, &step.services, timeout).await?;
    eprintln!("{host}: {phase} ready");
    for service in &step.reload {
        reload(fleet, t, service, timeout).await?;
    }
    Ok(())
}

/// Has `service` (a gateway) read its configuration file again: its connections stay open. If
/// it refuses, it is recreated instead, which the operator is told.
async fn reload(fleet: &Fleet, t: &Target, service: &str, timeout: Duration) -> Result<(), String> {
    let host = &t.project.host;
    let file = t
        .project
        .services
        .iter()
        .find(|s| s.name == service)
        .and_then(|s| s.reload_file.clone())
        .ok_or_else(|| format!("{service} has no configuration to reload"))?;
    let text = project_files(&t.project)
        .into_iter()
        .find_map(|(path, text)| (path == file).then_some(text))
        .unwrap_or_default();
    write_file(&t.remote, &file, text.as_bytes())
        .await
        .map_err(|e| format!("writing {file}: {e}"))?;
    let url = format!("http://127.0.0.1:{SERVICE_PORT}/admin/reload");
    let args = ["healthcheck", "--method", "POST", "--print-body", url.as_str()];
    match exec_in(&t.remote, &fleet.inv.project, service, &args).await {
        Ok(_) => {
            eprintln!("{host}: {service} reloaded its configuration (connections kept)");
            Ok(())
        }
        Err(e) => {
            eprintln!("{host}: {service} did not reload ({e}); recreating it");
            let names = [service.to_owned()];
            compose_up(&t.remote, &fleet.inv.project, &names, &names, false)
                .await
                .map_err(|e| format!("compose up: {e}"))?;
            wait_ready(&t.remote, &fleet.inv.project, &names, timeout).await
        }
    }
}

fn finish(output: &OutputArgs, report: &FleetReport) -> anyhow::Result<()> {
    output.print(report)?;
    let failed: Vec<&str> = report
        .hosts
        .iter()
        .filter(|h| h.error.is_some())
        .map(|h| h.host.as_str())
        .collect();
    super::hosts_failed(&failed, report.hosts.len(), "failed")
}
