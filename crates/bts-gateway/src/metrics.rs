//! Every Prometheus metric of the gateway, declared once here with its description and base unit
//! (seconds, bytes), and recorded only through the functions below, so label sets stay bounded:
//! networks and backends come from the configuration, methods from [`KNOWN_METHODS`] (anything
//! else is `other`), outcomes and limits from enums. `docs/gateway-metrics.md` lists them.
//!
//! [`install`] puts a Prometheus recorder in place (once per process; later calls return the same
//! handle) and [`render`] produces the `/metrics` text. Without an installed recorder, recording
//! is a no-op, so library tests need not install one.

use metrics::{
    Counter, Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Mutex, OnceLock};

/// JSON-RPC requests answered, by network, backend, method and outcome (counter).
pub const REQUESTS: &str = "bts_gateway_requests_total";
/// Time from a request's arrival to its answer, by network and method (histogram, seconds).
pub const REQUEST_DURATION: &str = "bts_gateway_request_duration_seconds";
/// Time a backend took to answer a proxied request, by network and backend (histogram, seconds).
pub const UPSTREAM_DURATION: &str = "bts_gateway_upstream_duration_seconds";
/// Requests sent again to another backend after a failure, by network (counter).
pub const RETRIES: &str = "bts_gateway_retries_total";
/// Health checks, by network, backend and result (counter).
pub const HEALTH_CHECKS: &str = "bts_gateway_health_checks_total";
/// Time a health check's `get_dynamic_global_properties` took, by network and backend (histogram, seconds).
pub const HEALTH_CHECK_DURATION: &str = "bts_gateway_health_check_duration_seconds";
/// 1 when a backend takes new work (healthy, not cordoned), else 0 (gauge).
pub const BACKEND_UP: &str = "bts_gateway_backend_up";
/// A backend's head block number (gauge).
pub const BACKEND_HEAD: &str = "bts_gateway_backend_head_block";
/// Blocks a backend's head is behind its network's corroborated head (gauge).
pub const BACKEND_LAG: &str = "bts_gateway_backend_head_lag_blocks";
/// 1 while a network's chain is stalled (every head old), else 0 (gauge).
pub const CHAIN_STALLED: &str = "bts_gateway_chain_stalled";
/// Open client WebSocket sessions, by network (gauge).
pub const WS_SESSIONS: &str = "bts_gateway_ws_sessions";
/// Client WebSocket sessions opened, by network (counter).
pub const WS_SESSIONS_OPENED: &str = "bts_gateway_ws_sessions_opened_total";
/// WebSocket sessions moved to another backend, by network and outcome (counter).
pub const WS_FAILOVERS: &str = "bts_gateway_ws_failovers_total";
/// Cache lookups, by network and result: hit, miss, collapsed (counter).
pub const CACHE: &str = "bts_gateway_cache_lookups_total";
/// Requests or connections refused by a limit, by limit (counter).
pub const LIMITED: &str = "bts_gateway_limited_total";
/// Bytes received from clients, by network (counter, bytes).
pub const CLIENT_BYTES: &str = "bts_gateway_client_received_bytes_total";
/// Configuration reloads, by result (counter).
pub const RELOADS: &str = "bts_gateway_config_reloads_total";

