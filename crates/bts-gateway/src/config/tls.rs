//! Validation of `[tls]` (listeners, HSTS, certificate files, `[tls.acme]`) and of
//! `[[http-route]]`. Every error names its key path and says what to write.

use super::build::Ctx;
use super::formats::{is_env_name, socket_addr};
use super::raw::{RawAcme, RawHttpRoute, RawTls};
use super::{ConfigError, HttpRoute, NetworkConfig, TlsConfig};
use bts_tls::settings::{check_domain, directory_url};
use bts_tls::{AcmeSettings, Challenge, Eab, FileCert, TlsSettings};
use std::path::PathBuf;
use std::time::Duration;

/// Where ACME state lives unless `state-dir` says otherwise.
const DEFAULT_STATE_DIR: &str = "/var/lib/bts-infra/acme";

pub(super) fn tls(ctx: &Ctx<'_>, raw: RawTls) -> Result<TlsConfig, ConfigError> {
    let addr = |key: &str, v: &str| socket_addr(v).map_err(|m| ctx.err(key, m));
    let listen = match &raw.listen {
        None => std::net::SocketAddr::from(([0, 0, 0, 0], 443)),
        Some(v) => addr("tls.listen", v)?,
    };
    let redirect_listen = raw
        .redirect_listen
        .as_deref()
        .map(|v| addr("tls.redirect-listen", v))
        .transpose()?;
    let public_port = raw
        .public_port
        .map(|p| ctx.int("tls.public-port", Some(p), 443, 1, 65535))
        .transpose()?
        .map(|p| p as u16);
    let hsts = match raw.hsts.as_deref() {
        None | Some("off") => None,
        Some(v) => Some(ctx.duration("tls.hsts", Some(v), Duration::ZERO)?),
    };
    let reload_interval = ctx.duration(
        "tls.reload-interval",
        raw.reload_interval.as_deref(),
        Duration::from_secs(30),
    )?;
    let mut files = Vec::new();
    for (i, c) in raw.certificate.into_iter().enumerate() {
        let key = |k: &str| format!("tls.certificate[{i}].{k}");
        let cert = c
            .cert
            .ok_or_else(|| ctx.err(key("cert"), "give the certificate chain file (fullchain.pem)"))?;
        let pkey = c
            .key
            .ok_or_else(|| ctx.err(key("key"), "give the private key file (privkey.pem)"))?;
        files.push(FileCert {
            cert: PathBuf::from(cert),
            key: PathBuf::from(pkey),
        });
    }
    let acme = raw.acme.map(|a| acme(ctx, a, redirect_listen.is_some())).transpose()?;
    if files.is_empty() && acme.is_none() {
        return Err(ctx.err(
            "tls",
            "no certificate: add [[tls.certificate]] with cert and key files, or a [tls.acme] section",
        ));
    }
    Ok(TlsConfig {
        listen,
        redirect_listen,
        public_port,
        hsts,
        hsts_include_subdomains: raw.hsts_include_subdomains.unwrap_or(false),
        certificates: TlsSettings {
            files,
            acme,
            reload_interval,
        },
    })
}

/// A duration that may be zero.
fn duration_or_zero(ctx: &Ctx<'_>, key: &str, value: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    match value.map(str::trim) {
        Some("0" | "0s") => Ok(Duration::ZERO),
        v => ctx.duration(key, v, default),
    }
}

