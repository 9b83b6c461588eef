//! The prober's configuration: `probe.toml` as serde reads it ([`RawConfig`]), then checked into
//! a [`ProbeConfig`] whose errors name the key and say what to write instead.
//!
//! Keys are kebab-case, unknown keys are errors, durations are human (`"60s"`, `"14d"`). The
//! command line may override `listen` and `database-url` (file < flags).

use crate::check::Check;
use bts_protocol::ChainId;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// `probe.toml`, field for field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// `region`: where this prober runs (`us`, `asia`); every sample carries it.
    pub region: Option<String>,
    /// `listen`: the status page and `/metrics`.
    pub listen: Option<String>,
    /// `database-url`: `sqlite://FILE?mode=rwc` or `postgres://...` (shared by every region).
    pub database_url: Option<String>,
    /// `title`: the status page's heading.
    pub title: Option<String>,
    /// `interval`: time between rounds of checks.
    pub interval: Option<String>,
    /// `timeout`: the most a check may take.
    pub timeout: Option<String>,
    /// `cert-warn`: a certificate expiring within this is `cert_expiring`.
    pub cert_warn: Option<String>,
    /// `incident-after`: failed rounds in a row that open an incident.
    pub incident_after: Option<u32>,
    /// `ca-file`: PEM roots trusted besides the system's (a private CA, a test CA).
    pub ca_file: Option<PathBuf>,
    /// `[[endpoint]]`: public API endpoints.
    #[serde(default)]
    pub endpoint: Vec<RawEndpoint>,
    /// `[[faucet]]`: faucets.
    #[serde(default)]
    pub faucet: Vec<RawFaucet>,
}

/// One `[[endpoint]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawEndpoint {
    /// `name`: how the page and the metrics call it.
    pub name: Option<String>,
    /// `network`: `mainnet`, `testnet`, ...
    pub network: Option<String>,
    /// `ws`: the WebSocket address wallets use (`wss://` or `ws://`).
    pub ws: Option<String>,
    /// `http`: the HTTP address for one-shot POSTs (`https://` or `http://`).
    pub http: Option<String>,
    /// `chain-id`: the chain the endpoint must serve (hex).
    pub chain_id: Option<String>,
    /// `max-head-age`: a head older than this is `stale_head`.
    pub max_head_age: Option<String>,
    /// `objective`: availability objective over 30 days, in percent (`99.9`).
    pub objective: Option<f64>,
}

/// One `[[faucet]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFaucet {
    /// `name`.
    pub name: Option<String>,
    /// `network`: the chain it registers on.
    pub network: Option<String>,
    /// `url`: its base address, as wallets are given it (`https://example.org/onboarding`).
    pub url: Option<String>,
    /// `objective`: availability objective over 30 days, in percent.
    pub objective: Option<f64>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Where this prober runs.
    pub region: String,
    /// The listener's address (used by the binary; tests bind their own).
    pub listen: SocketAddr,
    /// The history database.
    pub database_url: String,
    /// The status page's heading.
    pub title: String,
    /// Time between rounds.
    pub interval: Duration,
    /// The most one check may take.
    pub timeout: Duration,
    /// A certificate closer than this to its expiry is reported.
    pub cert_warn: Duration,
    /// Failed rounds in a row that open an incident.
    pub incident_after: u32,
    /// Extra trusted roots.
    pub ca_file: Option<PathBuf>,
    /// What is probed.
    pub endpoints: Vec<Endpoint>,
}

/// What one endpoint is and how it is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Its name on the page and in the metrics.
    pub name: String,
    /// Its network.
    pub network: String,
    /// What is checked there.
    pub kind: EndpointKind,
    /// Availability objective over 30 days, as a ratio (0.999).
    pub objective: f64,
}

/// An API endpoint or a faucet.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointKind {
    /// A public API: WebSocket and/or HTTP.
    Api {
        /// `ws://` or `wss://` address.
        ws: Option<String>,
        /// `http://` or `https://` address.
        http: Option<String>,
        /// The chain it must serve.
        chain_id: ChainId,
        /// Oldest acceptable head.
        max_head_age: Duration,
    },
    /// A faucet's base address (without a trailing `/`).
    Faucet {
        /// Base URL.
        url: String,
    },
}

impl Endpoint {
    /// The checks it gets, in the page's order.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks = match &self.kind {
            EndpointKind::Api { ws, http, .. } => {
                let ws = ws.as_ref().map(|_| Check::Ws);
                let http = http.as_ref().map(|_| Check::Http);
                ws.into_iter().chain(http).collect()
            }
            EndpointKind::Faucet { .. } => vec![Check::Faucet],
        };
        if self.uses_tls() {
            checks.push(Check::Tls);
        }
        checks
    }

    /// Whether any of its addresses uses TLS.
    pub fn uses_tls(&self) -> bool {
        match &self.kind {
            EndpointKind::Api { ws, http, .. } => {
                ws.as_deref().is_some_and(|u| u.starts_with("wss://"))
                    || http.as_deref().is_some_and(|u| u.starts_with("https://"))
            }
            EndpointKind::Faucet { url } => url.starts_with("https://"),
        }
    }
}

