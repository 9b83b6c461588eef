//! bts-tls: the gateway's certificates. It gets and renews its own, so public endpoints are
//! `https://` and `wss://` without certbot beside them.
//!
//! - [`settings`]: what to serve (files, ACME) as validated values.
//! - [`store`]: [`CertStore`], rustls's certificate resolver (SNI, wildcards, TLS-ALPN-01
//!   answers) and each certificate's status.
//! - [`pem`]: PEM chain + key to a served certificate, and what the leaf says.
//! - [`files`]: certificates from files, reloaded when they change.
//! - [`acme`]: certificates from an ACME CA (HTTP-01, TLS-ALPN-01, DNS-01 through a hook),
//!   renewed ahead of expiry with backoff on failure; [`state`] keeps the account and
//!   certificates in a private directory.
//!
//! [`Tls::start`] puts it together; [`server_config`] is the one rustls configuration: TLS 1.3
//! and 1.2 only, ring's suites (AEAD with forward secrecy only), ALPN `http/1.1` and
//! `acme-tls/1`.

pub mod acme;
pub mod files;
pub mod metrics;
pub mod pem;
pub mod settings;
pub mod state;
pub mod store;

pub use settings::{AcmeSettings, Challenge, Eab, FileCert, TlsSettings};
pub use store::{ACME_TLS_ALPN, CertStatus, CertStore};

use rustls::ServerConfig;
use rustls::server::ResolvesServerCert;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Why TLS could not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate file pair does not load.
    #[error(transparent)]
    File(#[from] files::FileError),
    /// The ACME state directory cannot be made private.
    #[error("the ACME state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The ACME settings cannot work (a missing EAB key, no DNS hook for a wildcard).
    #[error("{0}")]
    Acme(String),
}

/// The running TLS side: the store the listener resolves from, and the tasks that keep it current
/// (aborted when this is dropped).
pub struct Tls {
    store: Arc<CertStore>,
    config: Arc<ServerConfig>,
    renew: Option<mpsc::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Tls {
    /// Loads the certificate files (a bad one is an error naming it), and starts the file watcher
    /// and the ACME task. Must be called inside a tokio runtime.
    pub fn start(settings: &TlsSettings) -> Result<Tls, TlsError> {
        let store = CertStore::new();
        files::load_all(&settings.files, &store)?;
        let mut tasks = Vec::new();
        if !settings.files.is_empty() {
            let watch = files::watch(settings.files.clone(), store.clone(), settings.reload_interval);
            tasks.push(tokio::spawn(watch));
        }
        let mut renew = None;
        if let Some(acme) = &settings.acme {
            state::secure_dir(&acme.state_dir).map_err(|source| TlsError::StateDir {
                path: acme.state_dir.display().to_string(),
                source,
            })?;
            if let Some(eab) = &acme.eab {
                acme::external_account_key(&eab.kid, &eab.hmac_key_env).map_err(TlsError::Acme)?;
            }
            let needs_hook = acme.challenge == Challenge::Dns01 || acme.domains.iter().any(|d| d.starts_with("*."));
            if needs_hook && acme.dns_hook.is_none() {
                return Err(TlsError::Acme(
                    "DNS-01 (wildcards need it) needs [tls.acme] dns-hook: a command that publishes TXT records".into(),
                ));
            }
            let (tx, rx) = mpsc::channel(1);
            renew = Some(tx);
            tasks.push(tokio::spawn(acme::run(acme.clone(), store.clone(), rx)));
        }
        let config = server_config(store.clone());
        Ok(Tls {
            store,
            config,
            renew,
            tasks,
        })
    }

    /// The rustls configuration to accept connections with.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// The served certificates, challenge answers and status.
    pub fn store(&self) -> &Arc<CertStore> {
        &self.store
    }

    /// Asks the ACME task to renew now. False when there is no ACME certificate.
    pub fn renew_now(&self) -> bool {
        // A request already queued does the same job.
        self.renew.as_ref().is_some_and(|tx| {
            let _ = tx.try_send(());
            true
        })
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The server configuration for a resolver: TLS 1.3 and 1.2 only, with ring's cipher suites
/// (AES-GCM and ChaCha20-Poly1305 with ECDHE; no CBC, no RSA key exchange), ALPN `http/1.1` and
/// `acme-tls/1` (TLS-ALPN-01 validations).
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    Arc::new(config)
}
