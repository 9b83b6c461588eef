//! The prober's Prometheus metrics, declared once here with their descriptions and units
//! (docs/probe-metrics.md lists them for operators), on a recorder of its own (no global state:
//! `bts-infra up` runs a prober beside a gateway and a faucet in one process).
//!
//! Label values come from the configuration (`endpoint`, `network`, `region`) or fixed sets
//! (`check`, `result`), never from an answer.

use crate::check::{Check, Outcome};
use crate::config::Endpoint;
use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use std::sync::Arc;
use std::time::SystemTime;

const METADATA: Metadata<'static> = Metadata::new("bts_probe", Level::INFO, Some(module_path!()));

/// Histogram buckets of check durations, seconds.
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric: name, kind, unit, description.
const DECLARED: [(&str, Kind, Option<Unit>, &str); 9] = [
    (
        "bts_probe_checks_total",
        Kind::Counter,
        None,
        "Checks run, by check (ws, http, faucet, tls) and result (ok or the error kind).",
    ),
    (
        "bts_probe_duration_seconds",
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time a successful check took, from the TCP connect to the last answer.",
    ),
    (
        "bts_probe_up",
        Kind::Gauge,
        None,
        "1 when the endpoint's last check of this kind succeeded, else 0.",
    ),
    (
        "bts_probe_head_age_seconds",
        Kind::Gauge,
        Some(Unit::Seconds),
        "Age of the head block seen by the last answered ws check.",
    ),
    (
        "bts_probe_head_block_number",
        Kind::Gauge,
        None,
        "Head block number seen by the last answered ws check.",
    ),
    (
        "bts_probe_certificate_expiry_timestamp_seconds",
        Kind::Gauge,
        Some(Unit::Seconds),
        "When the certificate served on the endpoint expires (Unix time), from the last TLS handshake.",
    ),
    (
        "bts_probe_slo_objective_ratio",
        Kind::Gauge,
        None,
        "The endpoint's availability objective over 30 days (0.999 for 99.9 %).",
    ),
    (
        "bts_probe_error_budget_remaining_ratio",
        Kind::Gauge,
        None,
        "Share of the 30-day error budget left, from the prober's history (1 untouched, 0 spent, below 0 overspent).",
    ),
    (
        "bts_probe_last_round_timestamp_seconds",
        Kind::Gauge,
        Some(Unit::Seconds),
        "When the prober last finished a round of checks (Unix time).",
    ),
];

/// The prober's metrics. Cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    region: String,
}