fn acme(ctx: &Ctx<'_>, raw: RawAcme, has_http_listener: bool) -> Result<AcmeSettings, ConfigError> {
    let directory = directory_url(raw.directory.as_deref().unwrap_or("letsencrypt"))
        .map_err(|m| ctx.err("tls.acme.directory", m))?;
    let domains = raw.domains.unwrap_or_default();
    if domains.is_empty() {
        return Err(ctx.err(
            "tls.acme.domains",
            "name the certificate's domains, e.g. [\"api.example.org\"]",
        ));
    }
    for (i, d) in domains.iter().enumerate() {
        check_domain(d).map_err(|m| ctx.err(format!("tls.acme.domains[{i}]"), m))?;
        if domains[..i].contains(d) {
            return Err(ctx.err(format!("tls.acme.domains[{i}]"), format!("{d:?} is listed twice")));
        }
    }
    let contact = raw.contact.unwrap_or_default();
    for (i, c) in contact.iter().enumerate() {
        if !c.starts_with("mailto:") || c.len() <= "mailto:".len() {
            return Err(ctx.err(
                format!("tls.acme.contact[{i}]"),
                format!("expected mailto:address, got {c:?}"),
            ));
        }
    }
    let challenge = match raw.challenge.as_deref() {
        None => Challenge::TlsAlpn01,
        Some(c) => Challenge::parse(c).ok_or_else(|| {
            ctx.err(
                "tls.acme.challenge",
                format!("expected tls-alpn-01, http-01 or dns-01, got {c:?}"),
            )
        })?,
    };
    if challenge == Challenge::Http01 && !has_http_listener {
        return Err(ctx.err(
            "tls.acme.challenge",
            "http-01 is answered on port 80: set tls.redirect-listen (e.g. \"0.0.0.0:80\"), or use tls-alpn-01",
        ));
    }
    let dns_hook = raw.dns_hook.map(PathBuf::from);
    let wildcard = domains.iter().find(|d| d.starts_with("*."));
    if dns_hook.is_none() && (challenge == Challenge::Dns01 || wildcard.is_some()) {
        let why = wildcard.map_or("dns-01".to_owned(), |w| format!("{w} (a wildcard needs dns-01)"));
        return Err(ctx.err(
            "tls.acme.dns-hook",
            format!("{why}: give a command that publishes TXT records (see docs/tls.md)"),
        ));
    }
    let eab = match (raw.eab_kid, raw.eab_hmac_key_env) {
        (None, None) => None,
        (None, Some(_)) => return Err(ctx.err("tls.acme.eab-kid", "give the key id that goes with the EAB HMAC key")),
        (Some(kid), env) => {
            let env = env.unwrap_or_else(|| "BTS_ACME_EAB_HMAC_KEY".into());
            if !is_env_name(&env) {
                return Err(ctx.err(
                    "tls.acme.eab-hmac-key-env",
                    format!("expected an environment variable name, got {env:?}"),
                ));
            }
            Some(Eab { kid, hmac_key_env: env })
        }
    };
    let day = Duration::from_secs(86_400);
    Ok(AcmeSettings {
        directory,
        directory_ca: raw.directory_ca.map(PathBuf::from),
        contact,
        domains,
        challenge,
        dns_hook,
        dns_wait: duration_or_zero(
            ctx,
            "tls.acme.dns-wait",
            raw.dns_wait.as_deref(),
            Duration::from_secs(30),
        )?,
        state_dir: PathBuf::from(raw.state_dir.unwrap_or_else(|| DEFAULT_STATE_DIR.into())),
        renew_before: ctx.duration("tls.acme.renew-before", raw.renew_before.as_deref(), day * 30)?,
        retry_initial: ctx.duration(
            "tls.acme.retry-initial",
            raw.retry_initial.as_deref(),
            Duration::from_secs(300),
        )?,
        retry_max: ctx.duration(
            "tls.acme.retry-max",
            raw.retry_max.as_deref(),
            Duration::from_secs(6 * 3600),
        )?,
        eab,
    })
}