/// Histogram buckets for every `_seconds` metric: 0.5 ms to 10 s.
const SECONDS_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The API method names that get their own label value (database, network_broadcast, history,
/// login, asset, orders, block and custom_operations APIs of witness_node), sorted.
pub const KNOWN_METHODS: &[&str] = &[
    "asset",
    "block",
    "broadcast_block",
    "broadcast_transaction",
    "broadcast_transaction_synchronous",
    "broadcast_transaction_with_callback",
    "call",
    "cancel_all_subscriptions",
    "crypto",
    "custom_operations",
    "database",
    "debug",
    "get_24_volume",
    "get_account_balances",
    "get_account_by_name",
    "get_account_count",
    "get_account_history",
    "get_account_history_by_operations",
    "get_account_history_operations",
    "get_account_limit_orders",
    "get_account_references",
    "get_accounts",
    "get_all_asset_holders",
    "get_all_workers",
    "get_api_by_name",
    "get_asset_count",
    "get_asset_holders",
    "get_asset_holders_count",
    "get_assets",
    "get_available_api_sets",
    "get_balance_objects",
    "get_block",
    "get_block_header",
    "get_block_header_batch",
    "get_blocks",
    "get_call_orders",
    "get_call_orders_by_account",
    "get_chain_id",
    "get_chain_properties",
    "get_collateral_bids",
    "get_committee_count",
    "get_committee_member_by_account",
    "get_committee_members",
    "get_config",
    "get_dynamic_global_properties",
    "get_fill_order_history",
    "get_full_accounts",
    "get_global_properties",
    "get_grouped_limit_orders",
    "get_htlc",
    "get_info",
    "get_key_references",
    "get_limit_orders",
    "get_limit_orders_by_account",
    "get_margin_positions",
    "get_market_history",
    "get_market_history_buckets",
    "get_named_account_balances",
    "get_next_object_id",
    "get_objects",
    "get_order_book",
    "get_potential_address_signatures",
    "get_potential_signatures",
    "get_proposed_transactions",
    "get_recent_transaction_by_id",
    "get_relative_account_history",
    "get_required_fees",
    "get_required_signatures",
    "get_settle_orders",
    "get_storage_info",
    "get_ticker",
    "get_top_markets",
    "get_trade_history",
    "get_trade_history_by_sequence",
    "get_transaction",
    "get_transaction_hex",
    "get_vested_balances",
    "get_vesting_balances",
    "get_witness_by_account",
    "get_witness_count",
    "get_witnesses",
    "get_worker_count",
    "get_workers_by_account",
    "history",
    "is_public_key_registered",
    "list_assets",
    "login",
    "lookup_account_names",
    "lookup_accounts",
    "lookup_asset_symbols",
    "lookup_committee_member_accounts",
    "lookup_vote_ids",
    "lookup_witness_accounts",
    "network_broadcast",
    "network_node",
    "orders",
    "set_auto_subscription",
    "set_block_applied_callback",
    "set_pending_transaction_callback",
    "set_subscribe_callback",
    "subscribe_to_market",
    "unsubscribe_from_market",
    "validate_transaction",
    "verify_account_authority",
    "verify_authority",
];

/// The label value for a method: itself if known, else `other` (so a client cannot create series).
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .binary_search(&method)
        .map_or("other", |i| KNOWN_METHODS[i])
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A backend answered with a result.
    Ok,
    /// Answered from the cache.
    Cached,
    /// A backend answered with an error object (the client's call failed on the chain).
    NodeError,
    /// Every backend tried failed before answering (refused, reset, 5xx).
    UpstreamError,
    /// No answer within the request timeout.
    Timeout,
    /// No healthy backend to send it to.
    NoBackend,
    /// Refused by a rate or size limit.
    Limited,
    /// The method is on the network's deny list.
    Denied,
    /// Not a valid JSON-RPC request.
    BadRequest,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Cached => "cached",
            Outcome::NodeError => "node_error",
            Outcome::UpstreamError => "upstream_error",
            Outcome::Timeout => "timeout",
            Outcome::NoBackend => "no_backend",
            Outcome::Limited => "limited",
            Outcome::Denied => "denied",
            Outcome::BadRequest => "bad_request",
        }
    }
}

/// Which limit refused something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The per-address request rate.
    Rate,
    /// WebSockets per address.
    WsPerIp,
    /// WebSockets in all.
    WsTotal,
    /// A message over `max-message-bytes`.
    MessageSize,
    /// Headers not received within `header-read-timeout`.
    HeaderTimeout,
    /// A request body not received within `body-read-timeout`.
    BodyTimeout,
    /// A TLS handshake not done within `header-read-timeout`.
    HandshakeTimeout,
    /// A batch longer than `max-batch-length`.
    BatchLength,
}

