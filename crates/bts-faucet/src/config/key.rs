//! Loading the registrar's active key from an environment variable or a file, never from the
//! configuration text. Errors say where the key was looked for, never what it was.

use super::{ConfigError, invalid, raw::RawRegistrar};
use bts_protocol::PrivateKey;
use std::path::Path;

/// The environment variable holding the registrar's key (WIF) unless `registrar.key-env` names
/// another one.
pub const DEFAULT_KEY_ENV: &str = "BTS_FAUCET_REGISTRAR_WIF";

/// Reads the key from exactly one source.
pub(super) fn load(raw: &RawRegistrar, env: &impl Fn(&str) -> Option<String>) -> Result<PrivateKey, ConfigError> {
    let var = raw.key_env.as_deref().unwrap_or(DEFAULT_KEY_ENV);
    if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(
            "registrar.key-env",
            format!("{var:?} is not an environment variable name: use letters, digits and _"),
        ));
    }
    let from_env = env(var).filter(|v| !v.trim().is_empty());
    match (&raw.key_file, from_env) {
        (Some(path), Some(_)) => Err(invalid(
            "registrar.key-file",
            format!(
                "the key is given twice, in {} and in ${var}: keep exactly one",
                path.display()
            ),
        )),
        (Some(path), None) => from_file(path),
        (None, Some(wif)) => parse(&wif).map_err(|why| {
            invalid(
                "registrar.key-env",
                format!("${var} does not hold a private key: {why} (the value is not shown)"),
            )
        }),
        (None, None) => Err(invalid(
            "registrar.key-env",
            format!(
                "no registrar key: put the registrar's active private key (WIF) in ${var} or in a file \
                 named by registrar.key-file (readable only by the faucet's user), never in the configuration file"
            ),
        )),
    }
}

fn from_file(path: &Path) -> Result<PrivateKey, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid("registrar.key-file", format!("cannot read {}: {e}", path.display())))?;
    warn_if_readable_by_others(path);
    parse(&text).map_err(|why| {
        invalid(
            "registrar.key-file",
            format!(
                "{} does not hold a private key: {why} (its content is not shown)",
                path.display()
            ),
        )
    })
}

/// Parses a WIF; the error describes the problem without the input.
fn parse(text: &str) -> Result<PrivateKey, String> {
    let wif = text.trim();
    if wif.starts_with(|c: char| c.is_ascii_uppercase()) && bts_protocol::PublicKey::parse_any_prefix(wif).is_ok() {
        return Err("it is a public key; the private key (WIF, 51 characters starting with 5) is needed".to_owned());
    }
    // bts-protocol never echoes a WIF in its errors.
    PrivateKey::from_wif(wif).map_err(|e| e.to_string())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            target: "bts_faucet::config",
            file = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the registrar key file is readable by other users: chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
