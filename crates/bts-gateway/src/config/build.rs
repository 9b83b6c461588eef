//! From the file's raw structs to the validated configuration: defaults, ranges, formats, and the
//! checks that span several keys (unique names, routes that do not collide, geo regions that exist).
//! Every error names its key path and says what would be accepted.

use super::formats::{chain_id, ip_net, is_env_name, is_header_name, is_label, socket_addr};
use super::raw::{RawBackend, RawConfig, RawGeo, RawHealth, RawLimits, RawNetwork, RawServer};
use super::{
    AdminSettings, BackendConfig, CacheSettings, ConfigError, GatewayConfig, GeoConfig, HealthSettings, Limits,
    NetworkConfig, Selection, ServerSettings,
};
use std::time::Duration;

/// Where the text came from, for error messages.
pub(super) struct Ctx<'a> {
    pub(super) origin: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// A whole number in `min..=max`, or `default` when absent.
    pub(super) fn int(
        &self,
        key: &str,
        value: Option<i64>,
        default: u32,
        min: u32,
        max: u32,
    ) -> Result<u32, ConfigError> {
        let Some(v) = value else { return Ok(default) };
        u32::try_from(v)
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| self.err(key, format!("expected a whole number from {min} to {max}, got {v}")))
    }

    /// A positive human duration (`"1.5s"`, `"500ms"`), or `default` when absent.
    pub(super) fn duration(&self, key: &str, value: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
        let Some(text) = value else { return Ok(default) };
        match humantime::parse_duration(text.trim()) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(self.err(key, "must be longer than zero")),
            Err(e) => Err(self.err(
                key,
                format!("expected a duration such as \"1.5s\" or \"500ms\", got {text:?} ({e})"),
            )),
        }
    }
}

/// Validates the whole file.
pub(super) fn config(raw: RawConfig, origin: &str) -> Result<GatewayConfig, ConfigError> {
    let ctx = Ctx { origin };
    // Sections in file order, so the first mistake reported is the first one in the file.
    let server = server(&ctx, raw.server)?;
    let limits = limits(&ctx, raw.limits)?;
    let cache = CacheSettings {
        enabled: raw.cache.enabled.unwrap_or(true),
        max_entries: ctx.int("cache.max-entries", raw.cache.max_entries, 10_000, 0, 10_000_000)? as usize,
    };
    let admin = admin(&ctx, raw.admin.token_env)?;
    let health = health(&ctx, raw.health)?;
    let networks = raw
        .network
        .into_iter()
        .enumerate()
        .map(|(i, n)| network(&ctx, i, n))
        .collect::<Result<Vec<_>, _>>()?;
    check_networks(&networks, origin)?;
    let tls = raw.tls.map(|t| super::tls::tls(&ctx, t)).transpose()?;
    let http_routes = super::tls::http_routes(&ctx, raw.http_route, &networks)?;
    Ok(GatewayConfig {
        server,
        limits,
        cache,
        admin,
        health,
        networks,
        tls,
        http_routes,
    })
}

fn admin(ctx: &Ctx<'_>, token_env: Option<String>) -> Result<AdminSettings, ConfigError> {
    match token_env {
        None => Ok(AdminSettings::default()),
        Some(v) if is_env_name(&v) => Ok(AdminSettings { token_env: v }),
        Some(v) => Err(ctx.err(
            "admin.token-env",
            format!("expected an environment variable name such as BTS_GATEWAY_ADMIN_TOKEN, got {v:?}"),
        )),
    }
}

