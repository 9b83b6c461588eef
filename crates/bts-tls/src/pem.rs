//! A certificate chain and its key, from PEM text to what rustls serves, with the facts the status
//! page and the renewal schedule need (names, validity, serial).

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A loaded certificate, ready to serve.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The chain and signing key.
    pub key: Arc<CertifiedKey>,
    /// What the leaf says.
    pub info: CertInfo,
}

/// What a leaf certificate says, as far as serving and renewing go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// DNS names (subject alternative names), as written (`*.example.org` included).
    pub names: Vec<String>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Serial number, hex.
    pub serial: String,
}

/// Why PEM text could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// No `CERTIFICATE` block, or one that does not decode.
    #[error("no certificate in the PEM text: expected -----BEGIN CERTIFICATE----- blocks, leaf first ({0})")]
    NoCertificate(String),
    /// No private key block.
    #[error("no private key in the PEM text: expected -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY) ({0})")]
    NoKey(String),
    /// A key type rustls cannot sign with.
    #[error("the private key is not an RSA, ECDSA or Ed25519 key rustls can use: {0}")]
    UnsupportedKey(String),
    /// The leaf does not parse as X.509.
    #[error("the first certificate is not valid X.509: {0}")]
    BadCertificate(String),
    /// The key does not belong to the leaf.
    #[error("the private key does not belong to the first certificate (check that cert and key files belong together)")]
    KeyMismatch,
}

/// Parses a chain (leaf first) and its key.
pub fn load(chain_pem: &[u8], key_pem: &[u8]) -> Result<Loaded, PemError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PemError::NoCertificate(e.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(PemError::NoCertificate("the text holds none".into()));
    };
    let info = info(leaf)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| PemError::NoKey(e.to_string()))?;
    let signer = any_supported_type(&key).map_err(|e| PemError::UnsupportedKey(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signer);
    if certified.keys_match().is_err() {
        return Err(PemError::KeyMismatch);
    }
    Ok(Loaded {
        key: Arc::new(certified),
        info,
    })
}

/// Reads names, validity and serial of a DER certificate.
pub fn info(der: &CertificateDer<'_>) -> Result<CertInfo, PemError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| PemError::BadCertificate(e.to_string()))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(n) = name {
                names.push((*n).to_owned());
            }
        }
    }
    let at = |t: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(t).unwrap_or(0));
    Ok(CertInfo {
        names,
        not_before: at(cert.validity().not_before.timestamp()),
        not_after: at(cert.validity().not_after.timestamp()),
        serial: hex::encode(cert.raw_serial()),
    })
}

/// Whether a certificate for `pattern` (possibly `*.example.org`) serves `host`.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(parent)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn loads_names_and_validity() {
        let (cert, key) = self_signed(&["api.example.org", "*.example.org"]);
        let loaded = load(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(loaded.info.names, ["api.example.org", "*.example.org"]);
        assert!(loaded.info.not_after > loaded.info.not_before);
    }

    #[test]
    fn refuses_mismatched_or_missing_parts() {
        let (cert, _) = self_signed(&["a.example.org"]);
        let (_, other_key) = self_signed(&["b.example.org"]);
        assert!(matches!(
            load(cert.as_bytes(), other_key.as_bytes()),
            Err(PemError::KeyMismatch)
        ));
        assert!(matches!(
            load(b"garbage", other_key.as_bytes()),
            Err(PemError::NoCertificate(_))
        ));
        assert!(matches!(load(cert.as_bytes(), b""), Err(PemError::NoKey(_))));
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("*.example.org", "api.example.org"));
        assert!(name_matches("*.example.org", "API.Example.org"));
        assert!(!name_matches("*.example.org", "example.org"));
        assert!(!name_matches("*.example.org", "a.b.example.org"));
        assert!(name_matches("example.org", "EXAMPLE.org"));
    }
}