impl Limit {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Rate => "rate",
            Limit::WsPerIp => "ws_per_ip",
            Limit::WsTotal => "ws_total",
            Limit::MessageSize => "message_size",
            Limit::HeaderTimeout => "header_timeout",
            Limit::BodyTimeout => "body_timeout",
            Limit::HandshakeTimeout => "handshake_timeout",
            Limit::BatchLength => "batch_length",
        }
    }
}

/// A cache lookup's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheResult {
    /// Answered from the cache.
    Hit,
    /// Not cached (or not cacheable): asked a backend.
    Miss,
    /// Joined an identical call already in flight.
    Collapsed,
}

impl CacheResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheResult::Hit => "hit",
            CacheResult::Miss => "miss",
            CacheResult::Collapsed => "collapsed",
        }
    }
}

/// A recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static INSTALLING: Mutex<()> = Mutex::new(());

/// The recorder the gateway installs: every `_seconds` metric as a histogram with
/// buckets from 0.5 ms to 10 s.
pub fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
        .expect("the bucket list is not empty")
}

/// Installs the Prometheus recorder as the process's global recorder and describes every metric.
/// Only the first call installs; later calls return the same handle. Fails if another recorder
/// was installed by someone else.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    // Serialized, so two gateways starting at once in one process share one recorder.
    let _once = INSTALLING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = builder().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| MetricsError(e.to_string()))?;
    describe();
    bts_tls::metrics::describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The installed recorder's handle, if [`install`] ran.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE.get().cloned()
}

/// The `/metrics` text (Prometheus exposition format); empty without [`install`].
pub fn render() -> String {
    HANDLE.get().map_or_else(String::new, |h| {
        h.run_upkeep();
        h.render()
    })
}

/// Describes every metric to the current recorder (done by [`install`]).
pub fn describe() {
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "JSON-RPC requests answered, by network, backend, method and outcome."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer."
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Time a backend took to answer a proxied request."
    );
    describe_counter!(
        RETRIES,
        Unit::Count,
        "Requests sent again to another backend after a failure."
    );
    describe_counter!(
        HEALTH_CHECKS,
        Unit::Count,
        "Health checks, by result: ok, lagging, stopped, wrong_chain, timeout, error."
    );
    describe_histogram!(
        HEALTH_CHECK_DURATION,
        Unit::Seconds,
        "Time a health check's get_dynamic_global_properties took."
    );
    describe_gauge!(
        BACKEND_UP,
        Unit::Count,
        "1 when the backend takes new work (healthy, not cordoned), else 0."
    );
    describe_gauge!(
        BACKEND_HEAD,
        Unit::Count,
        "The backend's head block number at its last check."
    );
    describe_gauge!(
        BACKEND_LAG,
        Unit::Count,
        "Blocks the backend's head is behind the network's corroborated head."
    );
    describe_gauge!(
        CHAIN_STALLED,
        Unit::Count,
        "1 while every head of the network is old (the chain stalled), else 0."
    );
    describe_gauge!(WS_SESSIONS, Unit::Count, "Open client WebSocket sessions.");
    describe_counter!(WS_SESSIONS_OPENED, Unit::Count, "Client WebSocket sessions opened.");
    describe_counter!(
        WS_FAILOVERS,
        Unit::Count,
        "WebSocket sessions moved to another backend, by outcome."
    );
    describe_counter!(CACHE, Unit::Count, "Cache lookups, by result: hit, miss, collapsed.");
    describe_counter!(LIMITED, Unit::Count, "Requests or connections refused by a limit.");
    describe_counter!(CLIENT_BYTES, Unit::Bytes, "Bytes received from clients.");
    describe_counter!(RELOADS, Unit::Count, "Configuration reloads, by result: ok, error.");
}

/// Number of [`Outcome`] variants.
const OUTCOMES: usize = 9;

