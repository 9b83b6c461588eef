//! `[[http-route]]`: a path prefix forwarded to a plain HTTP service (the faucet), so one TLS
//! endpoint serves the API and the faucet. The request comes whole (the server reads its body
//! within the gateway's limits first), the answer streams through; hop-by-hop
//! headers are dropped; the service learns the client from `X-Forwarded-For` (the chain the
//! trusted proxies gave, plus the peer), `X-Forwarded-Proto` and `X-Forwarded-Host`.
//!
//! A failure is a 502 (the service refused or broke) or 504 (no answer in time) with a JSON body
//! that says which service; it is not retried, because a POST (a registration) may have arrived.

use crate::config::HttpRoute;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The pooled client to HTTP services.
pub struct Forwarder {
    client: Client<HttpConnector, Body>,
}

impl Default for Forwarder {
    fn default() -> Self {
        Forwarder {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build_http(),
        }
    }
}

/// The route a request for `host` (no port, lowercase) and `path` takes: the longest prefix that
/// matches on whole segments among routes for this host or any host.
pub fn route<'a>(routes: &'a [HttpRoute], host: Option<&str>, path: &str) -> Option<&'a HttpRoute> {
    routes
        .iter()
        .filter(|r| r.hosts.is_empty() || host.is_some_and(|h| r.hosts.iter().any(|x| x == h)))
        .filter(|r| {
            path.strip_prefix(r.path_prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        })
        .max_by_key(|r| r.path_prefix.len())
}

/// What the forwarded request carries about its client.
pub struct ClientInfo<'a> {
    /// The `X-Forwarded-For` chain to send.
    pub forwarded_for: &'a str,
    /// Whether the client came over TLS.
    pub https: bool,
}

impl Forwarder {
    /// Sends `request` to the route's service and returns its answer.
    pub async fn forward(
        &self,
        route: &HttpRoute,
        request: Request<Body>,
        client: &ClientInfo<'_>,
        timeout: Duration,
    ) -> Response<Body> {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let path_and_query = match route.strip_prefix {
            true => match &path_and_query[route.path_prefix.len()..] {
                rest if rest.starts_with('/') => rest.to_owned(),
                rest => format!("/{rest}"),
            },
            false => path_and_query.to_owned(),
        };
        parts.uri = match format!("{}{}", route.upstream, path_and_query).parse::<Uri>() {
            Ok(uri) => uri,
            Err(e) => return failure(StatusCode::BAD_REQUEST, &route.path_prefix, &format!("bad path: {e}")),
        };
        strip_hop_by_hop(&mut parts.headers);
        let host = parts.headers.get(header::HOST).cloned();
        let headers = &mut parts.headers;
        if let Ok(v) = HeaderValue::from_str(client.forwarded_for) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), v);
        }
        let proto = HeaderValue::from_static(if client.https { "https" } else { "http" });
        headers.insert(HeaderName::from_static("x-forwarded-proto"), proto);
        if let Some(host) = host {
            headers.insert(HeaderName::from_static("x-forwarded-host"), host);
        }
        let request = Request::from_parts(parts, body);
        match tokio::time::timeout(timeout, self.client.request(request)).await {
            Ok(Ok(answer)) => {
                let (mut parts, body) = answer.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Ok(Err(e)) => failure(StatusCode::BAD_GATEWAY, &route.path_prefix, &e.to_string()),
            Err(_) => failure(StatusCode::GATEWAY_TIMEOUT, &route.path_prefix, "no answer in time"),
        }
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in Connection are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::try_from(n.trim()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
}

fn failure(status: StatusCode, prefix: &str, detail: &str) -> Response<Body> {
    let body = serde_json::json!({
        "error": format!("the service behind {prefix} failed: {detail}"),
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(prefix: &str, hosts: &[&str]) -> HttpRoute {
        HttpRoute {
            path_prefix: prefix.into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            upstream: "http://127.0.0.1:1".into(),
            strip_prefix: false,
        }
    }

    #[test]
    fn routes_on_whole_segments_longest_first() {
        let routes = [
            r("/onboarding", &[]),
            r("/onboarding/v2", &[]),
            r("/faucet", &["a.example.org"]),
        ];
        let pick = |host, path| route(&routes, host, path).map(|r| r.path_prefix.as_str());
        assert_eq!(pick(None, "/onboarding/api/v1/accounts"), Some("/onboarding"));
        assert_eq!(pick(None, "/onboarding"), Some("/onboarding"));
        assert_eq!(pick(None, "/onboarding/v2/x"), Some("/onboarding/v2"));
        assert_eq!(pick(None, "/onboardingx"), None);
        assert_eq!(pick(None, "/faucet/x"), None);
        assert_eq!(pick(Some("a.example.org"), "/faucet/x"), Some("/faucet"));
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret-hop"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::CONTENT_TYPE));
    }
}