impl Metrics {
    /// A fresh set, all declared, for the prober of `region`.
    pub fn new(region: &str) -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        for (name, kind, unit, help) in DECLARED {
            let key = KeyName::from_const_str(name);
            match kind {
                Kind::Counter => recorder.describe_counter(key, unit, help.into()),
                Kind::Gauge => recorder.describe_gauge(key, unit, help.into()),
                Kind::Histogram => recorder.describe_histogram(key, unit, help.into()),
            }
        }
        Metrics {
            recorder: Arc::new(recorder),
            region: region.to_owned(),
        }
    }

    fn labels(&self, endpoint: &Endpoint, check: Option<Check>) -> Vec<Label> {
        let mut labels = vec![
            Label::new("endpoint", endpoint.name.clone()),
            Label::new("network", endpoint.network.clone()),
            Label::new("region", self.region.clone()),
        ];
        labels.extend(check.map(|c| Label::new("check", c.as_str())));
        labels
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
            .set(value);
    }

    /// Declares an endpoint: its objective, and every result counter of its checks at zero, so
    /// a rate over the first failure of a kind is not lost to a series that did not exist yet.
    pub fn endpoint(&self, endpoint: &Endpoint) {
        self.gauge(
            "bts_probe_slo_objective_ratio",
            self.labels(endpoint, None),
            endpoint.objective,
        );
        for check in endpoint.checks() {
            let results = std::iter::once("ok").chain(check.possible_errors().iter().map(|k| k.as_str()));
            for result in results {
                let mut labels = self.labels(endpoint, Some(check));
                labels.push(Label::new("result", result));
                self.recorder
                    .register_counter(&Key::from_parts("bts_probe_checks_total", labels), &METADATA)
                    .increment(0);
            }
        }
    }

    /// One check's outcome.
    pub fn outcome(&self, endpoint: &Endpoint, outcome: &Outcome) {
        let labels = self.labels(endpoint, Some(outcome.check));
        let result = match &outcome.result {
            Ok(_) => "ok",
            Err(f) => f.kind.as_str(),
        };
        let mut with_result = labels.clone();
        with_result.push(Label::new("result", result));
        self.recorder
            .register_counter(&Key::from_parts("bts_probe_checks_total", with_result), &METADATA)
            .increment(1);
        // The tls check has no duration of its own: it is the others' handshake.
        if let (Ok(elapsed), true) = (&outcome.result, outcome.check != Check::Tls) {
            self.recorder
                .register_histogram(
                    &Key::from_parts("bts_probe_duration_seconds", labels.clone()),
                    &METADATA,
                )
                .record(elapsed.as_secs_f64());
        }
        self.gauge("bts_probe_up", labels, if outcome.result.is_ok() { 1.0 } else { 0.0 });
        if let (Some(head), Check::Ws) = (outcome.head, outcome.check) {
            self.gauge("bts_probe_head_age_seconds", self.labels(endpoint, None), head.age);
            self.gauge(
                "bts_probe_head_block_number",
                self.labels(endpoint, None),
                head.number as f64,
            );
        }
        if let (Some(expiry), Check::Tls) = (outcome.cert_expiry, outcome.check) {
            let secs = expiry
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            self.gauge(
                "bts_probe_certificate_expiry_timestamp_seconds",
                self.labels(endpoint, None),
                secs,
            );
        }
    }

    /// The endpoint's error budget left, from the history.
    pub fn budget(&self, endpoint: &Endpoint, remaining: f64) {
        self.gauge(
            "bts_probe_error_budget_remaining_ratio",
            self.labels(endpoint, None),
            remaining,
        );
    }

    /// A round ended at `now` (Unix seconds).
    pub fn round(&self, now: f64) {
        let labels = vec![Label::new("region", self.region.clone())];
        self.gauge("bts_probe_last_round_timestamp_seconds", labels, now);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let handle = self.recorder.handle();
        // Histograms and descriptions are folded in by upkeep; without it they lag.
        handle.run_upkeep();
        handle.render()
    }

    /// Every declared metric's name and kind (`counter`, `gauge`, `histogram`).
    pub fn declared() -> impl Iterator<Item = (&'static str, &'static str)> {
        DECLARED.iter().map(|(name, kind, _, _)| {
            let kind = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            (*name, kind)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{ErrorKind, Failure};
    use crate::config::EndpointKind;
    use std::time::Duration;

    #[test]
    fn counters_start_at_zero_and_outcomes_land_under_their_labels() {
        let endpoint = Endpoint {
            name: "main".into(),
            network: "mainnet".into(),
            kind: EndpointKind::Api {
                ws: Some("wss://a.example/".into()),
                http: None,
                chain_id: bts_protocol::ChainId::MAINNET,
                max_head_age: Duration::from_secs(60),
            },
            objective: 0.999,
        };
        let m = Metrics::new("us");
        m.endpoint(&endpoint);
        m.outcome(
            &endpoint,
            &Outcome {
                check: Check::Ws,
                result: Err(Failure::new(ErrorKind::WrongChain, "another chain")),
                head: None,
                cert_expiry: None,
                tls_handshake: Some(true),
            },
        );
        let text = m.render();
        let line = |needles: &[&str]| text.lines().any(|l| needles.iter().all(|n| l.contains(n)));
        assert!(
            line(&[
                "bts_probe_checks_total{",
                "check=\"ws\"",
                "result=\"wrong_chain\"",
                "} 1"
            ]),
            "{text}"
        );
        assert!(line(&[
            "bts_probe_checks_total{",
            "check=\"ws\"",
            "result=\"stale_head\"",
            "} 0"
        ]));
        assert!(line(&[
            "bts_probe_checks_total{",
            "check=\"tls\"",
            "result=\"cert_expiring\"",
            "} 0"
        ]));
        assert!(!line(&["check=\"http\""]), "no http address, no http series");
        assert!(
            !line(&["check=\"tls\"", "result=\"wrong_chain\""]),
            "only the kinds a check can report"
        );
        assert!(line(&["bts_probe_up{", "check=\"ws\"", "region=\"us\"", "} 0"]));
        assert!(line(&["bts_probe_slo_objective_ratio{", "} 0.999"]));
    }
}
