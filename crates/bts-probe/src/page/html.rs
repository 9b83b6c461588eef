//! The status page as HTML: no JavaScript, no external requests, readable at a glance (a
//! coloured banner, one card per endpoint), refreshed by the browser every minute.

use super::svg::{self, percent};
use super::{CheckNow, EndpointStatus, FaucetView, IncidentView, State, Status};
use serde_json::Value;
use std::fmt::Write as _;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60em;margin:1.5em auto;padding:0 1em;color:#1f2328}\
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:.2em 0}h3{font-size:1em;margin:1em 0 .3em}\
.banner{padding:.8em 1em;border-radius:6px;color:#fff;font-weight:600;margin:1em 0}\
.up{background:#1a7f37}.degraded{background:#9a6700}.down{background:#cf222e}.unknown{background:#6e7781}\
.pill{display:inline-block;padding:0 .5em;border-radius:1em;color:#fff;font-size:.85em;vertical-align:middle}\
.card{border:1px solid #d0d7de;border-radius:6px;padding:.8em 1em;margin:1em 0}\
table{border-collapse:collapse;width:100%}td,th{padding:.25em .5em;text-align:left;vertical-align:top;border-bottom:1px solid #eaeef2}td{white-space:nowrap}td.wrap{white-space:normal}\
th{font-weight:600;font-size:.9em;color:#57606a}.check{display:inline-block;margin:0 .4em .2em 0;padding:0 .4em;border-radius:4px;font-size:.9em}\
.check.ok{background:#dafbe1}.check.fail{background:#ffebe9}.muted{color:#57606a;font-size:.9em}\
.key{margin-right:1em}.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}\
.axis{display:flex;justify-content:space-between;font-size:.8em;color:#57606a}.bars-row{margin:.3em 0}";

/// The page.
pub fn render(status: &Status) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1><p class=\"muted\">Checked from {} as a wallet connects; this page: region {}, built {} (refreshes every minute). \
         JSON: <a href=\"status.json\">status.json</a>.</p>",
        escape(&status.title),
        escape(&status.regions.join(", ")),
        escape(&status.region),
        escape(&status.generated_at)
    );
    let _ = write!(
        body,
        "<div id=\"state\" class=\"banner {}\" data-state=\"{}\">{}</div>",
        status.state.as_str(),
        status.state.as_str(),
        banner(status)
    );
    for endpoint in &status.endpoints {
        body.push_str(&endpoint_card(endpoint, status.generated_unix));
    }
    body.push_str(&incidents(&status.incidents));
    for faucet in &status.faucets {
        body.push_str(&faucet_card(faucet));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <meta http-equiv=\"refresh\" content=\"60\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(&status.title)
    )
}

fn banner(status: &Status) -> String {
    let named = |state: State| -> String {
        let names: Vec<&str> = (status.endpoints.iter())
            .filter(|e| e.state == state)
            .map(|e| e.name.as_str())
            .collect();
        escape(&names.join(", "))
    };
    let (down, degraded) = (named(State::Down), named(State::Degraded));
    match status.state {
        State::Up => "All endpoints operational".to_owned(),
        State::Unknown => "No recent checks: the prober has just started or cannot store its results".to_owned(),
        State::Down if degraded.is_empty() => format!("Outage: {down}"),
        State::Down => format!("Outage: {down}; degraded: {degraded}"),
        State::Degraded => format!("Degraded: {degraded}"),
    }
}

/// The budget left, or "spent" past zero (the exact figure is in the JSON and the tooltip).
fn budget(left: Option<f64>) -> String {
    match left {
        None => "–".to_owned(),
        Some(b) if b <= 0.0 => format!("<span title=\"{:.0} %\">spent</span>", b * 100.0),
        Some(b) => format!("{:.0} %", b * 100.0),
    }
}

fn endpoint_card(e: &EndpointStatus, now: i64) -> String {
    let mut out = format!(
        "<section class=\"card endpoint\" id=\"endpoint-{name}\" data-name=\"{name}\" data-state=\"{state}\">\
         <h2>{name} <span class=\"muted\">{network} {kind}</span> <span class=\"pill {state}\">{state}</span></h2>\
         <table><tr><th>region</th><th>now</th><th>30 days</th><th>error budget left</th><th>burn 1 h / 6 h</th>\
         <th>24 h median / p99</th></tr>",
        name = escape(&e.name),
        network = escape(&e.network),
        kind = e.kind,
        state = e.state.as_str(),
    );
    for r in &e.regions {
        let checks: String = r.checks.iter().map(check_badge).collect();
        let checks = if checks.is_empty() {
            "<span class=\"muted\">no recent check</span>".to_owned()
        } else {
            checks
        };
        let _ = write!(
            out,
            "<tr class=\"region-row\" data-region=\"{region}\" data-state=\"{state}\"><td>{region}</td><td class=\"wrap\">{checks}</td>\
             <td>{avail}</td><td>{budget}</td><td>{b1} / {b6}</td><td>{p50} / {p99}</td></tr>",
            region = escape(&r.region),
            state = r.state.as_str(),
            avail = r.slo.availability.map_or("–".into(), percent),
            budget = budget(r.slo.budget_remaining),
            b1 = r.slo.burn_1h.map_or("–".into(), |b| format!("{b:.1}")),
            b6 = r.slo.burn_6h.map_or("–".into(), |b| format!("{b:.1}")),
            p50 = ms(r.last_day.p50_ms),
            p99 = ms(r.last_day.p99_ms),
        );
    }
    let _ = write!(
        out,
        "</table><h3>Uptime, last {} days <span class=\"muted\">(objective {})</span></h3>",
        super::DAYS,
        percent(e.objective)
    );
    for r in &e.regions {
        let _ = write!(
            out,
            "<div class=\"bars-row\"><span class=\"muted\">{}</span><br>{}</div>",
            escape(&r.region),
            svg::uptime_bars(&r.days, e.objective)
        );
    }
    out.push_str("<div class=\"axis\" style=\"max-width:720px\"><span>90 days ago</span><span>today</span></div>");
    let series: Vec<(&str, &[super::Point])> = e
        .regions
        .iter()
        .map(|r| (r.region.as_str(), r.latency.as_slice()))
        .collect();
    let regions: Vec<&str> = series.iter().map(|(r, _)| *r).collect();
    let _ = write!(
        out,
        "<h3>Latency, last 24 hours</h3>{}<div>{}</div></section>",
        svg::latency_plot(&series, now),
        svg::legend(&regions)
    );
    out
}

fn check_badge(c: &CheckNow) -> String {
    let (class, text) = match (&c.error, c.latency_ms) {
        (None, Some(ms)) => ("ok", format!("{} ✓ {ms:.0} ms", c.check.as_str())),
        (None, None) => ("ok", format!("{} ✓", c.check.as_str())),
        (Some(kind), _) => ("fail", format!("{} ✗ {kind}", c.check.as_str())),
    };
    let title = c.detail.as_deref().unwrap_or("");
    format!(
        "<span class=\"check {class}\" data-check=\"{}\" data-error=\"{}\" title=\"{}\">{}</span>",
        c.check.as_str(),
        c.error.map_or("", |k| k.as_str()),
        escape(title),
        escape(&text)
    )
}

fn incidents(list: &[IncidentView]) -> String {
    let mut out = String::from("<section class=\"card\" id=\"incidents\"><h2>Incidents</h2>");
    if list.is_empty() {
        out.push_str("<p class=\"muted\">None in the last 90 days.</p></section>");
        return out;
    }
    out.push_str("<table><tr><th>endpoint</th><th>from</th><th>for</th><th>seen from</th><th>errors</th><th>first error</th></tr>");
    for i in list {
        let started = humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + secs(i.started)).to_string();
        let lasted = humantime::format_duration(secs(i.duration_secs)).to_string();
        let lasted = if i.ended.is_none() {
            format!("{lasted} (ongoing)")
        } else {
            lasted
        };
        let errors: Vec<&str> = i.errors.iter().map(|k| k.as_str()).collect();
        let _ = write!(
            out,
            "<tr class=\"incident\" data-endpoint=\"{endpoint}\" data-errors=\"{errs}\"><td>{endpoint}</td><td>{}</td><td>{}</td><td>{}</td><td>{errs}</td><td class=\"wrap\">{}</td></tr>",
            escape(&started),
            escape(&lasted),
            escape(&i.regions.join(", ")),
            escape(&i.detail),
            endpoint = escape(&i.endpoint),
            errs = escape(&errors.join(" ")),
        );
    }
    out.push_str("</table></section>");
    out
}

fn faucet_card(f: &FaucetView) -> String {
    let mut out = format!(
        "<section class=\"card faucet\" id=\"faucet-{name}\" data-name=\"{name}\"><h2>Faucet {name} <span class=\"muted\">{}</span></h2>",
        escape(&f.network),
        name = escape(&f.name),
    );
    let Some(stats) = &f.stats else {
        out.push_str("<p class=\"muted\">Its figures could not be read yet.</p></section>");
        return out;
    };
    let symbol = stats["chain"]["prefix"].as_str().unwrap_or("BTS");
    let chain = &stats["registrar_on_chain_satoshis"];
    // The core asset has 5 decimals on mainnet, testnet and the devnets.
    let amount = |v: &Value| {
        v.as_i64().map_or("–".to_owned(), |s| {
            format!("{}.{:05} {}", grouped(s / 100_000), (s % 100_000).abs(), escape(symbol))
        })
    };
    let count = |v: &Value| v.as_i64().map_or("–".to_owned(), |n| n.to_string());
    let rows = [
        ("accounts registered", count(&stats["accounts"]["registered"])),
        (
            "referral rewards waiting to vest (cashback)",
            amount(&chain["cashback_vesting_balance"]),
        ),
        ("fees paid since the last maintenance", amount(&chain["pending_fees"])),
        ("registrar balance", amount(&chain["balance"])),
        ("one registration costs now", amount(&chain["registration_fee"])),
        (
            "registrations the balance still pays for",
            count(&chain["registrations_left"]),
        ),
    ];
    out.push_str("<table class=\"figures\">");
    for (label, value) in rows {
        let _ = write!(out, "<tr><td>{label}</td><td>{value}</td></tr>");
    }
    out.push_str("</table>");
    let mut days: Vec<(String, i64)> = (stats["accounts"]["per_day"].as_array().into_iter().flatten())
        .filter_map(|d| Some((d["day"].as_str()?.to_owned(), d["accounts"].as_i64()?)))
        .collect();
    days.sort();
    let _ = write!(
        out,
        "<h3>Accounts registered per day</h3>{}",
        if days.is_empty() {
            "<p class=\"muted\">None yet.</p>".to_owned()
        } else {
            svg::per_day_columns(&days)
        }
    );
    for w in stats["warnings"].as_array().into_iter().flatten() {
        let _ = write!(out, "<p><b>Warning:</b> {}</p>", escape(w.as_str().unwrap_or_default()));
    }
    out.push_str("</section>");
    out
}

/// `1234567` as `1,234,567`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |ms| format!("{ms:.0} ms"))
}

fn secs(s: i64) -> std::time::Duration {
    std::time::Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// Text made safe for HTML and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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
