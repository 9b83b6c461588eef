//! The formats of single values: backend URLs (and the derived other scheme), socket addresses,
//! address ranges, chain ids, and the names that end up in metrics labels, headers and the
//! environment. Each check returns the message that says what would be accepted.

use super::UrlError;
use bts_protocol::ChainId;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The WebSocket and HTTP URLs of a backend, from either.
pub fn backend_urls(url: &str) -> Result<(String, String), UrlError> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        UrlError(format!(
            "expected ws://, wss://, http:// or https://HOST:PORT, got {url:?}"
        ))
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return Err(UrlError(format!(
            "expected a host (and port) after {scheme}://, got {url:?}"
        )));
    }
    let (ws, http) = match scheme.to_ascii_lowercase().as_str() {
        "ws" | "http" => ("ws", "http"),
        "wss" | "https" => ("wss", "https"),
        other => {
            return Err(UrlError(format!(
                "scheme {other:?} is not ws, wss, http or https (a witness_node serves WebSocket and HTTP on one port)"
            )));
        }
    };
    Ok((format!("{ws}://{rest}"), format!("{http}://{rest}")))
}

/// `IP:PORT`, with a hint for the usual mistakes.
pub(crate) fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("expected IP:PORT such as \"0.0.0.0:8080\" or \"[::]:8080\", got {text:?}"))
}

/// A CIDR range or a single address.
pub(super) fn ip_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("expected an address range such as \"10.0.0.0/8\" or an address, got {text:?}"))
}

/// A chain id in hex, or the names `mainnet` and `testnet`.
pub(super) fn chain_id(text: &str) -> Result<ChainId, String> {
    match text.trim() {
        "mainnet" => Ok(ChainId::MAINNET),
        "testnet" => Ok(ChainId::TESTNET),
        hex => hex.parse().map_err(|_| {
            format!(
                "expected 64 hex digits (mainnet is {}), or \"mainnet\" / \"testnet\", got {text:?}",
                ChainId::MAINNET
            )
        }),
    }
}

/// Letters, digits, `-`, `_`, `.`; not empty. Safe as a metrics label and in the status page.
pub(super) fn is_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// An HTTP header name (RFC 9110 token).
pub(super) fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// A portable environment variable name.
pub(super) fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_other_scheme() {
        let pair = |u: &str| backend_urls(u).unwrap();
        assert_eq!(
            pair("ws://10.0.0.1:8090"),
            ("ws://10.0.0.1:8090".into(), "http://10.0.0.1:8090".into())
        );
        assert_eq!(
            pair("https://node.example/ws"),
            ("wss://node.example/ws".into(), "https://node.example/ws".into())
        );
        assert!(backend_urls("tcp://x:1").unwrap_err().0.contains("not ws"));
        assert!(backend_urls("10.0.0.1:8090").is_err());
        assert!(backend_urls("ws:///x").is_err());
    }

    #[test]
    fn chain_ids_by_hex_or_name() {
        assert_eq!(chain_id("mainnet"), Ok(ChainId::MAINNET));
        assert_eq!(chain_id(&ChainId::TESTNET.to_string()), Ok(ChainId::TESTNET));
        assert!(chain_id("4018").unwrap_err().contains("64 hex digits"));
    }
}
