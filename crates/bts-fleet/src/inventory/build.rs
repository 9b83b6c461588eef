//! From [`RawInventory`] to [`Inventory`]: the entry point, the [`Checker`] that collects findings
//! (all of them, not the first: one `fleet check` shows everything to fix), the secrets, and the
//! helpers every part uses. Places are built in `places.rs`, workloads in `workloads.rs`, checks
//! across the whole inventory in `crate::rules`.

use super::places::{hosts, networks, regions};
use super::raw::{RawInventory, Text};
use super::workloads::{faucet, gateways, nodes, prometheus};
use super::{Inventory, SecretSource};
use crate::finding::{Finding, Severity, Source};
use crate::spec::Secrets;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Collects findings while the inventory is built.
pub(crate) struct Checker<'a> {
    pub(crate) source: Source<'a>,
    pub(crate) findings: Vec<Finding>,
}

impl Checker<'_> {
    /// An error at `at` (a byte offset) about `key`.
    pub(crate) fn error(
        &mut self,
        at: Option<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let f = self.source.finding(Severity::Error, at, key, problem, fix);
        self.findings.push(f);
    }

    /// A warning at `at` about `key`.
    pub(crate) fn warn(
        &mut self,
        at: Option<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let f = self.source.finding(Severity::Warning, at, key, problem, fix);
        self.findings.push(f);
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

pub(super) fn build(file: &Path, text: &str, secrets: &dyn Secrets) -> Result<(Inventory, Vec<Finding>), Vec<Finding>> {
    let mut c = Checker {
        source: Source::new(file, text),
        findings: Vec::new(),
    };
    let raw: RawInventory = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let message = e.message().trim();
            let (key, fix) = match message.strip_prefix("unknown field `") {
                Some(rest) => {
                    let key = rest.split('`').next().unwrap_or_default().to_owned();
                    let expected: Vec<&str> = rest
                        .split("expected one of ")
                        .nth(1)
                        .unwrap_or_default()
                        .split(", ")
                        .map(|k| k.trim_matches('`'))
                        .collect();
                    let fix = match bts_node::spec::suggest(&key, expected.iter().copied()) {
                        Some(near) => format!("did you mean {near}? (docs/fleet.md lists every key)"),
                        None => "remove it (docs/fleet.md lists every key)".to_owned(),
                    };
                    (key, fix)
                }
                None => (
                    "toml".to_owned(),
                    "fix the value on that line (docs/fleet.md lists every key)".to_owned(),
                ),
            };
            c.error(
                e.span().map(|s| s.start),
                key,
                message.split(", expected one of").next().unwrap_or(message).to_owned(),
                fix,
            );
            return Err(c.findings);
        }
    };
    let inventory = inventory(&mut c, raw, file, secrets);
    if c.has_errors() {
        Err(c.findings)
    } else {
        Ok((inventory, c.findings))
    }
}

fn inventory(c: &mut Checker<'_>, raw: RawInventory, file: &Path, secrets_reader: &dyn Secrets) -> Inventory {
    let secrets = secrets(c, &raw);
    let project = match &raw.project {
        Some(p) => label(c, p, "project").unwrap_or_default(),
        None => "bts".to_owned(),
    };
    let services_image = match &raw.services_image {
        Some(image) => image_ref(c, image, "services-image"),
        None => {
            c.error(None, "services-image", "is missing", "name the image of the gateway and the faucet, e.g. services-image = \"ghcr.io/bts-infra/bts-infra-services:0.1.0\"");
            String::new()
        }
    };
    let regions = regions(c, &raw);
    let region_names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    let hosts = hosts(c, &raw.hosts, &region_names);
    let networks = networks(c, &raw.networks);
    let mut inv = Inventory {
        file: file.to_path_buf(),
        project,
        services_image,
        geo_database: raw.geo_database.as_ref().map(|g| PathBuf::from(g.get_ref())),
        regions,
        hosts,
        networks,
        nodes: Vec::new(),
        gateways: Vec::new(),
        faucet: None,
        prometheus: None,
        secrets,
    };
    inv.nodes = nodes(c, &raw.nodes, &inv);
    inv.gateways = gateways(c, &raw.gateways, &inv);
    inv.faucet = raw.faucet.as_ref().and_then(|f| faucet(c, f, &inv));
    inv.prometheus = raw.prometheus.as_ref().and_then(|p| prometheus(c, p, &inv));
    crate::rules::check(c, &raw, &inv, secrets_reader);
    inv
}

