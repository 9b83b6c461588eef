//! The status page as HTML: one section per network, one table row per backend, colours for
//! state and availability, inline CSS, no scripts, no external assets. Every value from the
//! configuration or a node goes through [`escape`].

use super::{AvailabilityStatus, BackendStatus, HeadStatus, NetworkStatus, Quantiles, Snapshot};
use crate::health::State;
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d2430;background:#f6f7f9}\
h1{font-size:1.4rem;margin:0}h2{font-size:1.15rem;margin:0 0 .3rem}.meta{color:#5b6473;margin:.2rem 0 .6rem}\
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1rem;margin:1rem 0}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-top:1px solid #eceef2;\
vertical-align:top}th{font-weight:600;color:#5b6473;font-size:.85rem}td.n{text-align:right;white-space:nowrap}\
.b{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:.8rem;font-weight:600;color:#fff}\
.healthy{background:#1f9d55}.out{background:#d64545}.unknown{background:#8a94a6}.cordoned{background:#3867d6}\
.warn{background:#d98e04}.banner{background:#fff4d6;border:1px solid #f0c36d;border-radius:6px;padding:.5rem .7rem;\
margin:.4rem 0}.strip span{display:inline-block;width:7px;height:14px;margin-right:1px;border-radius:1px}\
.a0{background:#1f9d55}.a1{background:#8cc152}.a2{background:#f6bb42}.a3{background:#d64545}.an{background:#e3e6eb}\
.why{max-width:28rem}code{font-size:.85rem}";

/// The whole page.
pub(super) fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    out.push_str("<meta http-equiv=\"refresh\" content=\"10\"><title>bts-gateway status</title>");
    let _ = write!(
        out,
        "<style>{STYLE}</style></head><body><header><h1>bts-gateway status</h1>"
    );
    let _ = write!(
        out,
        "<p class=\"meta\">{} UTC · up {} · version {}</p></header>",
        escape(&s.generated),
        uptime(s.uptime_secs),
        escape(s.version)
    );
    for n in &s.networks {
        network(&mut out, n);
    }
    if !s.certificates.is_empty() {
        certificates(&mut out, &s.certificates);
    }
    out.push_str("</body></html>\n");
    out
}

fn certificates(out: &mut String, certs: &[bts_tls::CertStatus]) {
    out.push_str("<section><h2>TLS certificates</h2><table><tr><th>certificate</th><th>names</th><th>source</th>");
    out.push_str("<th>expires</th><th>last renewal</th><th>next attempt</th><th>last error</th></tr>");
    for c in certs {
        let (class, state) = match (c.serving, c.last_error.is_some()) {
            (true, false) => ("healthy", "serving"),
            (true, true) => ("warn", "serving, renewal failing"),
            (false, _) => ("out", "not serving"),
        };
        let opt = |v: &Option<String>| escape(v.as_deref().unwrap_or("–"));
        let error = match (&c.last_error, &c.last_error_at) {
            (Some(e), Some(at)) => format!("{} ({} failures, last {})", escape(e), c.failures, escape(at)),
            _ => "–".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{} <span class=\"b {class}\">{state}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"why\">{error}</td></tr>",
            escape(&c.name),
            escape(&c.domains.join(", ")),
            c.source,
            opt(&c.not_after),
            opt(&c.last_renewal),
            opt(&c.next_attempt),
        );
    }
    out.push_str("</table></section>");
}

fn network(out: &mut String, n: &NetworkStatus) {
    let total = n.backends.len();
    let class = match n.eligible_backends {
        0 => "out",
        e if e < total => "warn",
        _ => "healthy",
    };
    let _ = write!(
        out,
        "<section><h2>{} <span class=\"b {class}\">{} of {total} backends in use</span></h2>",
        escape(&n.name),
        n.eligible_backends
    );
    let hosts = if n.hosts.is_empty() {
        "any host".to_owned()
    } else {
        n.hosts.join(", ")
    };
    let _ = write!(
        out,
        "<p class=\"meta\">chain <code>{}</code> · {} selection · {} · paths {} · head {} · irreversible {} · \
         {} s blocks</p>",
        escape(&short(&n.chain_id)),
        escape(n.selection),
        escape(&hosts),
        escape(&n.paths.join(" ")),
        head(n.head.as_ref()),
        n.last_irreversible_block.map_or("–".to_owned(), |b| format!("#{b}")),
        n.block_interval_secs.map_or("?".to_owned(), |b| b.to_string()),
    );
    if let Some(stall) = &n.stall {
        let _ = write!(
            out,
            "<div class=\"banner\"><strong>Chain stalled:</strong> {}</div>",
            escape(stall)
        );
    }
    out.push_str(
        "<table><thead><tr><th>Backend</th><th>Region</th><th>State</th><th>Why</th><th>Head</th>\
         <th>Lag</th><th>Requests p50 / p99</th><th>Checks p50 / p99</th><th>Avail. 1 h</th>\
         <th>Avail. 24 h</th><th>Last 24 h</th><th>In flight</th></tr></thead><tbody>",
    );
    for b in &n.backends {
        backend(out, b);
    }
    out.push_str("</tbody></table></section>");
}

fn backend(out: &mut String, b: &BackendStatus) {
    let state = if b.cordoned && b.state == State::Healthy {
        "<span class=\"b cordoned\">cordoned</span>".to_owned()
    } else {
        let mut s = format!("<span class=\"b {0}\">{0}</span>", b.state.as_str());
        if b.cordoned {
            s.push_str(" <span class=\"b cordoned\">cordoned</span>");
        }
        s
    };
    let _ = write!(
        out,
        "<tr><td><code>{}</code></td><td>{}</td><td>{state}</td><td class=\"why\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"strip\">{}</td><td class=\"n\">{}</td></tr>",
        escape(&b.url),
        escape(&b.region),
        escape(&b.reason),
        head(b.head.as_ref()),
        b.lag_blocks.map_or("–".to_owned(), |l| l.to_string()),
        quantiles(&b.latency_ms),
        quantiles(&b.probe_rtt_ms),
        percent(b.availability.hour),
        percent(b.availability.day),
        strip(&b.availability),
        b.in_flight,
    );
}

fn head(h: Option<&HeadStatus>) -> String {
    h.map_or("–".to_owned(), |h| {
        format!(
            "#{} <span title=\"{}\">({} s ago)</span>",
            h.number,
            escape(&h.time),
            h.age_secs
        )
    })
}

fn quantiles(q: &Quantiles) -> String {
    match (q.p50, q.p99) {
        (Some(a), Some(b)) => format!("{a:.1} / {b:.1} ms"),
        _ => "–".to_owned(),
    }
}

fn percent(f: Option<f64>) -> String {
    f.map_or("–".to_owned(), |f| format!("{:.2} %", f * 100.0))
}

/// One coloured cell per hour, oldest first, with the value as a tooltip.
fn strip(a: &AvailabilityStatus) -> String {
    a.hourly
        .iter()
        .map(|h| {
            let class = match h {
                None => "an",
                Some(f) if *f >= 0.999 => "a0",
                Some(f) if *f >= 0.99 => "a1",
                Some(f) if *f >= 0.9 => "a2",
                Some(_) => "a3",
            };
            format!("<span class=\"{class}\" title=\"{}\"></span>", percent(*h))
        })
        .collect()
}

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn short(hex: &str) -> String {
    format!("{}…", hex.get(..8).unwrap_or(hex))
}

/// Text safe inside HTML elements and quoted attributes.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn renders_a_page_a_person_can_read() {
        let s = Snapshot {
            version: "0.1.0",
            generated: "2024-01-01T00:00:00Z".into(),
            uptime_secs: 3700,
            networks: vec![NetworkStatus {
                name: "main<net>".into(),
                chain_id: "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8".into(),
                selection: "latency",
                hosts: vec![],
                paths: vec!["/".into()],
                head: None,
                last_irreversible_block: Some(7),
                block_interval_secs: Some(3),
                chain_stalled: true,
                stall: Some("every node's head is 40 s old".into()),
                eligible_backends: 0,
                backends: vec![BackendStatus {
                    id: 1,
                    url: "ws://x/<script>".into(),
                    region: "us".into(),
                    weight: 1,
                    state: State::Out,
                    eligible: false,
                    cordoned: true,
                    reason: "3 consecutive timeouts".into(),
                    head: None,
                    lag_blocks: Some(5),
                    last_irreversible_block: None,
                    checks: 3,
                    failed_checks: 3,
                    latency_ms: Quantiles {
                        p50: Some(1.25),
                        p99: Some(9.0),
                        samples: 10,
                    },
                    probe_rtt_ms: Quantiles {
                        p50: None,
                        p99: None,
                        samples: 0,
                    },
                    ewma_ms: 1.0,
                    in_flight: 2,
                    requests_ok: 1,
                    requests_failed: 0,
                    availability: AvailabilityStatus {
                        hour: Some(0.5),
                        day: Some(0.995),
                        hourly: vec![None, Some(1.0), Some(0.5)],
                    },
                }],
            }],
            certificates: vec![bts_tls::CertStatus {
                name: "api.example.org".into(),
                source: "acme",
                domains: vec!["api.example.org".into(), "*.example.org".into()],
                serving: true,
                not_after: Some("2025-01-01T00:00:00Z".into()),
                last_error: Some("DNS hook <failed>".into()),
                last_error_at: Some("2024-01-01T00:00:00Z".into()),
                failures: 2,
                ..bts_tls::CertStatus::default()
            }],
        };
        let page = render(&s);
        for needle in [
            "<span class=\"b warn\">serving, renewal failing</span>",
            "api.example.org, *.example.org",
            "DNS hook &lt;failed&gt; (2 failures, last 2024-01-01T00:00:00Z)",
            "<h2>main&lt;net&gt; <span class=\"b out\">0 of 1 backends in use</span>",
            "ws://x/&lt;script&gt;",
            "<strong>Chain stalled:</strong> every node&#39;s head is 40 s old",
            "<span class=\"b out\">out</span> <span class=\"b cordoned\">cordoned</span>",
            "3 consecutive timeouts",
            "1.2 / 9.0 ms",
            "50.00 %",
            "99.50 %",
            "up 1 h 1 min",
            "<span class=\"a3\" title=\"50.00 %\"></span>",
        ] {
            assert!(page.contains(needle), "missing {needle:?} in {page}");
        }
        assert!(!page.contains("<script"));
    }
}