impl Outcome {
    fn index(self) -> usize {
        self as usize
    }
}

/// Index of a method's label: its place in [`KNOWN_METHODS`], or one past the end for `other`.
fn method_index(method: &str) -> usize {
    KNOWN_METHODS.binary_search(&method).unwrap_or(KNOWN_METHODS.len())
}

/// The request metrics of one network and backend, with their handles made on first use: the
/// request path then neither allocates label strings nor looks the series up in the registry
/// (that lookup was a tenth of a proxied request's cost). Handles live as long as their backend.
pub struct RequestMetrics {
    network: String,
    backend: String,
    requests: Box<[OnceLock<Counter>]>,
    durations: Box<[OnceLock<Histogram>]>,
    upstream: OnceLock<Histogram>,
}

impl std::fmt::Debug for RequestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("network", &self.network)
            .field("backend", &self.backend)
            .finish()
    }
}

impl RequestMetrics {
    /// The metrics of requests on `network` answered by `backend` (`None`: by the gateway itself).
    pub fn new(network: &str, backend: Option<&str>) -> RequestMetrics {
        let methods = KNOWN_METHODS.len() + 1;
        RequestMetrics {
            network: network.to_owned(),
            backend: backend.unwrap_or("none").to_owned(),
            requests: (0..methods * OUTCOMES).map(|_| OnceLock::new()).collect(),
            durations: (0..methods).map(|_| OnceLock::new()).collect(),
            upstream: OnceLock::new(),
        }
    }

    /// A request answered: counts it and records its duration (the same series as [`request`]).
    pub fn request(&self, method: &str, outcome: Outcome, seconds: f64) {
        let m = method_index(method);
        let label = KNOWN_METHODS.get(m).copied().unwrap_or("other");
        self.requests[m * OUTCOMES + outcome.index()]
            .get_or_init(|| {
                counter!(REQUESTS, "network" => self.network.clone(), "backend" => self.backend.clone(),
                    "method" => label, "outcome" => outcome.as_str())
            })
            .increment(1);
        self.durations[m]
            .get_or_init(|| histogram!(REQUEST_DURATION, "network" => self.network.clone(), "method" => label))
            .record(seconds);
    }

    /// A backend's answer time (the same series as [`upstream`]).
    pub fn upstream(&self, seconds: f64) {
        self.upstream
            .get_or_init(
                || histogram!(UPSTREAM_DURATION, "network" => self.network.clone(), "backend" => self.backend.clone()),
            )
            .record(seconds);
    }
}

/// A request answered: counts it and records its duration.
pub fn request(network: &str, backend: Option<&str>, method: &str, outcome: Outcome, seconds: f64) {
    let method = method_label(method);
    counter!(REQUESTS, "network" => network.to_owned(), "backend" => backend.unwrap_or("none").to_owned(),
        "method" => method, "outcome" => outcome.as_str())
    .increment(1);
    histogram!(REQUEST_DURATION, "network" => network.to_owned(), "method" => method).record(seconds);
}

/// A backend's answer to a proxied request (recorded by [`crate::Backend::observe`]).
pub fn upstream(network: &str, backend: &str, seconds: f64) {
    histogram!(UPSTREAM_DURATION, "network" => network.to_owned(), "backend" => backend.to_owned()).record(seconds);
}

/// A request sent again to another backend.
pub fn retry(network: &str) {
    counter!(RETRIES, "network" => network.to_owned()).increment(1);
}

/// A client WebSocket session opened.
pub fn ws_session_opened(network: &str) {
    counter!(WS_SESSIONS_OPENED, "network" => network.to_owned()).increment(1);
    gauge!(WS_SESSIONS, "network" => network.to_owned()).increment(1.0);
}

/// A client WebSocket session closed.
pub fn ws_session_closed(network: &str) {
    gauge!(WS_SESSIONS, "network" => network.to_owned()).decrement(1.0);
}

