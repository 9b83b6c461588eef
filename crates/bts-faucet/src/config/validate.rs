//! Checking each raw value: what makes it valid, and the error (naming the key) when it is not.

use super::{
    ClientIpHeader, ConfigError, DEFAULT_DATABASE_URL, DEFAULT_LISTEN, FaucetConfig, Limits, ProxyConfig, Timeouts,
    UnknownReferrer, invalid, raw,
};
use bts_protocol::{ChainId, Prefix};
use ipnet::IpNet;
use std::net::SocketAddr;
use std::time::Duration;

pub(super) fn required(value: Option<String>, key: &str, what: &str) -> Result<String, ConfigError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| invalid(key, format!("missing: set {what}")))
}

pub(super) fn parse_prefix(prefix: Option<String>, chain_id: ChainId) -> Result<Prefix, ConfigError> {
    let known = chain_id.known_prefix();
    let prefix = match (prefix, known) {
        (Some(p), _) => p
            .trim()
            .parse::<Prefix>()
            .map_err(|e| invalid("chain.prefix", e.to_string()))?,
        (None, Some(p)) => p,
        (None, None) => {
            return Err(invalid(
                "chain.prefix",
                "missing: set the chain's address prefix, e.g. TEST",
            ));
        }
    };
    match known {
        Some(k) if k != prefix => Err(invalid(
            "chain.prefix",
            format!("{prefix} does not go with chain.id {chain_id}, whose prefix is {k}"),
        )),
        _ => Ok(prefix),
    }
}

pub(super) fn parse_nodes(nodes: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let nodes = nodes.unwrap_or_default();
    if nodes.is_empty() {
        return Err(invalid(
            "chain.nodes",
            "missing: list at least one node URL, e.g. [\"http://127.0.0.1:8090\"] (the gateway, or nodes to fail over between)",
        ));
    }
    for (i, url) in nodes.iter().enumerate() {
        let key = format!("chain.nodes[{i}]");
        if url.starts_with("https://") || url.starts_with("wss://") {
            return Err(invalid(
                &key,
                "TLS to nodes is not supported yet: run the faucet next to the gateway or a node and use http:// or ws://",
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("ws://")) {
            return Err(invalid(&key, format!("{url:?} is not an http:// or ws:// URL")));
        }
    }
    Ok(nodes)
}

/// The database URL from `database-url` or the file `database-url-file` names (one of them).
pub(super) fn database_url(url: Option<String>, file: Option<&std::path::Path>) -> Result<Option<String>, ConfigError> {
    match (url, file) {
        (Some(_), Some(_)) => Err(invalid(
            "database-url-file",
            "database-url is given too: keep one of them (the file for a URL with a password)",
        )),
        (url, None) => Ok(url),
        (None, Some(file)) => match std::fs::read_to_string(file) {
            Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_owned())),
            // The file's content is a secret: the message names the file only.
            Ok(_) => Err(invalid(
                "database-url-file",
                format!("{} is empty: write the database URL in it", file.display()),
            )),
            Err(e) => Err(invalid(
                "database-url-file",
                format!("cannot read {}: {e}", file.display()),
            )),
        },
    }
}

pub(super) fn parse_database_url(url: Option<String>) -> Result<String, ConfigError> {
    let url = url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    let ok = ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|s| url.starts_with(s));
    if ok {
        Ok(url)
    } else {
        Err(invalid(
            "database-url",
            "use sqlite://PATH (a file, created if missing) or postgres://USER:PASSWORD@HOST/DATABASE",
        ))
    }
}

pub(super) fn parse_listen(listen: Option<String>) -> Result<SocketAddr, ConfigError> {
    let text = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    text.trim().parse().map_err(|_| {
        invalid(
            "listen",
            format!("{text:?} is not an address: write IP:PORT, e.g. 127.0.0.1:8080"),
        )
    })
}

/// `/onboarding/` → `Some("/onboarding")`; `""` and `/` → `None`.
pub(crate) fn parse_path_prefix(prefix: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(p) = prefix else { return Ok(None) };
    let trimmed = p.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    let ok = trimmed.starts_with('/')
        && trimmed[1..]
            .split('/')
            .all(|seg| !seg.is_empty() && seg.chars().all(ok_char));
    // The faucet's own routes start with these; a prefix among them would shadow them.
    let first = trimmed[1..].split('/').next().unwrap_or("");
    if ok && ["api", "stats", "metrics", "health"].contains(&first) {
        return Err(invalid(
            "path-prefix",
            format!(
                "{p:?} starts like one of the faucet's own routes (/api, /stats, /metrics, /health): choose e.g. /onboarding"
            ),
        ));
    }
    if ok {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(invalid(
            "path-prefix",
            format!("{p:?} is not a path prefix: write e.g. /onboarding (letters, digits, - . _ ~ and slashes)"),
        ))
    }
}

