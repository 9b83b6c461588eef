//! The faucet's HTTP API, as every wallet expects it (reference §1.5).
//!
//! Routes, each at the root, under the configured `path-prefix`, and (for the registration
//! routes) under any single path segment, which tapin treated as a referral code and wallets use
//! as `/onboarding`; oases-android posts to the root:
//!
//! * `POST /api/v1/accounts` — register; `OPTIONS` for CORS preflights.
//! * `GET /api/v1/accounts/{name}/status` — `{"account":{"name","available"}}`.
//! * `GET /api/v1/stats` (JSON), `GET /stats` and `GET /` (HTML), `GET /metrics` (Prometheus),
//!   `GET /health`.
//!
//! Layers, outermost first: a doubled slash is collapsed before routing (a faucet address
//! configured with a trailing `/` yields `/onboarding//api/v1/accounts`); CORS for any origin
//! (browser wallets run on any domain); a body limit (nobody needs more than a few hundred bytes).

mod handlers;
pub(crate) mod reply;

use crate::state::Shared;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, Uri};
use axum::routing::RouterIntoService;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;
use tower::util::MapRequest;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// What a CORS preflight may be cached for (the Rails faucet's value, 20 days).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(1_728_000);

/// The routes every mount point serves.
fn api() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/api/v1/accounts",
            post(handlers::create_account).options(handlers::options),
        )
        .route("/api/v1/accounts/{name}/status", get(handlers::account_status))
        .route("/api/v1/stats", get(handlers::stats_json))
        .route("/stats", get(handlers::stats_html))
        .route("/metrics", get(handlers::metrics))
        .route("/health", get(handlers::health))
}

/// The whole application for `shared`, with its layers.
fn app(shared: Arc<Shared>) -> RouterIntoService<Body> {
    let mut router = api().route("/", get(handlers::stats_html));
    if let Some(prefix) = &shared.config.path_prefix {
        router = router.nest(prefix, api().route("/", get(handlers::stats_html)));
    }
    // Any one segment before the API: `/onboarding/...`, tapin's `/<refcode>/...`.
    router = router
        .route(
            "/{segment}/api/v1/accounts",
            post(handlers::create_account).options(handlers::options),
        )
        .route(
            "/{segment}/api/v1/accounts/{name}/status",
            get(handlers::account_status),
        );
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(PREFLIGHT_MAX_AGE);
    router
        .layer(DefaultBodyLimit::max(shared.config.max_body_bytes))
        .layer(cors)
        .with_state(shared)
        .into_service()
}

/// Collapses runs of `/` in the path, keeping the query.
fn collapse_slashes(mut request: Request) -> Request {
    let path = request.uri().path();
    if !path.contains("//") {
        return request;
    }
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    if let Some(q) = request.uri().query() {
        collapsed.push('?');
        collapsed.push_str(q);
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = collapsed.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The application with the path normalisation in front of the router.
pub(crate) type Service = MapRequest<RouterIntoService<Body>, fn(Request) -> Request>;

/// The application for `shared`, ready to serve.
pub(crate) fn service(shared: Arc<Shared>) -> Service {
    app(shared).map_request(collapse_slashes as fn(Request) -> Request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubled_slashes_are_collapsed() {
        let req = Request::builder()
            .uri("/onboarding//api/v1//accounts?x=1")
            .body(Body::empty())
            .unwrap();
        assert_eq!(collapse_slashes(req).uri(), "/onboarding/api/v1/accounts?x=1");
    }
}
