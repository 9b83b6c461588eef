//! Which network a request reaches: by Host header (exact, or `*.domain`), then the longest
//! path prefix at a segment boundary; on a tie, the network that names the host.

use super::NetworkConfig;

/// Routes among `items` whose [`NetworkConfig`] `config` returns: see [`super::GatewayConfig::route`].
pub fn route<'a, T>(
    items: &'a [T],
    config: impl Fn(&T) -> &NetworkConfig,
    host: Option<&str>,
    path: &str,
) -> Option<&'a T> {
    let host = host.map(normalize_host);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let mut best: Option<(&T, (usize, bool))> = None;
    for item in items {
        let network = config(item);
        let named = match (&host, network.hosts.is_empty()) {
            (_, true) => false,
            (Some(h), false) if network.hosts.iter().any(|pattern| host_matches(pattern, h)) => true,
            _ => continue,
        };
        let Some(length) = network
            .paths
            .iter()
            .filter(|p| path_matches(p, path))
            .map(|p| p.len())
            .max()
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(_, score)| (length, named) > *score) {
            best = Some((item, (length, named)));
        }
    }
    best.map(|(item, _)| item)
}

/// A Host header value without port or trailing dot, lowercase.
fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or(host)
    } else {
        host
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

/// `api.example.com` matches itself; `*.example.com` matches any subdomain of example.com.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => host
            .strip_suffix(domain)
            .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => pattern == host,
    }
}

/// A prefix matches at a segment boundary: `/testnet` matches `/testnet` and `/testnet/ws`, not
/// `/testnets`.
fn path_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bts_protocol::ChainId;

    fn network(name: &str, hosts: &[&str], paths: &[&str]) -> NetworkConfig {
        let mut n = NetworkConfig::new(name, ChainId::MAINNET, &["ws://127.0.0.1:1"]).unwrap();
        n.hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
        n.with_paths(paths)
    }

    #[test]
    fn routes_by_host_then_longest_prefix() {
        let nets = [
            network("main", &[], &["/", "/ws"]),
            network("test", &[], &["/testnet"]),
            network("other", &["api.example.com", "*.other.org"], &["/"]),
        ];
        let name = |host: Option<&str>, path: &str| route(&nets, |n| n, host, path).map(|n| n.name.as_str());
        assert_eq!(name(None, "/"), Some("main"));
        assert_eq!(name(None, "/ws"), Some("main"));
        assert_eq!(name(Some("x"), "/testnet"), Some("test"));
        assert_eq!(name(Some("x"), "/testnet/ws?x=1"), Some("test"));
        assert_eq!(name(Some("x"), "/testnets"), Some("main"));
        assert_eq!(name(Some("API.example.com:8080"), "/"), Some("other"));
        assert_eq!(
            name(Some("a.other.org."), "/ws"),
            Some("main"),
            "a longer prefix beats a named host"
        );
        assert_eq!(name(Some("other.org"), "/"), Some("main"));
        assert_eq!(name(Some("[::1]:80"), "/testnet"), Some("test"));
    }

    #[test]
    fn no_route_without_a_matching_network() {
        let nets = [network("only", &["a.example"], &["/x"])];
        assert!(route(&nets, |n| n, Some("b.example"), "/x").is_none());
        assert!(route(&nets, |n| n, Some("a.example"), "/y").is_none());
        assert!(route(&nets, |n| n, None, "/x").is_none());
    }
}