pub(super) fn apply_registrar(config: &mut FaucetConfig, raw: &raw::RawRegistrar) -> Result<(), ConfigError> {
    if let Some(p) = raw.referrer_percent {
        if p > bts_protocol::operation::PERCENT_100 {
            return Err(invalid(
                "registrar.referrer-percent",
                format!("{p} is more than 10000 (100%): the unit is a hundredth of a percent, 7000 = 70%"),
            ));
        }
        config.referrer_percent = p;
    }
    if let Some(n) = raw.low_balance_registrations {
        config.low_balance_registrations = n;
    }
    config.unknown_referrer = match raw.unknown_referrer.as_deref() {
        None | Some("registrar") => UnknownReferrer::UseRegistrar,
        Some("reject") => UnknownReferrer::Reject,
        Some(other) => {
            return Err(invalid(
                "registrar.unknown-referrer",
                format!("{other:?}: write \"registrar\" (register with the registrar as referrer) or \"reject\""),
            ));
        }
    };
    Ok(())
}

pub(super) fn parse_limits(raw: &raw::RawLimits) -> Limits {
    let d = Limits::default();
    // Zero turns a limit off: "0s" between accounts, or no cap.
    Limits {
        ip_interval: raw
            .ip_interval
            .map_or(d.ip_interval, |v| Some(v).filter(|v| !v.is_zero())),
        ip_per_day: raw.ip_per_day.map_or(d.ip_per_day, |v| Some(v).filter(|v| *v > 0)),
        global_per_hour: raw
            .global_per_hour
            .map_or(d.global_per_hour, |v| Some(v).filter(|v| *v > 0)),
    }
}

pub(super) fn parse_proxy(raw: raw::RawProxy) -> Result<ProxyConfig, ConfigError> {
    let mut trusted = Vec::new();
    for (i, net) in raw.trusted.unwrap_or_default().iter().enumerate() {
        let text = net.trim();
        // A bare address is a one-address network.
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
        trusted.push(parsed.map_err(|_| {
            invalid(
                &format!("proxy.trusted[{i}]"),
                format!("{text:?} is not a network: write e.g. 10.0.0.0/8 or 127.0.0.1"),
            )
        })?);
    }
    let header = match raw.client_ip_header.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("x-forwarded-for") => ClientIpHeader::XForwardedFor,
        Some("x-real-ip") => ClientIpHeader::XRealIp,
        Some("cf-connecting-ip") => ClientIpHeader::CfConnectingIp,
        Some(other) => {
            return Err(invalid(
                "proxy.client-ip-header",
                format!("{other:?}: write x-forwarded-for, x-real-ip or cf-connecting-ip"),
            ));
        }
    };
    Ok(ProxyConfig { trusted, header })
}

pub(super) fn parse_timeouts(raw: &raw::RawTimeouts) -> Result<Timeouts, ConfigError> {
    let d = Timeouts::default();
    let t = Timeouts {
        node: raw.node.unwrap_or(d.node),
        broadcast: raw.broadcast.unwrap_or(d.broadcast),
        transaction_expiration: raw.transaction_expiration.unwrap_or(d.transaction_expiration),
        reconcile_interval: raw.reconcile_interval.unwrap_or(d.reconcile_interval),
    };
    let at_least = |key: &str, v: Duration, min: Duration| {
        if v < min {
            Err(invalid(key, format!("{v:?} is too short: at least {min:?}")))
        } else {
            Ok(())
        }
    };
    at_least("timeouts.node", t.node, Duration::from_millis(100))?;
    at_least("timeouts.broadcast", t.broadcast, Duration::from_secs(1))?;
    at_least(
        "timeouts.transaction-expiration",
        t.transaction_expiration,
        Duration::from_secs(10),
    )?;
    at_least(
        "timeouts.reconcile-interval",
        t.reconcile_interval,
        Duration::from_secs(1),
    )?;
    if t.transaction_expiration > Duration::from_secs(86_400) {
        return Err(invalid(
            "timeouts.transaction-expiration",
            "more than a day: the chain refuses transactions expiring later (maximum_time_until_expiration)",
        ));
    }
    Ok(t)
}
