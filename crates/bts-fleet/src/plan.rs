//! What `fleet apply` would change on a host and why: the rendered project against what the
//! host's Docker engine reports (`docker inspect` of the project's containers) and the hashes of
//! the files in its project directory. Pure: the caller fetches both.

use crate::render::{HASH_LABEL, HostProject, KIND_LABEL};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The compose label naming a container's service.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// The compose label naming a container's project.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

/// A container of the project as the host reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// The container's id.
    pub id: String,
    /// Its compose service.
    pub service: String,
    /// The image it was created from.
    pub image: String,
    /// The fleet's definition hash it carries, if any.
    pub hash: Option<String>,
    /// The fleet kind it carries, if any.
    pub kind: Option<String>,
    /// `running`, `exited`, `restarting`, ...
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or `None` without a health check.
    pub health: Option<String>,
}

/// One change, with the reason shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Change {
    /// Write a file of the project directory.
    WriteFile {
        /// Relative to the project directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// Create a service's container.
    Create {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Replace a service's container.
    Recreate {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Start a stopped container.
    Start {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Have a running service read its configuration again (a gateway's networks and backends):
    /// no restart, no connection lost.
    Reload {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Remove a container the inventory no longer has.
    Remove {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
}

impl Change {
    /// The service it touches, if any.
    pub fn service(&self) -> Option<&str> {
        match self {
            Change::WriteFile { .. } => None,
            Change::Create { service, .. }
            | Change::Recreate { service, .. }
            | Change::Start { service, .. }
            | Change::Reload { service, .. }
            | Change::Remove { service, .. } => Some(service),
        }
    }
}

/// The files of a project directory: `compose.yml` and the service configs. Secrets are compared
/// by the caller (their hashes are not shown).
pub fn project_files(project: &HostProject) -> Vec<(String, String)> {
    let mut files = vec![("compose.yml".to_owned(), project.compose.clone())];
    files.extend(project.files.iter().cloned());
    files
}

/// sha256 of `text`, hex.
pub fn file_hash(text: &[u8]) -> String {
    hex::encode(Sha256::digest(text))
}

/// What must change on the host: files whose hash differs (`remote_files`: path → sha256 of what
/// is there; `secrets`: name → sha256 of the value here), then per service a create, recreate,
/// start or remove with its reason.
pub fn plan(
    project: &HostProject,
    observed: &[Observed],
    remote_files: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut changed_secrets = Vec::new();
    for secret in &project.secrets {
        let path = format!("secrets/{}", secret.name);
        let reason = match (remote_files.get(&path), secrets.get(&secret.name)) {
            (None, _) => "not on the host",
            (Some(there), Some(here)) if there != here => "differs from this machine's",
            _ => continue,
        };
        changed_secrets.push(secret.name.clone());
        changes.push(Change::WriteFile {
            path,
            reason: reason.to_owned(),
        });
    }
    for (path, text) in project_files(project) {
        let reason = match remote_files.get(&path) {
            None => "not on the host",
            Some(hash) if *hash != file_hash(text.as_bytes()) => "differs from the inventory",
            Some(_) => continue,
        };
        changes.push(Change::WriteFile {
            path,
            reason: reason.to_owned(),
        });
    }
    for service in &project.services {
        let name = service.name.clone();
        let Some(seen) = observed.iter().find(|o| o.service == service.name) else {
            changes.push(Change::Create {
                service: name,
                reason: "no container on the host".to_owned(),
            });
            continue;
        };
        if seen.image != service.image {
            let reason = format!("image {} -> {}", seen.image, service.image);
            changes.push(Change::Recreate { service: name, reason });
        } else if seen.hash.as_deref() != Some(service.hash.as_str()) {
            let reason = match &seen.hash {
                Some(_) => "its definition changed (environment, ports, volumes or a config file)",
                None => "the container was not made by the fleet",
            };
            changes.push(Change::Recreate {
                service: name,
                reason: reason.to_owned(),
            });
        } else if let Some(secret) = service.secrets.iter().find(|s| changed_secrets.contains(s)) {
            let reason = format!("its secret {secret} changed");
            changes.push(Change::Recreate { service: name, reason });
        } else if seen.state != "running" {
            let reason = format!("it is {} on the host (drift)", seen.state);
            changes.push(Change::Start { service: name, reason });
        }
    }
    // A running service whose only change is its reloadable file reads it again in place.
    for service in &project.services {
        let Some(file) = &service.reload_file else { continue };
        let written = changes
            .iter()
            .any(|c| matches!(c, Change::WriteFile { path, .. } if path == file));
        let touched = changes.iter().any(|c| c.service() == Some(service.name.as_str()));
        let running = observed
            .iter()
            .any(|o| o.service == service.name && o.state == "running");
        if written && !touched && running {
            changes.push(Change::Reload {
                service: service.name.clone(),
                reason: format!("{file} changed (networks, backends or health checks): read again in place"),
            });
        }
    }
    for seen in observed {
        if !project.services.iter().any(|s| s.name == seen.service) {
            changes.push(Change::Remove {
                service: seen.service.clone(),
                reason: "not in the inventory".to_owned(),
            });
        }
    }
    changes
}

/// The project's containers out of `docker inspect` JSON (an array of containers).
pub fn parse_inspect(json: &str, project: &str) -> Result<Vec<Observed>, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Container {
        id: String,
        config: Config,
        state: State,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Config {
        image: String,
        #[serde(default)]
        labels: Option<BTreeMap<String, String>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct State {
        status: String,
        health: Option<Health>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Health {
        status: String,
    }
    let containers: Vec<Container> = if json.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(json).map_err(|e| format!("docker inspect answered something else: {e}"))?
    };
    let mut out: Vec<Observed> = containers
        .into_iter()
        .filter_map(|c| {
            let labels = c.config.labels.unwrap_or_default();
            if labels.get(PROJECT_LABEL).map(String::as_str) != Some(project) {
                return None;
            }
            Some(Observed {
                id: c.id,
                service: labels.get(SERVICE_LABEL)?.clone(),
                image: c.config.image,
                hash: labels.get(HASH_LABEL).cloned(),
                kind: labels.get(KIND_LABEL).cloned(),
                state: c.state.status,
                health: c.state.health.map(|h| h.status),
            })
        })
        .collect();
    out.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(out)
}
