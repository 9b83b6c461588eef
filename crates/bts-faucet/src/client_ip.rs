//! Who is asking: the client's address behind trusted reverse proxies, and the key the rate
//! limits count it under.
//!
//! A proxy's header is believed only when the TCP peer is a trusted proxy; otherwise anyone could
//! write `X-Forwarded-For: <random>` and register without limits. With `X-Forwarded-For`, each
//! trusted proxy appends the address it saw, so the header is read from the right: skip trusted
//! hops, and the first untrusted address is the client.

use crate::config::{ClientIpHeader, ProxyConfig};
use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The client's address, given the TCP peer and the request headers.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxy: &ProxyConfig) -> IpAddr {
    let peer = peer.to_canonical();
    let trusted = |ip: &IpAddr| proxy.trusted.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let mut values = headers
        .get_all(proxy.header.name())
        .iter()
        .filter_map(|v| v.to_str().ok());
    match proxy.header {
        ClientIpHeader::XForwardedFor => {
            // Several header lines are one list, in order.
            let hops: Vec<&str> = values.flat_map(|v| v.split(',')).collect();
            let mut client = peer;
            for hop in hops.iter().rev() {
                if !trusted(&client) {
                    break;
                }
                match parse_hop(hop) {
                    Some(ip) => client = ip,
                    // Junk was written by the client itself: the hop the proxy saw is the client.
                    None => break,
                }
            }
            client
        }
        ClientIpHeader::XRealIp | ClientIpHeader::CfConnectingIp => {
            values.next_back().and_then(parse_hop).unwrap_or(peer)
        }
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The rate-limit key of an address: IPv4 as is; IPv6 as its /64 network, because one
/// subscriber usually has a whole /64 and could otherwise register once per address.
pub fn limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxy(trusted: &[&str], header: ClientIpHeader) -> ProxyConfig {
        ProxyConfig {
            trusted: trusted.iter().map(|n| n.parse().unwrap()).collect(),
            header,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_only_from_trusted_peers() {
        let p = proxy(&["10.0.0.0/8", "127.0.0.1/32"], ClientIpHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.2")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &p), ip("1.2.3.4"));
        // An untrusted peer's header is ignored.
        assert_eq!(client_ip(ip("5.5.5.5"), &h, &p), ip("5.5.5.5"));
        // Several header lines form one list.
        let h = headers(&[("x-forwarded-for", "7.7.7.7"), ("x-forwarded-for", "10.0.0.3")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &p), ip("7.7.7.7"));
        // Junk from the client stops the walk at the last address a proxy wrote.
        let h = headers(&[("x-forwarded-for", "not-an-ip, 8.8.8.8:1234")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &p), ip("8.8.8.8"));
        // All hops trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.2.2.2")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &p), ip("10.1.1.1"));
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.1"), &HeaderMap::new(), &p), ip("10.0.0.1"));
    }

    #[test]
    fn single_value_headers_and_mapped_addresses() {
        let p = proxy(&["::1/128"], ClientIpHeader::XRealIp);
        let h = headers(&[("x-real-ip", "[2001:db8::7]:443")]);
        assert_eq!(client_ip(ip("::1"), &h, &p), ip("2001:db8::7"));
        let p = proxy(&["127.0.0.1/32"], ClientIpHeader::CfConnectingIp);
        let h = headers(&[("cf-connecting-ip", "::ffff:1.2.3.4")]);
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &h, &p), ip("1.2.3.4"));
    }

    #[test]
    fn ipv6_counts_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("::ffff:1.2.3.4")), "1.2.3.4");
    }
}
