//! The ACME certificate's life: serve what the state directory holds, obtain a certificate when
//! there is none (or it no longer covers the configured names), renew it when due
//! ([`schedule::renewal_due`]), and after a failure retry with a doubling wait
//! ([`schedule::retry_after`]). A failure never stops the gateway: the previous certificate stays
//! in service and the status page and metrics show the error until an attempt succeeds.

mod order;
pub mod schedule;
mod solve;

use crate::pem::{self, CertInfo, Loaded};
use crate::settings::AcmeSettings;
use crate::state;
use crate::store::CertStore;
use base64::Engine;
use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// The status page name of the ACME certificate: its first domain.
pub fn status_name(settings: &AcmeSettings) -> String {
    settings.domains.first().cloned().unwrap_or_default()
}

/// Keeps the certificate current until `renew_requests` closes. Each message on it asks for a
/// renewal now.
pub(crate) async fn run(settings: AcmeSettings, store: Arc<CertStore>, mut renew_requests: mpsc::Receiver<()>) {
    let name = status_name(&settings);
    store.register(&name, "acme", settings.domains.clone());
    let cert_dir = state::cert_dir(&settings.state_dir, &name);
    let mut current = serve_stored(&settings, &cert_dir, &store, &name);
    let mut account = None;
    let mut failures = 0u32;
    loop {
        let now = SystemTime::now();
        let wait = match &current {
            _ if failures > 0 => schedule::retry_after(failures, settings.retry_initial, settings.retry_max),
            Some(info) => schedule::renewal_due(info.not_before, info.not_after, settings.renew_before)
                .duration_since(now)
                .unwrap_or_default(),
            None => Duration::ZERO,
        };
        store.schedule(&name, now + wait);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            request = renew_requests.recv() => if request.is_none() { return },
        }
        match attempt(&settings, &store, &mut account, &cert_dir).await {
            Ok(loaded) => {
                info!(target: "bts_tls::acme", certificate = %name, serial = %loaded.info.serial, not_after = %humantime::format_rfc3339_seconds(loaded.info.not_after), "certificate obtained");
                store.install(&name, &loaded, SystemTime::now());
                current = Some(loaded.info);
                failures = 0;
            }
            Err(e) => {
                failures += 1;
                warn!(target: "bts_tls::acme", certificate = %name, failures, error = %e, "could not obtain a certificate; will retry");
                store.failed(&name, &e, SystemTime::now());
            }
        }
    }
}

/// Serves the stored certificate if it covers exactly the configured names and has not expired.
fn serve_stored(settings: &AcmeSettings, cert_dir: &Path, store: &CertStore, name: &str) -> Option<CertInfo> {
    let chain = std::fs::read(cert_dir.join("cert.pem")).ok()?;
    let key = std::fs::read(cert_dir.join("key.pem")).ok()?;
    let loaded = match pem::load(&chain, &key) {
        Ok(l) => l,
        Err(e) => {
            warn!(target: "bts_tls::acme", certificate = %name, error = %e, "the stored certificate does not load; obtaining a new one");
            return None;
        }
    };
    let mut have = loaded.info.names.clone();
    let mut want = settings.domains.clone();
    have.sort();
    want.sort();
    if have != want || loaded.info.not_after <= SystemTime::now() {
        info!(target: "bts_tls::acme", certificate = %name, "the stored certificate is expired or for other names; obtaining a new one");
        return None;
    }
    store.install(name, &loaded, SystemTime::now());
    Some(loaded.info)
}

/// One attempt: the account (made once), an order, and the result stored and loaded.
async fn attempt(
    settings: &AcmeSettings,
    store: &CertStore,
    account: &mut Option<Account>,
    cert_dir: &Path,
) -> Result<Loaded, String> {
    if account.is_none() {
        *account = Some(open_account(settings).await?);
    }
    let account = account.as_ref().expect("set just above");
    let issued = order::issue(account, settings, store).await?;
    let loaded = pem::load(issued.chain_pem.as_bytes(), issued.key_pem.as_bytes())
        .map_err(|e| format!("the CA's certificate does not load: {e}"))?;
    let write = || -> std::io::Result<()> {
        state::secure_dir(cert_dir)?;
        state::write_private(&cert_dir.join("key.pem"), issued.key_pem.as_bytes())?;
        state::write_private(&cert_dir.join("cert.pem"), issued.chain_pem.as_bytes())
    };
    // Serving matters more than keeping: a full disk is reported but the new certificate is used.
    if let Err(e) = write() {
        warn!(target: "bts_tls::acme", dir = %cert_dir.display(), error = %e, "cannot store the new certificate; serving it anyway");
    }
    Ok(loaded)
}

/// Restores the account from the state directory, or creates one there.
async fn open_account(settings: &AcmeSettings) -> Result<Account, String> {
    let builder = || match &settings.directory_ca {
        Some(ca) => Account::builder_with_root(ca).map_err(|e| format!("cannot trust {}: {e}", ca.display())),
        None => Account::builder().map_err(|e| format!("cannot make the ACME client: {e}")),
    };
    let file = state::account_file(&settings.state_dir, &settings.directory);
    if let Ok(bytes) = std::fs::read(&file) {
        let credentials: AccountCredentials = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is not an ACME account file ({e}); move it away to start a new account",
                file.display()
            )
        })?;
        return builder()?
            .from_credentials(credentials)
            .await
            .map_err(|e| format!("cannot reach the ACME directory {}: {e}", settings.directory));
    }
    let eab = match &settings.eab {
        Some(eab) => Some(external_account_key(&eab.kid, &eab.hmac_key_env)?),
        None => None,
    };
    let contact: Vec<&str> = settings.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = builder()?
        .create(&new, settings.directory.clone(), eab.as_ref())
        .await
        .map_err(|e| format!("cannot create an ACME account at {}: {e}", settings.directory))?;
    let json = serde_json::to_vec_pretty(&credentials).map_err(|e| format!("cannot encode the account: {e}"))?;
    state::secure_dir(&settings.state_dir).map_err(|e| format!("{}: {e}", settings.state_dir.display()))?;
    state::write_private(&file, &json).map_err(|e| format!("cannot store the account in {}: {e}", file.display()))?;
    info!(target: "bts_tls::acme", directory = %settings.directory, "ACME account created");
    Ok(account)
}

/// The EAB key from its environment variable (base64url, as CAs print it).
pub(crate) fn external_account_key(kid: &str, env: &str) -> Result<ExternalAccountKey, String> {
    let value =
        std::env::var(env).map_err(|_| format!("external account binding: set {env} to the HMAC key the CA gave"))?;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.trim().trim_end_matches('='))
        .map_err(|_| format!("external account binding: {env} is not base64url"))?;
    Ok(ExternalAccountKey::new(kid.to_owned(), &key))
}