fn server(ctx: &Ctx<'_>, raw: RawServer) -> Result<ServerSettings, ConfigError> {
    let defaults = ServerSettings::default();
    let listen = match raw.listen {
        None => defaults.listen,
        Some(v) => socket_addr(&v).map_err(|m| ctx.err("server.listen", m))?,
    };
    let trusted_proxies = match raw.trusted_proxies {
        None => defaults.trusted_proxies,
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, v)| ip_net(v).map_err(|m| ctx.err(format!("server.trusted-proxies[{i}]"), m)))
            .collect::<Result<_, _>>()?,
    };
    let forward_client_ip_header = match raw.forward_client_ip_header {
        None => defaults.forward_client_ip_header,
        Some(v) if v.is_empty() => None,
        Some(v) if is_header_name(&v) => Some(v),
        Some(v) => {
            return Err(ctx.err(
                "server.forward-client-ip-header",
                format!("expected an HTTP header name such as X-Forwarded-For (or \"\" for none), got {v:?}"),
            ));
        }
    };
    Ok(ServerSettings {
        listen,
        trusted_proxies,
        forward_client_ip_header,
        listen_backlog: ctx.int(
            "server.listen-backlog",
            raw.listen_backlog,
            defaults.listen_backlog,
            1,
            65_535,
        )?,
    })
}

fn limits(ctx: &Ctx<'_>, raw: RawLimits) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let limits = Limits {
        requests_per_second_per_ip: ctx.int(
            "limits.requests-per-second-per-ip",
            raw.requests_per_second_per_ip,
            d.requests_per_second_per_ip,
            1,
            1_000_000,
        )?,
        burst: ctx.int("limits.burst", raw.burst, d.burst, 1, 1_000_000)?,
        ws_connections_per_ip: ctx.int(
            "limits.ws-connections-per-ip",
            raw.ws_connections_per_ip,
            d.ws_connections_per_ip,
            1,
            1_000_000,
        )?,
        ws_connections_total: ctx.int(
            "limits.ws-connections-total",
            raw.ws_connections_total,
            d.ws_connections_total,
            1,
            10_000_000,
        )?,
        max_message_bytes: ctx.int(
            "limits.max-message-bytes",
            raw.max_message_bytes,
            d.max_message_bytes as u32,
            1024,
            1 << 30,
        )? as usize,
        request_timeout: ctx.duration(
            "limits.request-timeout",
            raw.request_timeout.as_deref(),
            d.request_timeout,
        )?,
        header_read_timeout: ctx.duration(
            "limits.header-read-timeout",
            raw.header_read_timeout.as_deref(),
            d.header_read_timeout,
        )?,
        body_read_timeout: ctx.duration(
            "limits.body-read-timeout",
            raw.body_read_timeout.as_deref(),
            d.body_read_timeout,
        )?,
        max_batch_length: ctx.int(
            "limits.max-batch-length",
            raw.max_batch_length,
            d.max_batch_length as u32,
            1,
            100_000,
        )? as usize,
    };
    if limits.ws_connections_per_ip > limits.ws_connections_total {
        return Err(ctx.err(
            "limits.ws-connections-per-ip",
            format!(
                "{} is more than limits.ws-connections-total ({}); lower it or raise the total",
                limits.ws_connections_per_ip, limits.ws_connections_total
            ),
        ));
    }
    Ok(limits)
}

fn health(ctx: &Ctx<'_>, raw: RawHealth) -> Result<HealthSettings, ConfigError> {
    let d = HealthSettings::default();
    let stall_after = match raw.stall_after.as_deref() {
        None => None,
        Some(v) => Some(ctx.duration("health.stall-after", Some(v), Duration::ZERO)?),
    };
    Ok(HealthSettings {
        interval: ctx.duration("health.interval", raw.interval.as_deref(), d.interval)?,
        timeout: ctx.duration("health.timeout", raw.timeout.as_deref(), d.timeout)?,
        max_lag_blocks: ctx.int(
            "health.max-lag-blocks",
            raw.max_lag_blocks,
            d.max_lag_blocks,
            1,
            100_000,
        )?,
        fail_threshold: ctx.int("health.fail-threshold", raw.fail_threshold, d.fail_threshold, 1, 1000)?,
        success_threshold: ctx.int(
            "health.success-threshold",
            raw.success_threshold,
            d.success_threshold,
            1,
            1000,
        )?,
        stall_after,
    })
}

