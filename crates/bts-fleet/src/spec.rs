//! Each node's launcher spec: the settings the operator wrote under `[node.spec]`, and the check
//! of the whole spec the fleet renders for it (the same `NodeSpec::build` the launcher runs at
//! start-up), so that `fleet check` refuses what the container would refuse.

use crate::inventory::build::Checker;
use crate::inventory::raw::RawNode;
use crate::inventory::{Inventory, Node, SecretSource};
use bts_node::spec::{Files, Mode, NodeSpec, RawSpec, Roles, Setting, SpecError, suggest};
use std::path::{Path, PathBuf};

/// Settings the fleet sets itself, with where they come from instead.
const FLEET_OWNED: [(Setting, &str); 7] = [
    (Setting::Network, "the node's network (network = ...)"),
    (Setting::DataDir, "the node image (a volume per node)"),
    (Setting::KeyFile, "the node's key secret (key = ...)"),
    (Setting::RpcEndpoint, "rpc-port, for API nodes"),
    (Setting::P2pEndpoint, "p2p-port, for seed nodes"),
    (Setting::PublicAddress, "the host's address and p2p-port"),
    (
        Setting::ExtraConfig,
        "nothing yet: the fleet copies no extra config file",
    ),
];

/// Reads a secret's value where the operator keeps it. The IO edge implements it; tests use a map.
pub trait Secrets {
    /// The value of secret `name`, kept at `source`; the error is a short reason.
    fn read(&self, name: &str, source: &SecretSource) -> Result<String, String>;
}

/// Where a node's key secret is mounted in its container.
pub fn secret_path(name: &str) -> PathBuf {
    PathBuf::from(format!("/run/secrets/{name}"))
}

/// The roles and the operator's settings of one `[[node]]` (its `spec` table), checked key by key.
pub(crate) fn node_settings(
    c: &mut Checker<'_>,
    n: &RawNode,
    name: &str,
    at: usize,
) -> Option<(Roles, Vec<(Setting, String)>)> {
    let mut settings = Vec::new();
    let mut ok = true;
    for (key, value) in &n.spec {
        let path = format!("node {name:?}.spec.{key}");
        let vat = Some(value.span().start);
        let Some(setting) = Setting::ALL.into_iter().find(|s| s.name() == key) else {
            let fix = match suggest(key, Setting::ALL.iter().map(|s| s.name())) {
                Some(near) => format!("did you mean {near}?"),
                None => "the keys are the launcher's settings (docs/node.md)".to_owned(),
            };
            c.error(vat, path, "is not a node setting", fix);
            ok = false;
            continue;
        };
        if let Some((_, from)) = FLEET_OWNED.iter().find(|(s, _)| *s == setting) {
            c.error(
                vat,
                path,
                "is set by the fleet",
                format!("remove it: it comes from {from}"),
            );
            ok = false;
            continue;
        }
        match text(value.get_ref()) {
            Some(text) => settings.push((setting, text)),
            None => {
                c.error(
                    vat,
                    path,
                    "is not a string, number, boolean or list of them",
                    "write it as in a spec file (docs/node.md)",
                );
                ok = false;
            }
        }
    }
    settings.sort();
    let Some((_, modes)) = settings.iter().find(|(s, _)| *s == Setting::Mode) else {
        c.error(
            Some(at),
            format!("node {name:?}.spec.mode"),
            "is missing",
            "say what the node is for: producer, seed, api (combinable), or full",
        );
        return None;
    };
    let modes: Result<Vec<Mode>, String> = modes
        .split([',', ' '])
        .filter(|m| !m.is_empty())
        .map(str::parse)
        .collect();
    let modes = match modes {
        Ok(modes) => modes,
        Err(e) => {
            let vat = n.spec.get("mode").map(|v| v.span().start);
            c.error(
                vat,
                format!("node {name:?}.spec.mode"),
                e,
                "write producer, seed, api or full, combined with commas",
            );
            return None;
        }
    };
    let full = modes.contains(&Mode::Full);
    let roles = Roles {
        producer: full || modes.contains(&Mode::Producer),
        seed: full || modes.contains(&Mode::Seed),
        api: modes.contains(&Mode::Api),
    };
    ok.then_some((roles, settings))
}

/// A spec value as the launcher's text form: lists comma-separated, a table as `K=V,...`.
fn text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items.iter().map(text).collect::<Option<Vec<_>>>().map(|v| v.join(",")),
        toml::Value::Table(t) => t
            .iter()
            .map(|(k, v)| text(v).map(|v| format!("{k}={v}")))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

/// Checks the spec the fleet renders for `node` (its container's `BTS_NODE_*` variables) the way
/// the launcher will, reading its key file from the operator's secret.
pub(crate) fn check_node(
    inv: &Inventory,
    node: &Node,
    env: &[(String, String)],
    secrets: &dyn Secrets,
) -> Result<NodeSpec, (String, String)> {
    let raw = RawSpec::from_env(env.iter().cloned()).map_err(|e| shown(&e))?;
    let files = SecretFiles { inv, node, secrets };
    NodeSpec::build(&raw, &files).map_err(|e| shown(&e))
}

/// A launcher error in the inventory's words: `spec.mode` where the launcher says `BTS_NODE_MODE`.
fn shown(e: &SpecError) -> (String, String) {
    let mut problem = e.problem.clone();
    let mut fix = e.fix.clone();
    for s in Setting::ALL {
        let inventory_name = format!("spec.{}", s.name());
        problem = problem.replace(&s.all_ways(), &inventory_name);
        fix = fix.replace(&s.all_ways(), &inventory_name);
        problem = problem.replace(&s.env_var(), &inventory_name);
        fix = fix.replace(&s.env_var(), &inventory_name);
    }
    (problem, fix)
}

/// The container's view of files: its key file is the operator's secret.
struct SecretFiles<'a> {
    inv: &'a Inventory,
    node: &'a Node,
    secrets: &'a dyn Secrets,
}

impl Files for SecretFiles<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        let name = self
            .node
            .key
            .as_deref()
            .filter(|k| secret_path(k) == path)
            .ok_or("No such file or directory")?;
        let source = self.inv.secrets.get(name).ok_or("No such secret")?;
        self.secrets.read(name, source).map_err(|reason| match source {
            SecretSource::File(file) => format!("secret {name:?} from {}: {reason}", file.display()),
            SecretSource::Env(var) => format!("secret {name:?} from ${var}: {reason}"),
        })
    }
}