/// A session moved (`ok`) or could not be moved to another backend.
pub fn ws_failover(network: &str, ok: bool) {
    counter!(WS_FAILOVERS, "network" => network.to_owned(), "outcome" => if ok { "ok" } else { "failed" }).increment(1);
}

/// A cache lookup.
pub fn cache(network: &str, result: CacheResult) {
    counter!(CACHE, "network" => network.to_owned(), "result" => result.as_str()).increment(1);
}

/// Something refused by a limit.
pub fn limited(limit: Limit) {
    counter!(LIMITED, "limit" => limit.as_str()).increment(1);
}

/// Bytes received from a client.
pub fn client_bytes(network: &str, bytes: usize) {
    counter!(CLIENT_BYTES, "network" => network.to_owned()).increment(bytes as u64);
}

/// A configuration reload.
pub fn reload(ok: bool) {
    counter!(RELOADS, "result" => if ok { "ok" } else { "error" }).increment(1);
}

/// A health check's result (`ok`, `lagging`, `stopped`, `wrong_chain`, `timeout`, `error`) and
/// duration when it answered.
pub(crate) fn health_check(network: &str, backend: &str, result: &'static str, seconds: Option<f64>) {
    counter!(HEALTH_CHECKS, "network" => network.to_owned(), "backend" => backend.to_owned(), "result" => result)
        .increment(1);
    if let Some(s) = seconds {
        histogram!(HEALTH_CHECK_DURATION, "network" => network.to_owned(), "backend" => backend.to_owned()).record(s);
    }
}

/// A backend's state after a check.
pub(crate) fn backend_state(network: &str, backend: &str, up: bool, head: Option<u32>, lag: Option<u32>) {
    gauge!(BACKEND_UP, "network" => network.to_owned(), "backend" => backend.to_owned()).set(f64::from(u8::from(up)));
    if let Some(h) = head {
        gauge!(BACKEND_HEAD, "network" => network.to_owned(), "backend" => backend.to_owned()).set(f64::from(h));
    }
    if let Some(l) = lag {
        gauge!(BACKEND_LAG, "network" => network.to_owned(), "backend" => backend.to_owned()).set(f64::from(l));
    }
}

/// Whether a network's chain is stalled.
pub(crate) fn chain_stalled(network: &str, stalled: bool) {
    gauge!(CHAIN_STALLED, "network" => network.to_owned()).set(f64::from(u8::from(stalled)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_are_sorted_and_unique() {
        assert!(
            KNOWN_METHODS.windows(2).all(|w| w[0] < w[1]),
            "keep KNOWN_METHODS sorted"
        );
        assert_eq!(method_label("get_block"), "get_block");
        assert_eq!(method_label("get_blockx"), "other");
        assert_eq!(method_label(""), "other");
    }

    #[test]
    fn metrics_render_with_descriptions_and_buckets() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            request("mainnet", Some("ws://n1"), "get_block", Outcome::Ok, 0.002);
            request("mainnet", None, "evil\"method", Outcome::Denied, 0.0001);
            cache("mainnet", CacheResult::Hit);
            limited(Limit::Rate);
            backend_state("mainnet", "ws://n1", true, Some(10), Some(0));
        });
        let text = handle.render();
        for needle in [
            "# HELP bts_gateway_requests_total JSON-RPC requests answered",
            "bts_gateway_requests_total{network=\"mainnet\",backend=\"ws://n1\",method=\"get_block\",outcome=\"ok\"} 1",
            "method=\"other\",outcome=\"denied\"",
            "bts_gateway_request_duration_seconds_bucket{network=\"mainnet\",method=\"get_block\",le=\"0.0025\"} 1",
            "bts_gateway_cache_lookups_total{network=\"mainnet\",result=\"hit\"} 1",
            "bts_gateway_limited_total{limit=\"rate\"} 1",
            "bts_gateway_backend_up{network=\"mainnet\",backend=\"ws://n1\"} 1",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