fn network(ctx: &Ctx<'_>, i: usize, raw: RawNetwork) -> Result<NetworkConfig, ConfigError> {
    let key = |k: &str| format!("network[{i}].{k}");
    let name = raw.name.ok_or_else(|| {
        ctx.err(
            key("name"),
            "missing: give the network a short name such as \"mainnet\"",
        )
    })?;
    let chain_id = match raw.chain_id {
        None => {
            return Err(ctx.err(
                key("chain-id"),
                "missing: the 64-hex-digit chain id its nodes must serve",
            ));
        }
        Some(v) => chain_id(&v).map_err(|m| ctx.err(key("chain-id"), m))?,
    };
    let selection = match raw.selection.as_deref() {
        None => Selection::Latency,
        Some("round-robin") => Selection::RoundRobin,
        Some("latency") => Selection::Latency,
        Some("geo") => Selection::Geo,
        Some(other) => {
            return Err(ctx.err(
                key("selection"),
                format!("expected \"round-robin\", \"latency\" or \"geo\", got {other:?}"),
            ));
        }
    };
    let backends = raw
        .backend
        .into_iter()
        .enumerate()
        .map(|(j, b)| backend(ctx, &key(&format!("backend[{j}]")), b))
        .collect::<Result<Vec<_>, _>>()?;
    let network = NetworkConfig {
        name,
        chain_id,
        hosts: raw
            .hosts
            .iter()
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        paths: raw.paths.unwrap_or_else(|| vec!["/".into()]),
        selection,
        deny_methods: raw.deny_methods,
        geo: raw.geo.map(|g| geo(ctx, &key("geo"), g)).transpose()?,
        backends,
    };
    check_network(&network, ctx.origin, &format!("network[{i}]"))?;
    Ok(network)
}

fn geo(ctx: &Ctx<'_>, key: &str, raw: RawGeo) -> Result<GeoConfig, ConfigError> {
    let database = raw.database.filter(|d| !d.is_empty()).ok_or_else(|| {
        ctx.err(
            format!("{key}.database"),
            "missing: the path of a MaxMind-format country database (GeoLite2-Country.mmdb)",
        )
    })?;
    Ok(GeoConfig {
        database: database.into(),
        prefer: raw.prefer,
    })
}

fn backend(ctx: &Ctx<'_>, key: &str, raw: RawBackend) -> Result<BackendConfig, ConfigError> {
    let url = raw.url.ok_or_else(|| {
        ctx.err(
            format!("{key}.url"),
            "missing: the node's URL, e.g. \"ws://10.0.0.1:8090\"",
        )
    })?;
    let mut backend = BackendConfig::new(&url).map_err(|e| ctx.err(format!("{key}.url"), e.0))?;
    if let Some(region) = raw.region {
        backend.region = region;
    }
    backend.weight = ctx.int(&format!("{key}.weight"), raw.weight, 1, 1, 100)?;
    backend.http_keep_alive = raw.http_keep_alive.unwrap_or(false);
    Ok(backend)
}

/// The checks of one network that do not depend on the others. `key` is its key path.
pub(super) fn check_network(n: &NetworkConfig, origin: &str, key: &str) -> Result<(), ConfigError> {
    let ctx = Ctx { origin };
    if !is_label(&n.name) {
        return Err(ctx.err(
            format!("{key}.name"),
            format!(
                "expected letters, digits, '-', '_' or '.' (it is a metrics label), got {:?}",
                n.name
            ),
        ));
    }
    if n.backends.is_empty() {
        return Err(ctx.err(
            format!("{key}.backend"),
            "no backend: add a [[network.backend]] with the url of a node serving this chain",
        ));
    }
    check_backends(n, &ctx, key)?;
    if n.paths.is_empty() {
        return Err(ctx.err(
            format!("{key}.paths"),
            "empty: give at least one path prefix such as \"/\"",
        ));
    }
    for (j, p) in n.paths.iter().enumerate() {
        if !p.starts_with('/') || p.contains(['?', '#', ' ']) {
            return Err(ctx.err(
                format!("{key}.paths[{j}]"),
                format!("expected a path prefix starting with '/', such as \"/testnet\", got {p:?}"),
            ));
        }
    }
    for (j, h) in n.hosts.iter().enumerate() {
        if h.is_empty() || h.contains(['/', ' ', ':']) {
            return Err(ctx.err(
                format!("{key}.hosts[{j}]"),
                format!("expected a host name without scheme or port, such as \"api.example.com\", got {h:?}"),
            ));
        }
    }
    if let Some(j) = n.deny_methods.iter().position(|m| m.trim().is_empty()) {
        return Err(ctx.err(format!("{key}.deny-methods[{j}]"), "empty method name"));
    }
    check_geo(n, &ctx, key)
}

