//! Who the client is: the socket's peer, or the address a trusted proxy in front of us reports.
//!
//! `X-Forwarded-For` is a list each proxy appends its peer to, so only its right end can be
//! trusted: walking from the right, trusted proxies are skipped and the first other address is
//! the client. `X-Real-IP` (one address, nginx's habit) is used when there is no
//! `X-Forwarded-For`. Either header counts only when the socket's peer itself is a trusted proxy;
//! otherwise anyone could pick their own address and dodge the per-IP limits.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// The client's address for limits, geolocation and the header sent to nodes.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_ip(s.trim()))
        .collect();
    if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(ip)) {
        return *ip;
    }
    if let Some(first) = forwarded.first() {
        // Every hop was one of ours: the left-most one is the closest we get to the client.
        return *first;
    }
    headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| parse_ip(s.trim()))
        .unwrap_or(peer)
}

/// An address as proxies write it: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]:443`, `1.2.3.4:80`.
fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sock) = s.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|ip| ip.parse().ok())
}

/// The value for the header the gateway sends to nodes: the incoming `X-Forwarded-For` chain
/// (when the peer is trusted) with the peer appended, as proxies do.
pub fn forwarded_for(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> String {
    let prior = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    if prior.is_empty() || !trusted.iter().any(|net| net.contains(&peer)) {
        peer.to_string()
    } else {
        format!("{prior}, {peer}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn headers_count_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_ip(stranger, &h, &trusted),
            stranger,
            "a stranger cannot pick its address"
        );
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "203.0.113.7");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        // The client claimed 1.1.1.1 itself; 203.0.113.9 is what our own proxy saw.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "203.0.113.9");
        let h = headers(&[("x-real-ip", "[2001:db8::7]:443")]);
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "2001:db8::7");
        let h = headers(&[("x-forwarded-for", "garbage, also garbage")]);
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
    }

    #[test]
    fn forwarded_chain_grows_only_behind_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            forwarded_for("127.0.0.1".parse().unwrap(), &h, &trusted),
            "203.0.113.7, 127.0.0.1"
        );
        assert_eq!(
            forwarded_for("198.51.100.1".parse().unwrap(), &h, &trusted),
            "198.51.100.1"
        );
    }
}