fn secrets(c: &mut Checker<'_>, raw: &RawInventory) -> BTreeMap<String, SecretSource> {
    let mut out = BTreeMap::new();
    for (name, secret) in &raw.secrets {
        let key = format!("secret.{name}");
        let at = Some(secret.span().start);
        // It names a file on the hosts and a compose (or Kubernetes) secret.
        if !usable_name(name) {
            c.error(
                at,
                key,
                format!("{name:?} is not a usable secret name"),
                "use 2 to 40 lowercase letters, digits and dashes, starting with a letter (it names a file on the hosts)",
            );
            continue;
        }
        let source = match (&secret.get_ref().file, &secret.get_ref().env) {
            (Some(file), None) => SecretSource::File(PathBuf::from(file.get_ref())),
            (None, Some(var)) => SecretSource::Env(var.get_ref().clone()),
            _ => {
                c.error(
                    at,
                    key,
                    "needs exactly one of file or env",
                    "write file = \"PATH on this machine\" or env = \"VARIABLE\"",
                );
                continue;
            }
        };
        out.insert(name.clone(), source);
    }
    out
}
/// A name that becomes part of container, volume and DNS names: lowercase letters, digits and
/// dashes, starting with a letter, at most 40 characters.
pub(super) fn label(c: &mut Checker<'_>, t: &Text, key: &str) -> Option<String> {
    let s = t.get_ref();
    if usable_name(s) {
        Some(s.clone())
    } else {
        c.error(Some(t.span().start), key, format!("{s:?} is not a usable name"), "use 2 to 40 lowercase letters, digits and dashes, starting with a letter (it names containers and volumes)");
        None
    }
}

/// 2 to 40 lowercase letters, digits and dashes, starting with a letter, not ending in a dash.
fn usable_name(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.starts_with(|ch: char| ch.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.ends_with('-')
}

/// Whether `t` names one of `known` (an error otherwise).
pub(super) fn exists(c: &mut Checker<'_>, t: &Text, key: &str, what: &str, known: &[&str]) -> bool {
    if known.contains(&t.get_ref().as_str()) {
        return true;
    }
    let listed = if known.is_empty() {
        format!("no {what} is defined")
    } else {
        format!("the {what}s are {}", known.join(", "))
    };
    let near = bts_node::spec::suggest(t.get_ref(), known.iter().copied())
        .map_or(String::new(), |n| format!("did you mean {n:?}? "));
    c.error(
        Some(t.span().start),
        key,
        format!("no {what} {:?}", t.get_ref()),
        format!("{near}{listed}"),
    );
    false
}

pub(super) fn secret_exists(c: &mut Checker<'_>, t: &Text, key: &str, inv: &Inventory) {
    if !inv.secrets.contains_key(t.get_ref()) {
        let name = t.get_ref();
        c.error(
            Some(t.span().start),
            key,
            format!("no secret {name:?}"),
            format!("define it: [secret.{name}] file = \"PATH on this machine\" (or env = \"VARIABLE\")"),
        );
    }
}

/// An image reference pinned to a tag or digest: a fleet must not drift with `latest`.
pub(super) fn image_ref(c: &mut Checker<'_>, t: &Text, key: &str) -> String {
    let s = t.get_ref().trim();
    let last = s.rsplit('/').next().unwrap_or_default();
    let tag = last
        .split_once('@')
        .map(|(_, d)| d)
        .or_else(|| last.split_once(':').map(|(_, t)| t));
    match tag {
        _ if s.is_empty() || s.contains(char::is_whitespace) => c.error(
            Some(t.span().start),
            key,
            format!("{s:?} is not an image reference"),
            "write REPOSITORY:TAG",
        ),
        None | Some("latest") => c.error(
            Some(t.span().start),
            key,
            format!("{s:?} is not pinned to a version"),
            "add the tag to run (REPOSITORY:TAG, or @sha256:DIGEST): apply and plan compare it",
        ),
        Some(_) => {}
    }
    s.to_owned()
}
