//! Putting ACME challenge answers where the CA will look, and taking them away afterwards.
//!
//! - HTTP-01: the key authorization is held in the store; the gateway's HTTP listener answers
//!   `GET /.well-known/acme-challenge/<token>` from it.
//! - TLS-ALPN-01: a self-signed certificate carrying the key authorization's digest in the
//!   `acmeIdentifier` extension (RFC 8737) is held in the store; the TLS listener serves it to
//!   handshakes that offer ALPN `acme-tls/1` for that name.
//! - DNS-01: the operator's hook command publishes the TXT record: it is run as
//!   `<hook> set <record> <value>` and later `<hook> clear <record> <value>`, with the same values
//!   in `BTS_ACME_ACTION`, `BTS_ACME_RECORD` (`_acme-challenge.example.org`, no trailing dot) and
//!   `BTS_ACME_VALUE`. Exit status 0 means done; anything else fails the attempt with the hook's
//!   last line of error output.

use crate::settings::{AcmeSettings, Challenge};
use crate::store::CertStore;
use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

/// How long a DNS hook may take.
const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// An answer in place, to be removed once the order is decided.
#[derive(Debug)]
pub(crate) enum Provisioned {
    Http01 { token: String },
    TlsAlpn01 { domain: String },
    Dns01 { record: String, value: String },
}

/// Puts the answer for one challenge in place. `domain` is the name without `*.`.
pub(crate) async fn provision(
    settings: &AcmeSettings,
    store: &CertStore,
    kind: Challenge,
    domain: &str,
    token: &str,
    key_authorization: &instant_acme::KeyAuthorization,
) -> Result<Provisioned, String> {
    match kind {
        Challenge::Http01 => {
            store.set_http01(token, key_authorization.as_str());
            Ok(Provisioned::Http01 {
                token: token.to_owned(),
            })
        }
        Challenge::TlsAlpn01 => {
            let cert = alpn_certificate(domain, key_authorization.digest().as_ref())?;
            store.set_alpn(domain, cert);
            Ok(Provisioned::TlsAlpn01 {
                domain: domain.to_owned(),
            })
        }
        Challenge::Dns01 => {
            let record = format!("_acme-challenge.{domain}");
            let value = key_authorization.dns_value();
            run_hook(settings, "set", &record, &value).await?;
            Ok(Provisioned::Dns01 { record, value })
        }
    }
}

/// Removes an answer. A hook that fails to clear is logged, not fatal: a stale TXT record only
/// costs a little space at the DNS provider.
pub(crate) async fn cleanup(settings: &AcmeSettings, store: &CertStore, provisioned: Provisioned) {
    match provisioned {
        Provisioned::Http01 { token } => store.clear_http01(&token),
        Provisioned::TlsAlpn01 { domain } => store.clear_alpn(&domain),
        Provisioned::Dns01 { record, value } => {
            if let Err(e) = run_hook(settings, "clear", &record, &value).await {
                tracing::warn!(target: "bts_tls::acme", %record, error = %e, "the DNS hook could not remove the challenge record");
            }
        }
    }
}

/// The TLS-ALPN-01 answer certificate for `domain`.
fn alpn_certificate(domain: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>, String> {
    let failed = |e: rcgen::Error| format!("cannot make the TLS-ALPN-01 certificate for {domain}: {e}");
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()]).map_err(failed)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = any_supported_type(&der).map_err(|e| format!("cannot sign with the TLS-ALPN-01 key: {e}"))?;
    Ok(Arc::new(CertifiedKey::new(vec![cert.der().clone()], signer)))
}

async fn run_hook(settings: &AcmeSettings, action: &str, record: &str, value: &str) -> Result<(), String> {
    let Some(hook) = &settings.dns_hook else {
        return Err("dns-01 needs a DNS hook: set [tls.acme] dns-hook to a command that publishes TXT records".into());
    };
    let mut command = Command::new(hook);
    command
        .args([action, record, value])
        .env("BTS_ACME_ACTION", action)
        .env("BTS_ACME_RECORD", record)
        .env("BTS_ACME_VALUE", value)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(HOOK_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            format!(
                "the DNS hook {} did not finish {action} within {HOOK_TIMEOUT:?}",
                hook.display()
            )
        })?
        .map_err(|e| format!("cannot run the DNS hook {}: {e}", hook.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let last: String = last.chars().take(300).collect();
    Err(format!(
        "the DNS hook {} failed to {action} {record} ({}){}",
        hook.display(),
        output.status,
        if last.is_empty() {
            String::new()
        } else {
            format!(": {last}")
        }
    ))
}
