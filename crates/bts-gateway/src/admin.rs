//! Operations on a running gateway: reload the configuration, cordon or uncordon a backend.
//!
//! Allowed from the loopback interface, or with `Authorization: Bearer <token>` when the
//! configuration names a token (read from an environment variable, never from the file).
//! A reload swaps networks and backends without dropping a connection; a cordoned backend gets
//! no new work (its WebSocket sessions move elsewhere), which is how a node is drained for an
//! upgrade.

use crate::server::{AppState, Peer};
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Reads the configuration again (from the file the gateway started with).
pub type Reloader = Arc<dyn Fn() -> Result<crate::config::GatewayConfig, String> + Send + Sync>;

/// Whether the caller may use the admin endpoints.
fn authorized(st: &AppState, peer: &Peer, headers: &HeaderMap) -> bool {
    if peer.0.ip().is_loopback() {
        return true;
    }
    let Some(token) = &st.dp.settings.admin_token else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

/// Compares without stopping at the first difference, so timing does not leak the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse() -> Response {
    let body = json!({"error": "admin endpoints answer on localhost, or with Authorization: Bearer <token>"});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// Reads the configuration with `reload` and applies it to `gateway`.
pub fn apply(gateway: &crate::Gateway, reload: &Reloader) -> Result<(), String> {
    let outcome = reload().and_then(|config| gateway.reload(&config).map(|_| ()).map_err(|e| e.to_string()));
    crate::metrics::reload(outcome.is_ok());
    outcome
}

/// `POST /admin/reload`.
pub async fn reload(State(st): State<AppState>, Extension(peer): Extension<Peer>, headers: HeaderMap) -> Response {
    if !authorized(&st, &peer, &headers) {
        return refuse();
    }
    let Some(reloader) = st.reloader.clone() else {
        let body = json!({"error": "this gateway was started without a configuration file to reload"});
        return (StatusCode::CONFLICT, Json(body)).into_response();
    };
    match apply(&st.dp.gateway, &reloader) {
        Ok(()) => {
            tracing::info!(target: "bts_gateway::admin", "configuration reloaded");
            Json(json!({"reloaded": true})).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"reloaded": false, "error": e}))).into_response(),
    }
}

/// `POST /admin/backends/{network}/{index}/{cordon|uncordon}`.
pub async fn backend(
    State(st): State<AppState>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path((network, index, action)): Path<(String, usize, String)>,
) -> Response {
    if !authorized(&st, &peer, &headers) {
        return refuse();
    }
    let on = match action.as_str() {
        "cordon" => true,
        "uncordon" => false,
        other => {
            let body = json!({"error": format!("unknown action {other:?}: use cordon or uncordon")});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let Some(net) = st.dp.gateway.networks().iter().find(|n| n.name() == network).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no network {network:?}")})),
        )
            .into_response();
    };
    let Some(b) = net.backends().get(index).cloned() else {
        let body =
            json!({"error": format!("network {network} has no backend #{index} (numbered from 0, as in /status)")});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    b.cordon(on);
    tracing::info!(target: "bts_gateway::admin", network, backend = b.ws_url(), cordoned = on, "backend cordon changed");
    Json(json!({"network": network, "backend": b.ws_url(), "cordoned": on})).into_response()
}

/// `POST /admin/certificates/renew`: obtains the ACME certificate again now (202), e.g. after
/// changing DNS, or to test renewal; 409 when no ACME certificate is configured.
pub async fn renew_certificates(
    State(st): State<AppState>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&st, &peer, &headers) {
        return refuse();
    }
    match st.tls.as_ref().is_some_and(|t| t.renew_now()) {
        true => (StatusCode::ACCEPTED, Json(json!({"renewing": true}))).into_response(),
        false => (
            StatusCode::CONFLICT,
            Json(json!({"error": "no ACME certificate is configured ([tls.acme])"})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret-longer"));
    }
}
