//! What the TLS side is told to do: which certificates to serve, from files or from ACME. These
//! are validated values; the gateway's configuration (`[tls]`) builds them and names the key of
//! any mistake.

use std::path::PathBuf;
use std::time::Duration;

/// Certificates to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Certificates from PEM files, reloaded when the files change.
    pub files: Vec<FileCert>,
    /// A certificate obtained and renewed through ACME.
    pub acme: Option<AcmeSettings>,
    /// How often certificate files are checked for changes.
    pub reload_interval: Duration,
}

/// One certificate from files: the chain (leaf first) and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCert {
    /// The certificate chain, leaf first (`fullchain.pem`).
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How a certificate is obtained and renewed through ACME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    /// The ACME directory URL (Let's Encrypt's production directory by default).
    pub directory: String,
    /// A PEM root to trust for the directory's own HTTPS (pebble, a private CA); `None` trusts
    /// the system's roots.
    pub directory_ca: Option<PathBuf>,
    /// Contact URIs for the account (`mailto:ops@example.org`).
    pub contact: Vec<String>,
    /// The names on the certificate; `*.example.org` needs DNS-01.
    pub domains: Vec<String>,
    /// How names without a wildcard are proven.
    pub challenge: Challenge,
    /// The command that publishes and removes DNS-01 TXT records.
    pub dns_hook: Option<PathBuf>,
    /// How long to wait after the hook published a record before asking for validation.
    pub dns_wait: Duration,
    /// Where the account key and certificates are kept (created with mode 0700).
    pub state_dir: PathBuf,
    /// Renew when less than this is left (or after two thirds of the lifetime, if sooner).
    pub renew_before: Duration,
    /// The first wait after a failed attempt; it doubles on each further failure.
    pub retry_initial: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// External account binding (ZeroSSL, some private CAs).
    pub eab: Option<Eab>,
}

/// External account binding: the key id in the clear, the HMAC key in an environment variable
/// (never in a file that is checked in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eab {
    /// The key id the CA gave.
    pub kid: String,
    /// The environment variable holding the base64url HMAC key.
    pub hmac_key_env: String,
}

/// An ACME challenge type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// A self-signed certificate on the TLS port (443), selected by ALPN `acme-tls/1`.
    TlsAlpn01,
    /// A token under `/.well-known/acme-challenge/` on the HTTP port (80).
    Http01,
    /// A TXT record `_acme-challenge.<name>`, published by the DNS hook.
    Dns01,
}

impl Challenge {
    /// The name used in configuration files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Challenge::TlsAlpn01 => "tls-alpn-01",
            Challenge::Http01 => "http-01",
            Challenge::Dns01 => "dns-01",
        }
    }

    /// Parses `tls-alpn-01`, `http-01` or `dns-01`.
    pub fn parse(s: &str) -> Option<Challenge> {
        [Challenge::TlsAlpn01, Challenge::Http01, Challenge::Dns01]
            .into_iter()
            .find(|c| c.name() == s)
    }
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory (untrusted certificates, generous rate limits).
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
/// ZeroSSL's directory (needs EAB).
pub const ZEROSSL: &str = "https://acme.zerossl.com/v2/DV90";

/// Resolves the short names `letsencrypt`, `letsencrypt-staging` and `zerossl`; anything else
/// must be an `https://` URL (or `http://` for a test server on loopback).
pub fn directory_url(s: &str) -> Result<String, String> {
    match s {
        "letsencrypt" => Ok(LETS_ENCRYPT.to_owned()),
        "letsencrypt-staging" => Ok(LETS_ENCRYPT_STAGING.to_owned()),
        "zerossl" => Ok(ZEROSSL.to_owned()),
        url if url.starts_with("https://") => Ok(url.to_owned()),
        other => Err(format!(
            "{other:?} is not an ACME directory: write letsencrypt, letsencrypt-staging, zerossl or an https:// URL"
        )),
    }
}

/// Checks a name for the certificate: a DNS name, optionally with one leading `*.`.
pub fn check_domain(name: &str) -> Result<(), String> {
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if bare.len() > 253 || !bare.contains('.') || !bare.split('.').all(label_ok) {
        return Err(format!(
            "{name:?} is not a DNS name for a certificate: write e.g. api.example.org or *.example.org"
        ));
    }
    if bare.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("{name:?}: write the name in lower case"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert!(check_domain("api.example.org").is_ok());
        assert!(check_domain("*.example.org").is_ok());
        for bad in [
            "localhost",
            "*.*.example.org",
            "a..b",
            "-a.b",
            "api.Example.org",
            "a_b.org",
            "",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn directories() {
        assert_eq!(directory_url("letsencrypt").unwrap(), LETS_ENCRYPT);
        assert_eq!(
            directory_url("https://127.0.0.1:14000/dir").unwrap(),
            "https://127.0.0.1:14000/dir"
        );
        assert!(directory_url("ftp://x").unwrap_err().contains("letsencrypt-staging"));
        assert_eq!(Challenge::parse("dns-01"), Some(Challenge::Dns01));
        assert_eq!(Challenge::parse("dns"), None);
    }
}
