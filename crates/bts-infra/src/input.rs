//! Reading operator input: stdin, files holding secrets, and private keys (WIF).
//!
//! Secrets may come from stdin or a file so that they need not appear in `ps`. Every error here
//! names where the input came from, never what it contained.

use crate::error::InputError;
use bts_protocol::{KeyError, PrivateKey, PublicKey};
use std::io::{self, IsTerminal, Read};
use std::path::Path;

/// What a private key looks like, for hints.
const WIF_SHAPE: &str = "a private key (WIF) is 51 base58 characters starting with 5";

/// Reads all of stdin as UTF-8. `what` names the expected content, for the prompt and errors.
pub(crate) fn read_stdin(what: &str) -> Result<String, InputError> {
    let mut stdin = io::stdin().lock();
    if stdin.is_terminal() {
        // Waiting silently on a terminal looks like a hang.
        eprintln!("reading {what} from stdin (end with Ctrl-D)");
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| InputError::new(format!("cannot read {what} from stdin: {e}")))?;
    Ok(text)
}

/// Reads a file that holds a secret. `flag` is the option that named it, e.g. `--wif-file`.
pub(crate) fn read_secret_file(path: &Path, flag: &str) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|e| {
        InputError::new(format!("cannot read {flag} {}: {e}", path.display()))
            .hint(format!("{flag} must name a readable UTF-8 text file"))
    })
}

/// Parses a private key in WIF, ignoring surrounding whitespace. `source` says where the key came
/// from (e.g. `--wif #2`); the key itself never appears in the error.
pub(crate) fn parse_wif(text: &str, source: &str) -> Result<PrivateKey, InputError> {
    let wif = text.trim();
    if wif.is_empty() {
        return Err(InputError::new(format!("{source}: the private key (WIF) is empty")).hint(WIF_SHAPE));
    }
    PrivateKey::from_wif(wif).map_err(|e| {
        let error = InputError::new(format!("{source}: {}", describe(&e)));
        if PublicKey::parse_any_prefix(wif).is_ok() {
            error.hint(format!(
                "this is a public key, but a private key is needed: {WIF_SHAPE}"
            ))
        } else {
            error.hint(format!("check the key (it is not shown here): {WIF_SHAPE}"))
        }
    })
}

/// Describes why a WIF was rejected without quoting it. The protocol crate redacts WIFs in its
/// own messages too, but these are written here so the CLI does not depend on that.
fn describe(e: &KeyError) -> String {
    match e {
        KeyError::Base58 { .. } => {
            "the private key (WIF) is not valid base58 (it may not contain 0, O, I or l)".to_owned()
        }
        KeyError::Length { len, expected, .. } => {
            format!("the private key (WIF) decodes to {len} bytes, expected {expected}")
        }
        KeyError::Checksum { .. } => "the private key (WIF) has a wrong checksum (mistyped or truncated?)".to_owned(),
        KeyError::WifVersion(_) | KeyError::SecretOutOfRange => e.to_string(),
        _ => "the private key (WIF) is not valid".to_owned(),
    }
}
