//! The producer's key file, as witness_node's `private-key-file` reads it: one
//! `["PUBLIC_KEY","WIF"]` pair per line, every line parsed (an empty one makes the node exit).
//!
//! The launcher checks the file before the node starts and returns only the public keys; no
//! message here ever contains a private key or the text of a line.

use crate::spec::SpecError;
use bts_protocol::{Prefix, PrivateKey, PublicKey};

/// Checks a key file's text for a node whose keys have `prefix`; returns its public keys.
/// `path` is only for messages.
pub fn check(text: &str, prefix: Prefix, path: &str) -> Result<Vec<PublicKey>, SpecError> {
    let refuse = |line: usize, problem: String, fix: &str| {
        SpecError::new(format!("key file {path} line {line}: {problem}"), fix.to_owned())
    };
    // `lines` would hide a final empty line; witness_node reads with getline, where a trailing
    // newline ends the last line and does not start another.
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.trim().is_empty() {
        return Err(SpecError::new(format!("key file {path} is empty"), PAIR_FIX));
    }
    let mut keys = Vec::new();
    for (index, line) in body.split('\n').enumerate() {
        let n = index + 1;
        if line.contains('\r') {
            return Err(refuse(
                n,
                "has a carriage return (Windows line ending)".to_owned(),
                "save the file with \\n line endings",
            ));
        }
        if line.trim().is_empty() {
            return Err(refuse(
                n,
                "is empty: witness_node parses every line as a key pair and exits".to_owned(),
                "remove the empty line",
            ));
        }
        keys.push(check_line(line, prefix).map_err(|problem| refuse(n, problem, PAIR_FIX))?);
    }
    Ok(keys)
}

const PAIR_FIX: &str = "write one [\"PUBLIC_KEY\",\"WIF\"] pair per line, e.g. \
    printf '[\"%s\",\"%s\"]\\n' \"$PUBLIC\" \"$WIF\" > witness.keys (bts-infra key public prints the public key of a WIF)";

fn check_line(line: &str, prefix: Prefix) -> Result<PublicKey, String> {
    let Ok((public, wif)) = serde_json::from_str::<(String, String)>(line) else {
        if let Ok(key) = PrivateKey::from_wif(line.trim()) {
            return Err(format!(
                "is a bare private key; witness_node needs the pair [\"{}\",\"<that WIF>\"]",
                key.public_key(prefix)
            ));
        }
        return Err("is not a [\"PUBLIC_KEY\",\"WIF\"] pair".to_owned());
    };
    let public = PublicKey::parse(&public, prefix).map_err(|e| match PublicKey::parse_any_prefix(&public) {
        Ok(other) => format!(
            "the public key has prefix {}, but this network's keys start with {prefix}",
            other.prefix()
        ),
        Err(_) => e.to_string(),
    })?;
    let private = PrivateKey::from_wif(&wif).map_err(|_| "the private key (WIF) is not valid".to_owned())?;
    if private.public_key(prefix) != public {
        return Err(format!("the private key does not belong to {public}"));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIR: &str = r#"["BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV","5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3"]"#;
    const WIF: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";

    fn problem(text: &str, prefix: Prefix) -> String {
        let e = check(text, prefix, "k").unwrap_err();
        assert!(
            !e.problem.contains(WIF) && !e.fix.contains(WIF),
            "a secret leaked: {e:?}"
        );
        e.problem
    }

    #[test]
    fn accepts_pairs_and_returns_the_public_keys() {
        let keys = check(&format!("{PAIR}\n"), Prefix::BTS, "k").unwrap();
        assert_eq!(
            keys[0].to_string(),
            "BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV"
        );
    }

    #[test]
    fn refuses_what_witness_node_cannot_read_without_showing_the_key() {
        assert!(problem("", Prefix::BTS).contains("empty"));
        assert!(problem(&format!("{PAIR}\n\n"), Prefix::BTS).contains("line 2"));
        assert!(problem(&format!("{PAIR}\r\n"), Prefix::BTS).contains("carriage return"));
        assert!(problem(WIF, Prefix::BTS).contains("bare private key"));
        assert!(problem(PAIR, Prefix::TEST).contains("prefix BTS"));
        let wrong = PAIR.replace(
            "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3",
            "5KWppFSXqdLUM6g1PA5uCMwdPiPa6JxTpqbgMX95hWYuhpuTB3E",
        );
        assert!(problem(&wrong, Prefix::BTS).contains("does not belong"));
        assert!(problem(&PAIR.replace("5KQ", "5KX"), Prefix::BTS).contains("not valid"));
    }
}