/// Regions are short names; a URL is listed once.
fn check_backends(n: &NetworkConfig, ctx: &Ctx<'_>, key: &str) -> Result<(), ConfigError> {
    for (j, b) in n.backends.iter().enumerate() {
        if !is_label(&b.region) {
            return Err(ctx.err(
                format!("{key}.backend[{j}].region"),
                format!("expected a short name such as \"us\" or \"asia\", got {:?}", b.region),
            ));
        }
        if n.backends[..j].iter().any(|o| o.ws_url == b.ws_url) {
            return Err(ctx.err(
                format!("{key}.backend[{j}].url"),
                format!(
                    "{} is listed twice; remove one (use weight to send it more traffic)",
                    b.url
                ),
            ));
        }
    }
    Ok(())
}

/// `selection = "geo"` needs `[network.geo]`, and its regions must exist.
fn check_geo(n: &NetworkConfig, ctx: &Ctx<'_>, key: &str) -> Result<(), ConfigError> {
    let Some(geo) = &n.geo else {
        return match n.selection {
            Selection::Geo => Err(ctx.err(
                format!("{key}.geo"),
                "selection = \"geo\" needs a [network.geo] table with database and prefer",
            )),
            _ => Ok(()),
        };
    };
    if n.selection != Selection::Geo {
        return Err(ctx.err(
            format!("{key}.geo"),
            format!(
                "only used with selection = \"geo\" (this network uses {:?}); remove it or change selection",
                n.selection.as_str()
            ),
        ));
    }
    let regions = n.regions();
    for (code, list) in &geo.prefer {
        let valid_code = code == "*" || (code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()));
        if !valid_code {
            return Err(ctx.err(
                format!("{key}.geo.prefer.{code}"),
                "expected a two-letter country (US) or continent (AS) code in capitals, or \"*\"",
            ));
        }
        if let Some(unknown) = list.iter().find(|r| !regions.contains(&r.as_str())) {
            return Err(ctx.err(
                format!("{key}.geo.prefer.{code}"),
                format!(
                    "region {unknown:?} has no backend; known regions: {}",
                    regions.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Checks across networks: at least one, unique names, and no two networks for the same host and
/// path (the second would never be reached).
pub(super) fn check_networks(networks: &[NetworkConfig], origin: &str) -> Result<(), ConfigError> {
    let ctx = Ctx { origin };
    if networks.is_empty() {
        return Err(ctx.err(
            "network",
            "no [[network]]: add one with name, chain-id and at least one [[network.backend]]",
        ));
    }
    for (i, n) in networks.iter().enumerate() {
        if let Some(first) = networks[..i].iter().find(|o| o.name == n.name) {
            return Err(ctx.err(format!("network[{i}].name"), format!("{:?} is used twice", first.name)));
        }
        for (j, path) in n.paths.iter().enumerate() {
            let clash = networks[..i].iter().find(|o| {
                let hosts_overlap =
                    (o.hosts.is_empty() && n.hosts.is_empty()) || o.hosts.iter().any(|h| n.hosts.contains(h));
                hosts_overlap
                    && o.paths
                        .iter()
                        .any(|p| p.trim_end_matches('/') == path.trim_end_matches('/'))
            });
            if let Some(other) = clash {
                return Err(ctx.err(
                    format!("network[{i}].paths[{j}]"),
                    format!(
                        "{path:?} is already routed to network {:?} for the same hosts; give one of them \
                         other paths or hosts",
                        other.name
                    ),
                ));
            }
        }
    }
    Ok(())
}
