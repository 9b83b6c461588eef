//! Certificates from files: loaded at start (a bad file stops the start, with the file named),
//! then checked every reload interval; a changed pair is loaded and served to new connections.
//! A pair that fails to load after a change (certbot mid-write, a key that does not match yet)
//! is reported and the previous certificate stays in service until the files are right.

use crate::pem::{self, Loaded};
use crate::settings::FileCert;
use crate::store::CertStore;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tracing::{info, warn};

/// Why a certificate file pair could not be served.
#[derive(Debug, thiserror::Error)]
#[error("{cert} / {key}: {reason}")]
pub struct FileError {
    /// The certificate file.
    pub cert: String,
    /// The key file.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// The name a file certificate has on the status page.
pub fn status_name(file: &FileCert) -> String {
    file.cert.display().to_string()
}

/// What identifies one version of the files: modification times and sizes.
type Stamp = Option<(SystemTime, u64, SystemTime, u64)>;

fn stamp(file: &FileCert) -> Stamp {
    let meta = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    let (c, k) = (meta(&file.cert)?, meta(&file.key)?);
    Some((c.0, c.1, k.0, k.1))
}

/// Reads and parses one pair.
pub fn load(file: &FileCert) -> Result<Loaded, FileError> {
    let err = |reason: String| FileError {
        cert: file.cert.display().to_string(),
        key: file.key.display().to_string(),
        reason,
    };
    let chain = std::fs::read(&file.cert).map_err(|e| err(format!("cannot read the certificate: {e}")))?;
    let key = std::fs::read(&file.key).map_err(|e| err(format!("cannot read the key: {e}")))?;
    pem::load(&chain, &key).map_err(|e| err(e.to_string()))
}

/// Loads every pair into the store now; the first failure is returned.
pub fn load_all(files: &[FileCert], store: &CertStore) -> Result<(), FileError> {
    for file in files {
        let name = status_name(file);
        store.register(&name, "file", Vec::new());
        let loaded = load(file)?;
        store.install(&name, &loaded, SystemTime::now());
    }
    Ok(())
}

/// Watches the pairs until the task is aborted.
pub async fn watch(files: Vec<FileCert>, store: Arc<CertStore>, every: Duration) {
    let mut seen: Vec<Stamp> = files.iter().map(stamp).collect();
    // The version that last failed to load, so a failure is reported once, not every tick.
    let mut failed: Vec<Stamp> = vec![None; files.len()];
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        for ((file, last), last_failed) in files.iter().zip(seen.iter_mut()).zip(failed.iter_mut()) {
            let now = stamp(file);
            if now == *last || (now.is_some() && now == *last_failed) {
                continue;
            }
            let name = status_name(file);
            match load(file) {
                Ok(loaded) => {
                    store.install(&name, &loaded, SystemTime::now());
                    info!(target: "bts_tls::files", certificate = %name, serial = %loaded.info.serial, "certificate files changed; serving the new certificate");
                    *last = now;
                }
                Err(e) => {
                    // Not remembered as seen: once either file changes again it is tried again,
                    // so a pair written in two steps is picked up when both halves are there.
                    *last_failed = now;
                    warn!(target: "bts_tls::files", certificate = %name, error = %e, "changed certificate files do not load; still serving the previous certificate");
                    store.failed(&name, &e.to_string(), SystemTime::now());
                }
            }
        }
    }
}