/// A configuration the prober cannot run with: the key, what is wrong, what to do.
#[derive(Debug, Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    /// The key path, e.g. `endpoint[1].chain-id`.
    pub key: String,
    /// What is wrong and what to write instead.
    pub problem: String,
}

fn error(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The default listener: the status page on every interface.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9300";
/// The default database, next to where the prober runs.
pub const DEFAULT_DATABASE: &str = "sqlite://bts-probe.sqlite?mode=rwc";

impl RawConfig {
    /// Reads TOML text; the error names the line.
    pub fn parse(text: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|e| error("probe.toml", e.to_string()))
    }
}

impl ProbeConfig {
    /// Checks everything, reporting the first problem.
    pub fn build(raw: RawConfig) -> Result<ProbeConfig, ConfigError> {
        let region = raw
            .region
            .ok_or_else(|| error("region", "missing: name where this prober runs, e.g. region = \"us\""))?;
        label("region", &region)?;
        let listen = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen
            .parse()
            .map_err(|_| error("listen", format!("{listen:?} is not IP:PORT, e.g. \"0.0.0.0:9300\"")))?;
        let mut endpoints = Vec::new();
        for (i, e) in raw.endpoint.into_iter().enumerate() {
            endpoints.push(api_endpoint(&format!("endpoint[{i}]"), e)?);
        }
        for (i, f) in raw.faucet.into_iter().enumerate() {
            endpoints.push(faucet_endpoint(&format!("faucet[{i}]"), f)?);
        }
        if endpoints.is_empty() {
            return Err(error(
                "endpoint",
                "nothing to probe: add an [[endpoint]] or a [[faucet]]",
            ));
        }
        for (i, e) in endpoints.iter().enumerate() {
            if endpoints[..i].iter().any(|o| o.name == e.name) {
                return Err(error(
                    "name",
                    format!("{:?} is used twice: names must be unique", e.name),
                ));
            }
        }
        let interval = duration("interval", raw.interval.as_deref(), Duration::from_secs(60))?;
        let timeout = duration("timeout", raw.timeout.as_deref(), Duration::from_secs(10))?;
        if interval.is_zero() || timeout.is_zero() || timeout > interval {
            return Err(error(
                "timeout",
                "must be above zero and at most `interval` (a round must end before the next)",
            ));
        }
        Ok(ProbeConfig {
            region,
            listen,
            database_url: raw.database_url.unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            title: raw.title.unwrap_or_else(|| "BitShares public API status".to_owned()),
            interval,
            timeout,
            cert_warn: duration("cert-warn", raw.cert_warn.as_deref(), Duration::from_secs(14 * 86_400))?,
            incident_after: match raw.incident_after {
                Some(0) => return Err(error("incident-after", "must be at least 1")),
                n => n.unwrap_or(2),
            },
            ca_file: raw.ca_file,
            endpoints,
        })
    }
}

fn api_endpoint(key: &str, raw: RawEndpoint) -> Result<Endpoint, ConfigError> {
    let (name, network) = names(key, raw.name, raw.network)?;
    let ws = raw
        .ws
        .map(|u| url(&format!("{key}.ws"), u, &["ws://", "wss://"]))
        .transpose()?;
    let http = (raw.http)
        .map(|u| url(&format!("{key}.http"), u, &["http://", "https://"]))
        .transpose()?;
    if ws.is_none() && http.is_none() {
        return Err(error(key, "give `ws` (wss://...) or `http` (https://...), or both"));
    }
    let chain_id = raw.chain_id.ok_or_else(|| {
        error(
            format!("{key}.chain-id"),
            "missing: the chain the endpoint must serve (get_chain_id on a node you trust)",
        )
    })?;
    let chain_id = chain_id
        .parse()
        .map_err(|_| error(format!("{key}.chain-id"), "not a chain id: 64 hex digits"))?;
    Ok(Endpoint {
        name,
        network,
        kind: EndpointKind::Api {
            ws,
            http,
            chain_id,
            max_head_age: duration(
                &format!("{key}.max-head-age"),
                raw.max_head_age.as_deref(),
                Duration::from_secs(60),
            )?,
        },
        objective: objective(key, raw.objective)?,
    })
}

fn faucet_endpoint(key: &str, raw: RawFaucet) -> Result<Endpoint, ConfigError> {
    let (name, network) = names(key, raw.name, raw.network)?;
    let u = raw
        .url
        .ok_or_else(|| error(format!("{key}.url"), "missing: the faucet's address as wallets have it"))?;
    let u = url(&format!("{key}.url"), u, &["http://", "https://"])?;
    Ok(Endpoint {
        name,
        network,
        kind: EndpointKind::Faucet {
            url: u.trim_end_matches('/').to_owned(),
        },
        objective: objective(key, raw.objective)?,
    })
}

fn names(key: &str, name: Option<String>, network: Option<String>) -> Result<(String, String), ConfigError> {
    let name = name.ok_or_else(|| error(format!("{key}.name"), "missing: how the page calls it"))?;
    label(&format!("{key}.name"), &name)?;
    let network = network.ok_or_else(|| error(format!("{key}.network"), "missing: e.g. \"mainnet\""))?;
    label(&format!("{key}.network"), &network)?;
    Ok((name, network))
}

