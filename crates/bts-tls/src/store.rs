//! The certificates being served, and the answers to ACME challenges being held.
//!
//! [`CertStore`] is rustls's certificate resolver: each handshake reads the served set through an
//! `ArcSwap` (no lock), so installing a renewed certificate never disturbs a connection: open
//! connections keep the certificate they were made with, new ones get the new one. A handshake
//! that offers only ALPN `acme-tls/1` is a TLS-ALPN-01 validation and gets the challenge
//! certificate for its server name. The status of each configured certificate (expiry, last
//! renewal, last error) is kept beside it for the status page; that lock is never on a handshake.

use crate::metrics;
use crate::pem::{Loaded, name_matches};
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// The ALPN protocol id of TLS-ALPN-01 validations (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// One served certificate.
#[derive(Debug)]
struct Served {
    /// The configured certificate it stands for (the status key).
    name: String,
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

/// The served certificates, challenge answers and per-certificate status.
#[derive(Debug, Default)]
pub struct CertStore {
    served: ArcSwap<Vec<Arc<Served>>>,
    alpn: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    http01: Mutex<HashMap<String, String>>,
    status: Mutex<BTreeMap<String, CertStatus>>,
}

/// What the status page shows of one configured certificate.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CertStatus {
    /// The certificate's name: its first domain (ACME) or its file (files).
    pub name: String,
    /// `acme` or `file`.
    pub source: &'static str,
    /// The names it should cover (ACME) or covers (files).
    pub domains: Vec<String>,
    /// Whether a certificate is being served for it.
    pub serving: bool,
    /// Serial of the served certificate, hex.
    pub serial: Option<String>,
    /// When the served certificate expires (RFC 3339).
    pub not_after: Option<String>,
    /// When a certificate was last obtained or loaded (RFC 3339).
    pub last_renewal: Option<String>,
    /// When the next renewal (or retry) is due (RFC 3339).
    pub next_attempt: Option<String>,
    /// The last failure, until an attempt succeeds.
    pub last_error: Option<String>,
    /// When the last failure happened (RFC 3339).
    pub last_error_at: Option<String>,
    /// Failures since the last success.
    pub failures: u32,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl CertStore {
    /// An empty store.
    pub fn new() -> Arc<CertStore> {
        Arc::new(CertStore::default())
    }

    /// Registers a configured certificate so the status page shows it before it is served.
    pub fn register(&self, name: &str, source: &'static str, domains: Vec<String>) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = status.entry(name.to_owned()).or_default();
        entry.name = name.to_owned();
        entry.source = source;
        entry.domains = domains;
    }

    /// Serves `loaded` for the configured certificate `name`, replacing what was served for it.
    pub fn install(&self, name: &str, loaded: &Loaded, now: SystemTime) {
        let new = Arc::new(Served {
            name: name.to_owned(),
            names: loaded.info.names.clone(),
            key: loaded.key.clone(),
        });
        self.served.rcu(|current| {
            let mut next: Vec<Arc<Served>> = current.iter().cloned().collect();
            match next.iter_mut().find(|s| s.name == name) {
                Some(slot) => *slot = new.clone(),
                None => next.push(new.clone()),
            }
            next
        });
        metrics::installed(name, loaded.info.not_after);
        self.update(name, |s| {
            s.serving = true;
            s.serial = Some(loaded.info.serial.clone());
            s.not_after = Some(rfc3339(loaded.info.not_after));
            s.last_renewal = Some(rfc3339(now));
            if s.source == "file" {
                s.domains = loaded.info.names.clone();
            }
            s.last_error = None;
            s.last_error_at = None;
            s.failures = 0;
        });
    }

    /// Records a failed attempt for `name`; what is served stays.
    pub fn failed(&self, name: &str, error: &str, now: SystemTime) {
        metrics::failed(name);
        self.update(name, |s| {
            s.last_error = Some(error.to_owned());
            s.last_error_at = Some(rfc3339(now));
            s.failures += 1;
        });
    }

    /// Records when the next attempt for `name` is due.
    pub fn schedule(&self, name: &str, at: SystemTime) {
        self.update(name, |s| s.next_attempt = Some(rfc3339(at)));
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut CertStatus)) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = status.entry(name.to_owned()).or_insert_with(|| CertStatus {
            name: name.to_owned(),
            ..CertStatus::default()
        });
        f(entry);
    }

    /// Every configured certificate's status, by name.
    pub fn status(&self) -> Vec<CertStatus> {
        let status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.values().cloned().collect()
    }

    /// Holds a TLS-ALPN-01 answer for `domain` until [`CertStore::clear_alpn`].
    pub fn set_alpn(&self, domain: &str, key: Arc<CertifiedKey>) {
        let mut alpn = self.alpn.lock().unwrap_or_else(PoisonError::into_inner);
        alpn.insert(domain.to_ascii_lowercase(), key);
    }

    /// Drops the TLS-ALPN-01 answer for `domain`.
    pub fn clear_alpn(&self, domain: &str) {
        let mut alpn = self.alpn.lock().unwrap_or_else(PoisonError::into_inner);
        alpn.remove(&domain.to_ascii_lowercase());
    }

    /// Holds an HTTP-01 answer (the key authorization) for `token`.
    pub fn set_http01(&self, token: &str, key_authorization: &str) {
        let mut http01 = self.http01.lock().unwrap_or_else(PoisonError::into_inner);
        http01.insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Drops the HTTP-01 answer for `token`.
    pub fn clear_http01(&self, token: &str) {
        let mut http01 = self.http01.lock().unwrap_or_else(PoisonError::into_inner);
        http01.remove(token);
    }

    /// The HTTP-01 answer for `token`, if one is held.
    pub fn http01(&self, token: &str) -> Option<String> {
        let http01 = self.http01.lock().unwrap_or_else(PoisonError::into_inner);
        http01.get(token).cloned()
    }

    /// The certificate for a server name: an exact name first, then a wildcard; without a server
    /// name (a client that dialled an address) or with an unknown one, the first certificate.
    fn lookup(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let served = self.served.load();
        if let Some(host) = server_name {
            let exact = served
                .iter()
                .find(|s| s.names.iter().any(|n| n.eq_ignore_ascii_case(host)));
            let wildcard = || served.iter().find(|s| s.names.iter().any(|n| name_matches(n, host)));
            if let Some(s) = exact.or_else(wildcard) {
                return Some(s.key.clone());
            }
        }
        served.first().map(|s| s.key.clone())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let is_validation = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if is_validation {
            let alpn = self.alpn.lock().unwrap_or_else(PoisonError::into_inner);
            return hello
                .server_name()
                .and_then(|name| alpn.get(&name.to_ascii_lowercase()).cloned());
        }
        self.lookup(hello.server_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pem::load;
    use std::time::UNIX_EPOCH;

    fn cert(names: &[&str]) -> Loaded {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        load(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).expect("load")
    }

    #[test]
    fn picks_by_server_name_and_falls_back_to_the_first() {
        let store = CertStore::new();
        let a = cert(&["a.example.org"]);
        let wild = cert(&["*.example.net"]);
        store.install("a", &a, UNIX_EPOCH);
        store.install("wild", &wild, UNIX_EPOCH);
        let same = |x: Option<Arc<CertifiedKey>>, y: &Loaded| x.is_some_and(|x| Arc::ptr_eq(&x, &y.key));
        assert!(same(store.lookup(Some("a.example.org")), &a));
        assert!(same(store.lookup(Some("api.example.net")), &wild));
        assert!(same(store.lookup(Some("unknown.example.com")), &a));
        assert!(same(store.lookup(None), &a));
    }

    #[test]
    fn a_renewal_replaces_and_a_failure_keeps_serving() {
        let store = CertStore::new();
        store.register("a", "acme", vec!["a.example.org".into()]);
        assert!(store.lookup(None).is_none());
        store.failed("a", "challenge failed", UNIX_EPOCH);
        assert_eq!(store.status()[0].failures, 1);
        let first = cert(&["a.example.org"]);
        store.install("a", &first, UNIX_EPOCH);
        let second = cert(&["a.example.org"]);
        store.install("a", &second, UNIX_EPOCH);
        assert!(Arc::ptr_eq(&store.lookup(None).unwrap(), &second.key));
        store.failed("a", "rate limited", UNIX_EPOCH);
        assert!(Arc::ptr_eq(&store.lookup(None).unwrap(), &second.key));
        let status = &store.status()[0];
        assert_eq!(status.serial.as_deref(), Some(second.info.serial.as_str()));
        assert_eq!(status.last_error.as_deref(), Some("rate limited"));
        assert!(status.serving);
    }

    #[test]
    fn http01_answers_come_and_go() {
        let store = CertStore::new();
        store.set_http01("tok", "tok.thumb");
        assert_eq!(store.http01("tok").as_deref(), Some("tok.thumb"));
        store.clear_http01("tok");
        assert_eq!(store.http01("tok"), None);
    }
}
