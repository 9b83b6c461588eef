//! One ACME order, start to finish: ask for the names, answer each authorization's challenge,
//! wait for validation, send a CSR (a fresh key each time), fetch the chain. Answers are removed
//! afterwards whatever happened. An error says what failed in the CA's own words, so the status
//! page can show an operator why.

use super::solve::{self, Provisioned};
use crate::settings::{AcmeSettings, Challenge};
use crate::store::CertStore;
use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, Order, OrderStatus, RetryPolicy,
};
use std::time::Duration;

/// How long the CA gets to validate, and to issue.
const POLL: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(250))
    .backoff(1.5)
    .timeout(Duration::from_secs(180));

/// A certificate chain (PEM, leaf first) and its private key (PEM).
pub(crate) struct Issued {
    pub(crate) chain_pem: String,
    pub(crate) key_pem: String,
}

/// Orders a certificate for the configured domains.
pub(crate) async fn issue(account: &Account, settings: &AcmeSettings, store: &CertStore) -> Result<Issued, String> {
    let identifiers: Vec<Identifier> = settings.domains.iter().map(|d| Identifier::Dns(d.clone())).collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| format!("the CA refused the order: {e}"))?;
    let mut provisioned = Vec::new();
    let result = solve_and_finalize(&mut order, settings, store, &mut provisioned).await;
    for p in provisioned {
        solve::cleanup(settings, store, p).await;
    }
    result
}

async fn solve_and_finalize(
    order: &mut Order,
    settings: &AcmeSettings,
    store: &CertStore,
    provisioned: &mut Vec<Provisioned>,
) -> Result<Issued, String> {
    let mut authorizations = order.authorizations();
    while let Some(next) = authorizations.next().await {
        let mut authz = next.map_err(|e| format!("cannot fetch an authorization: {e}"))?;
        let name = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => return Err(format!("the authorization for {name} is {other:?}")),
        }
        let Identifier::Dns(domain) = authz.identifier().identifier.clone() else {
            return Err(format!("{name} is not a DNS name"));
        };
        // Only DNS-01 proves a wildcard.
        let kind = if authz.identifier().wildcard {
            Challenge::Dns01
        } else {
            settings.challenge
        };
        let mut challenge = authz
            .challenge(challenge_type(kind))
            .ok_or_else(|| format!("the CA offers no {} challenge for {name}", kind.name()))?;
        let key_authorization = challenge.key_authorization();
        let token = challenge.token.clone();
        provisioned.push(solve::provision(settings, store, kind, &domain, &token, &key_authorization).await?);
        if kind == Challenge::Dns01 {
            // Let the record reach the provider's authoritative servers before the CA looks.
            tokio::time::sleep(settings.dns_wait).await;
        }
        challenge
            .set_ready()
            .await
            .map_err(|e| format!("the CA would not start validating {name}: {e}"))?;
    }
    let status = order.poll_ready(&POLL).await;
    match status {
        Ok(OrderStatus::Ready) => {}
        Ok(other) => return Err(format!("validation failed ({other:?}){}", reasons(order).await)),
        Err(e) => return Err(format!("validation failed: {e}{}", reasons(order).await)),
    }
    let key_pem = order
        .finalize()
        .await
        .map_err(|e| format!("the CA refused the certificate request: {e}"))?;
    let chain_pem = order
        .poll_certificate(&POLL)
        .await
        .map_err(|e| format!("the CA did not deliver the certificate: {e}"))?;
    Ok(Issued { chain_pem, key_pem })
}

fn challenge_type(kind: Challenge) -> ChallengeType {
    match kind {
        Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
        Challenge::Http01 => ChallengeType::Http01,
        Challenge::Dns01 => ChallengeType::Dns01,
    }
}

/// The CA's reasons for failed challenges, as `: name: reason; ...`.
async fn reasons(order: &mut Order) -> String {
    let mut found = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        let Ok(state) = authz.refresh().await else { continue };
        let name = state.identifier().to_string();
        for challenge in &state.challenges {
            if let Some(problem) = &challenge.error {
                let detail = problem.detail.clone().unwrap_or_else(|| problem.to_string());
                found.push(format!("{name}: {detail}"));
            }
        }
    }
    if found.is_empty() {
        String::new()
    } else {
        format!(": {}", found.join("; "))
    }
}
