//! The faucet's Prometheus metrics, declared once here with their descriptions and units, and
//! rendered by the faucet's own `/metrics` handler.
//!
//! Each faucet has its own recorder (no global state), so two faucets in one process (`bts-infra
//! up` runs one per devnet) and the tests do not mix their figures. Label values come from fixed
//! sets (`outcome`, `kind`, `reason`, `result`), never from requests. Amounts are in satoshis of
//! the core asset, durations in seconds. `docs/faucet.md` lists the metrics for operators.

use bts_rpc::RpcError;
use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use std::sync::Arc;
use std::time::Duration;

const METADATA: Metadata<'static> = Metadata::new("bts_faucet", Level::INFO, Some(module_path!()));

/// Every metric: name, kind, unit, description.
const DECLARED: [(&str, Kind, Option<Unit>, &str); 13] = [
    (
        "bts_faucet_registrations_total",
        Kind::Counter,
        None,
        "Registration requests answered, by outcome (created, repeated, test, invalid, malformed, name_taken, rate_limited, referrer_rejected, node_rejected, in_progress, unavailable, internal).",
    ),
    (
        "bts_faucet_registration_duration_seconds",
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time to answer a registration request, every outcome included.",
    ),
    (
        "bts_faucet_fees_paid_satoshis_total",
        Kind::Counter,
        None,
        "Registration fees paid by the registrar, in satoshis of the core asset.",
    ),
    (
        "bts_faucet_referrer_fallbacks_total",
        Kind::Counter,
        None,
        "Registrations whose referrer became the registrar, by reason (absent, unknown, not_member).",
    ),
    (
        "bts_faucet_node_errors_total",
        Kind::Counter,
        None,
        "Failed node calls, by kind (timeout, disconnected, connect, http, node, decode, other).",
    ),
    (
        "bts_faucet_node_failovers_total",
        Kind::Counter,
        None,
        "Times the faucet moved to another node after one did not answer.",
    ),
    (
        "bts_faucet_broadcast_retries_total",
        Kind::Counter,
        None,
        "Broadcasts repeated, by reason (insufficient_fee: re-signed with the new fee; transport: the same transaction on another node).",
    ),
    (
        "bts_faucet_reconciled_total",
        Kind::Counter,
        None,
        "Unsettled registrations checked against the chain, by result (confirmed, failed, rebroadcast, unresolved).",
    ),
    (
        "bts_faucet_registrar_balance_satoshis",
        Kind::Gauge,
        None,
        "The registrar's core balance, in satoshis, when last read from the chain (at most 30 s before a scrape).",
    ),
    (
        "bts_faucet_registration_fee_satoshis",
        Kind::Gauge,
        None,
        "What one registration costs now (the node's fee for the faucet's account_create, fee scaling included), in satoshis.",
    ),
    (
        "bts_faucet_registrations_left",
        Kind::Gauge,
        None,
        "How many registrations the registrar's balance pays for at the current fee.",
    ),
    (
        "bts_faucet_registrar_funding_timestamp_seconds",
        Kind::Gauge,
        Some(Unit::Seconds),
        "When the funding gauges were last read from the chain (Unix time): they keep their values while no node answers.",
    ),
    (
        "bts_faucet_unsettled_registrations",
        Kind::Gauge,
        None,
        "Registrations pending or broadcast but not yet confirmed or failed, at the last reconciliation.",
    ),
];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The faucet's metrics. Cloning shares them.
#[derive(Clone)]
pub(crate) struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A fresh set of metrics, all declared.
    pub(crate) fn new() -> Metrics {
        let buckets = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets(&buckets)
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
        }
    }

    fn counter(&self, name: &'static str, label: Option<(&'static str, &'static str)>, n: u64) {
        let labels: Vec<Label> = label.map(|(k, v)| Label::new(k, v)).into_iter().collect();
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
            .increment(n);
    }

    /// A registration request was answered with `outcome` after `elapsed`.
    pub(crate) fn registration(&self, outcome: &'static str, elapsed: Duration) {
        self.counter("bts_faucet_registrations_total", Some(("outcome", outcome)), 1);
        self.recorder
            .register_histogram(&Key::from_name("bts_faucet_registration_duration_seconds"), &METADATA)
            .record(elapsed.as_secs_f64());
    }

    /// The registrar paid `satoshis` for a registration.
    pub(crate) fn fee_paid(&self, satoshis: i64) {
        self.counter(
            "bts_faucet_fees_paid_satoshis_total",
            None,
            u64::try_from(satoshis).unwrap_or(0),
        );
    }

    /// The registrar became the referrer (`absent`, `unknown`, `not_member`).
    pub(crate) fn referrer_fallback(&self, reason: &'static str) {
        self.counter("bts_faucet_referrer_fallbacks_total", Some(("reason", reason)), 1);
    }

    /// A node call failed.
    pub(crate) fn node_error(&self, e: &RpcError) {
        let kind = match e {
            RpcError::Timeout => "timeout",
            RpcError::Disconnected => "disconnected",
            RpcError::Connect(_) => "connect",
            RpcError::Http { .. } => "http",
            RpcError::Node(_) => "node",
            RpcError::Decode(_) => "decode",
            RpcError::Encode(_) | RpcError::Closed => "other",
        };
        self.counter("bts_faucet_node_errors_total", Some(("kind", kind)), 1);
    }

    /// The faucet moved away from a node.
    pub(crate) fn failover(&self) {
        self.counter("bts_faucet_node_failovers_total", None, 1);
    }

    /// A broadcast is repeated (`insufficient_fee`, `transport`).
    pub(crate) fn broadcast_retry(&self, reason: &'static str) {
        self.counter("bts_faucet_broadcast_retries_total", Some(("reason", reason)), 1);
    }

    /// An unsettled row was checked (`confirmed`, `failed`, `rebroadcast`, `unresolved`).
    pub(crate) fn reconciled(&self, result: &'static str) {
        self.counter("bts_faucet_reconciled_total", Some(("result", result)), 1);
    }

    /// Rows still unsettled after a reconciliation pass.
    pub(crate) fn unsettled(&self, n: usize) {
        self.recorder
            .register_gauge(&Key::from_name("bts_faucet_unsettled_registrations"), &METADATA)
            .set(n as f64);
    }

    /// The registrar's funding as last read from the chain.
    pub(crate) fn funding(&self, f: &crate::registrar::Funding) {
        for (name, value) in [
            ("bts_faucet_registrar_balance_satoshis", f.balance),
            ("bts_faucet_registration_fee_satoshis", f.registration_fee),
            ("bts_faucet_registrations_left", f.registrations_left),
        ] {
            self.recorder
                .register_gauge(&Key::from_name(name), &METADATA)
                .set(value as f64);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.recorder
            .register_gauge(
                &Key::from_name("bts_faucet_registrar_funding_timestamp_seconds"),
                &METADATA,
            )
            .set(now);
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let handle = self.recorder.handle();
        // Histograms and descriptions are folded in by upkeep; without it they lag.
        handle.run_upkeep();
        handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_described_metrics_in_base_units() {
        let m = Metrics::new();
        m.registration("created", Duration::from_millis(1500));
        m.fee_paid(50_000);
        m.node_error(&RpcError::Timeout);
        m.unsettled(2);
        let text = m.render();
        for needle in [
            "# HELP bts_faucet_registrations_total Registration requests answered",
            "bts_faucet_registrations_total{outcome=\"created\"} 1",
            "bts_faucet_registration_duration_seconds_bucket{le=\"2\"} 1",
            "bts_faucet_fees_paid_satoshis_total 50000",
            "bts_faucet_node_errors_total{kind=\"timeout\"} 1",
            "bts_faucet_unsettled_registrations 2",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in:\n{text}");
        }
    }
}