/// Names become metric labels and page anchors: short, plain.
fn label(key: &str, value: &str) -> Result<(), ConfigError> {
    let fine = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if fine {
        Ok(())
    } else {
        Err(error(
            key,
            format!("{value:?}: use 1-64 letters, digits, '-', '_' or '.'"),
        ))
    }
}

fn url(key: &str, u: String, schemes: &[&str]) -> Result<String, ConfigError> {
    if schemes.iter().any(|s| u.starts_with(s) && u.len() > s.len()) {
        Ok(u)
    } else {
        Err(error(key, format!("{u:?} must start with {}", schemes.join(" or "))))
    }
}

fn objective(key: &str, percent: Option<f64>) -> Result<f64, ConfigError> {
    let percent = percent.unwrap_or(99.9);
    if percent > 0.0 && percent < 100.0 {
        Ok(percent / 100.0)
    } else {
        Err(error(
            format!("{key}.objective"),
            format!("{percent} is not a percentage below 100 (e.g. 99.9): 100 leaves no error budget"),
        ))
    }
}

fn duration(key: &str, text: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    match text {
        None => Ok(default),
        Some(t) => humantime::parse_duration(t.trim()).map_err(|e| {
            error(
                key,
                format!("{t:?} is not a duration ({e}); write e.g. \"60s\" or \"14d\""),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8";

    fn build(text: &str) -> Result<ProbeConfig, ConfigError> {
        ProbeConfig::build(RawConfig::parse(text)?)
    }

    #[test]
    fn a_full_file_builds_with_defaults_filled_in() {
        let config = build(&format!(
            "region = \"us\"\n[[endpoint]]\nname = \"main\"\nnetwork = \"mainnet\"\nws = \"wss://a.example/ws\"\n\
             chain-id = \"{CHAIN}\"\nobjective = 99.5\n[[faucet]]\nname = \"faucet\"\nnetwork = \"mainnet\"\n\
             url = \"https://a.example/onboarding/\"\n"
        ))
        .expect("valid");
        assert_eq!(config.interval, Duration::from_secs(60));
        assert_eq!(config.cert_warn, Duration::from_secs(14 * 86_400));
        assert_eq!(config.endpoints.len(), 2);
        assert!((config.endpoints[0].objective - 0.995).abs() < 1e-12);
        assert!(config.endpoints[0].uses_tls());
        assert_eq!(
            config.endpoints[1].kind,
            EndpointKind::Faucet {
                url: "https://a.example/onboarding".into()
            }
        );
    }

    #[test]
    fn the_documented_example_builds() {
        let text = include_str!("../../../deploy/examples/probe.toml");
        let config = build(text).expect("deploy/examples/probe.toml");
        assert_eq!(config.region, "us");
        let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["mainnet", "testnet", "faucet"]);
        assert!(matches!(
            &config.endpoints[0].kind,
            EndpointKind::Api { chain_id, .. } if *chain_id == ChainId::MAINNET
        ));
        assert!(matches!(
            &config.endpoints[1].kind,
            EndpointKind::Api { chain_id, .. } if *chain_id == ChainId::TESTNET
        ));
        let checks: Vec<Vec<Check>> = config.endpoints.iter().map(Endpoint::checks).collect();
        assert_eq!(
            checks,
            [
                vec![Check::Ws, Check::Http, Check::Tls],
                vec![Check::Ws, Check::Tls],
                vec![Check::Faucet, Check::Tls]
            ]
        );
    }

    #[test]
    fn errors_name_the_key_and_say_what_to_do() {
        for (text, key, says) in [
            ("", "region", "region = \"us\""),
            ("region = \"us\"", "endpoint", "add an [[endpoint]]"),
            ("region = \"us\"\nintervl = \"1s\"", "probe.toml", "unknown field"),
            (
                "region = \"us\"\n[[endpoint]]\nname = \"a\"\nnetwork = \"m\"\nws = \"https://x\"\nchain-id = \"00\"",
                "endpoint[0].ws",
                "ws:// or wss://",
            ),
            (
                "region = \"us\"\n[[endpoint]]\nname = \"a\"\nnetwork = \"m\"\nws = \"ws://x\"\nchain-id = \"00\"",
                "endpoint[0].chain-id",
                "64 hex digits",
            ),
            (
                "region = \"us\"\n[[faucet]]\nname = \"a b\"\nnetwork = \"m\"\nurl = \"http://x\"",
                "faucet[0].name",
                "letters, digits",
            ),
            (
                "region = \"us\"\n[[faucet]]\nname = \"a\"\nnetwork = \"m\"\nurl = \"http://x\"\nobjective = 100.0",
                "faucet[0].objective",
                "no error budget",
            ),
            (
                "region = \"us\"\ntimeout = \"2m\"\n[[faucet]]\nname = \"a\"\nnetwork = \"m\"\nurl = \"http://x\"",
                "timeout",
                "at most `interval`",
            ),
        ] {
            let e = build(text).expect_err(text);
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.problem.contains(says), "{text}: {e}");
        }
    }
}