pub(super) fn http_routes(
    ctx: &Ctx<'_>,
    raw: Vec<RawHttpRoute>,
    networks: &[NetworkConfig],
) -> Result<Vec<HttpRoute>, ConfigError> {
    let mut routes: Vec<HttpRoute> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("http-route[{i}].{k}");
        let prefix = r
            .path_prefix
            .ok_or_else(|| ctx.err(key("path-prefix"), "give the path prefix, e.g. \"/onboarding\""))?;
        let prefix = prefix.trim_end_matches('/').to_owned();
        if !prefix.starts_with('/') || prefix.contains(['?', '#', ' ']) {
            return Err(ctx.err(
                key("path-prefix"),
                format!("expected a path below / such as \"/onboarding\", got {prefix:?}"),
            ));
        }
        let upstream = r.upstream.ok_or_else(|| {
            ctx.err(
                key("upstream"),
                "give the service's URL, e.g. \"http://127.0.0.1:8081\"",
            )
        })?;
        let upstream = upstream.trim_end_matches('/').to_owned();
        let valid = upstream
            .strip_prefix("http://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/') && upstream.parse::<hyper::Uri>().is_ok());
        if !valid {
            return Err(ctx.err(
                key("upstream"),
                format!("expected http://host:port (no path), got {upstream:?}"),
            ));
        }
        let hosts: Vec<String> = r.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        let same = |a: &[String], b: &[String]| a.is_empty() || b.is_empty() || a.iter().any(|h| b.contains(h));
        if routes.iter().any(|o| o.path_prefix == prefix && same(&o.hosts, &hosts)) {
            return Err(ctx.err(key("path-prefix"), format!("{prefix:?} is routed twice")));
        }
        if let Some(n) = networks
            .iter()
            .find(|n| n.paths.iter().any(|p| p.trim_end_matches('/') == prefix) && same(&n.hosts, &hosts))
        {
            return Err(ctx.err(
                key("path-prefix"),
                format!("{prefix:?} is also network {:?}'s path: choose another prefix", n.name),
            ));
        }
        routes.push(HttpRoute {
            path_prefix: prefix,
            hosts,
            upstream,
            strip_prefix: r.strip_prefix.unwrap_or(false),
        });
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use crate::GatewayConfig;

    const NET: &str = "[[network]]\nname = \"m\"\nchain-id = \"4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8\"\n[[network.backend]]\nurl = \"ws://127.0.0.1:1\"\n";

    fn key_of(text: &str) -> String {
        let e = GatewayConfig::from_toml(&format!("{text}\n{NET}"), "<t>").unwrap_err();
        format!("{} | {e}", e.key().unwrap_or(""))
    }

    #[test]
    fn mistakes_name_their_key() {
        let cases = [
            ("[tls]\n", "tls |"),
            (
                "[tls]\nlisten = \"443\"\n[tls.acme]\ndomains = [\"a.example.org\"]\n",
                "tls.listen |",
            ),
            ("[tls.acme]\ndomains = []\n", "tls.acme.domains |"),
            (
                "[tls.acme]\ndomains = [\"a.example.org\", \"localhost\"]\n",
                "tls.acme.domains[1] |",
            ),
            ("[tls.acme]\ndomains = [\"*.example.org\"]\n", "tls.acme.dns-hook | "),
            (
                "[tls.acme]\ndomains = [\"a.example.org\"]\nchallenge = \"http-01\"\n",
                "tls.acme.challenge |",
            ),
            (
                "[tls.acme]\ndomains = [\"a.example.org\"]\nchallenge = \"dns\"\n",
                "tls.acme.challenge |",
            ),
            (
                "[tls.acme]\ndomains = [\"a.example.org\"]\ndirectory = \"ftp://x\"\n",
                "tls.acme.directory |",
            ),
            (
                "[tls.acme]\ndomains = [\"a.example.org\"]\ncontact = [\"ops@x\"]\n",
                "tls.acme.contact[0] |",
            ),
            (
                "[tls.acme]\ndomains = [\"a.example.org\"]\neab-hmac-key-env = \"K\"\n",
                "tls.acme.eab-kid |",
            ),
            (
                "[tls]\nhsts = \"forever\"\n[[tls.certificate]]\ncert = \"c\"\nkey = \"k\"\n",
                "tls.hsts |",
            ),
            ("[[tls.certificate]]\ncert = \"c\"\n", "tls.certificate[0].key |"),
            (
                "[[http-route]]\npath-prefix = \"onboarding\"\nupstream = \"http://127.0.0.1:1\"\n",
                "http-route[0].path-prefix |",
            ),
            (
                "[[http-route]]\npath-prefix = \"/f\"\nupstream = \"https://x/y\"\n",
                "http-route[0].upstream |",
            ),
        ];
        for (text, want) in cases {
            let got = key_of(text);
            assert!(got.starts_with(want), "{text:?}: {got}");
        }
        assert!(key_of("[tls.acme]\ndomains = [\"*.example.org\"]\n").contains("a wildcard needs dns-01"));
    }

    #[test]
    fn a_regional_gateway_with_lets_encrypt() {
        let text = format!(
            "[tls]\nredirect-listen = \"0.0.0.0:80\"\nhsts = \"365d\"\n[tls.acme]\ndomains = [\"us.api.example.org\", \"api.example.org\"]\n\
             contact = [\"mailto:ops@example.org\"]\nchallenge = \"dns-01\"\ndns-hook = \"/etc/bts-infra/dns-hook\"\n\
             [[http-route]]\npath-prefix = \"/onboarding/\"\nupstream = \"http://faucet:8081\"\n{NET}"
        );
        let c = GatewayConfig::from_toml(&text, "<t>").unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.listen.port(), 443);
        assert_eq!(tls.hsts, Some(std::time::Duration::from_secs(365 * 86_400)));
        let acme = tls.certificates.acme.unwrap();
        assert_eq!(acme.directory, bts_tls::settings::LETS_ENCRYPT);
        assert_eq!(acme.state_dir, std::path::Path::new("/var/lib/bts-infra/acme"));
        assert_eq!(acme.renew_before, std::time::Duration::from_secs(30 * 86_400));
        assert_eq!(c.http_routes[0].path_prefix, "/onboarding");
    }
}
