//! The TLS metrics, declared once here and recorded only through the functions below. The
//! `certificate` label is a configured certificate's name, so the label set is bounded.

use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use std::time::{SystemTime, UNIX_EPOCH};

/// When a served certificate expires, as a Unix time (gauge, seconds).
pub const EXPIRY: &str = "bts_gateway_tls_certificate_expiry_timestamp_seconds";
/// Certificates obtained or loaded, by certificate and outcome: `ok` or `error` (counter).
pub const RENEWALS: &str = "bts_gateway_tls_certificate_renewals_total";
/// 1 while the last attempt to obtain or load a certificate failed, else 0 (gauge).
pub const FAILING: &str = "bts_gateway_tls_certificate_failing";

/// Describes the metrics to the installed recorder (call once after installing it).
pub fn describe() {
    describe_gauge!(
        EXPIRY,
        Unit::Seconds,
        "When a served certificate expires, as a Unix time."
    );
    describe_counter!(
        RENEWALS,
        "Certificates obtained (ACME) or loaded (files), by certificate and outcome (ok, error)."
    );
    describe_gauge!(
        FAILING,
        "1 while the last attempt to obtain or load a certificate failed, else 0."
    );
}

pub(crate) fn installed(certificate: &str, not_after: SystemTime) {
    let secs = not_after.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    gauge!(EXPIRY, "certificate" => certificate.to_owned()).set(secs);
    counter!(RENEWALS, "certificate" => certificate.to_owned(), "outcome" => "ok").increment(1);
    gauge!(FAILING, "certificate" => certificate.to_owned()).set(0.0);
}

pub(crate) fn failed(certificate: &str) {
    counter!(RENEWALS, "certificate" => certificate.to_owned(), "outcome" => "error").increment(1);
    gauge!(FAILING, "certificate" => certificate.to_owned()).set(1.0);
}
