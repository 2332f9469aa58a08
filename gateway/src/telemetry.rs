//! Gateway metrics (names defined once) and the Prometheus endpoint.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Counter: HTTP requests (labels `route`, `status`).
pub const HTTP_REQUESTS: &str = "tally_http_requests_total";
/// Histogram: HTTP request seconds (label `route`).
pub const HTTP_SECONDS: &str = "tally_http_request_seconds";
/// Gauge: open sensor WebSocket connections.
pub const SENSOR_CONNECTIONS: &str = "tally_sensor_connections";
/// Gauge: open display WebSocket connections.
pub const DISPLAY_CONNECTIONS: &str = "tally_display_connections";
/// Counter: connections closed at once because the node or their source address was at its
/// connection limit (`http.max_connections`, `http.max_connections_per_source`).
pub const CONNECTIONS_REFUSED: &str = "tally_http_connections_refused_total";
/// Counter: fetches of `auth.jwks_url` that failed (the last good keys stayed in force).
pub const JWKS_REFRESH_FAILURES: &str = "tally_jwks_refresh_failures_total";
/// Counter: connections closed at once because their source address opened connections faster
/// than `http.connection_rate_per_source` (bursts of `http.connection_burst_per_source`).
pub const CONNECTIONS_RATE_LIMITED: &str = "tally_http_connections_rate_limited_total";
/// Counter: frames and requests rejected (label `code`).
pub const REJECTED: &str = "tally_rejected_total";
/// Counter: requests, frames and connections refused for a tenant's quota (labels `tenant`,
/// `quota`: readings, requests, connections).
pub const QUOTA_REFUSALS: &str = "tally_quota_refusals_total";
/// Counter: times the cluster-wide rate budget in Redis could not be asked, so that the node's
/// own bucket decided alone (label `quota`: readings, requests).
pub const QUOTA_SHARED_UNAVAILABLE: &str = "tally_quota_shared_unavailable_total";
/// Histogram: seconds from receiving a sensor frame to acknowledging it.
pub const ACK_SECONDS: &str = "tally_sensor_ack_seconds";

/// Gives every metric above its Prometheus HELP text (from the comments above); call once
/// the recorder is installed.
pub fn describe() {
    crate::audit::describe();
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests (labels route, status).");
    metrics::describe_histogram!(HTTP_SECONDS, "HTTP request seconds (label route).");
    metrics::describe_gauge!(SENSOR_CONNECTIONS, "Open sensor WebSocket connections.");
    metrics::describe_gauge!(DISPLAY_CONNECTIONS, "Open display WebSocket connections.");
    metrics::describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections closed at once because the node or their source address was at its connection limit (http.max_connections, http.max_connections_per_source)."
    );
    metrics::describe_counter!(
        JWKS_REFRESH_FAILURES,
        "Fetches of auth.jwks_url that failed (the last good keys stayed in force)."
    );
    metrics::describe_counter!(
        CONNECTIONS_RATE_LIMITED,
        "Connections closed at once because their source address opened connections faster than http.connection_rate_per_source (bursts of http.connection_burst_per_source)."
    );
    metrics::describe_counter!(REJECTED, "Frames and requests rejected (label code).");
    metrics::describe_counter!(
        QUOTA_REFUSALS,
        "Requests, frames and connections refused for a tenant's quota (labels tenant, quota: readings, requests, connections)."
    );
    metrics::describe_counter!(
        QUOTA_SHARED_UNAVAILABLE,
        "Times the cluster-wide rate budget in Redis could not be asked and the node's own bucket decided alone (label quota: readings, requests)."
    );
    metrics::describe_histogram!(
        ACK_SECONDS,
        "Seconds from receiving a sensor frame to acknowledging it."
    );
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Buckets of every `…_seconds` histogram (latencies: an ack, a group commit, an HTTP request, a
/// retention sweep), from half a millisecond to a minute, so that quantiles across nodes are a
/// PromQL `histogram_quantile` over summed buckets.
pub const SECONDS_BUCKETS: [f64; 16] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];
/// Buckets of every `…_rows` histogram (rows per group commit).
pub const ROWS_BUCKETS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// Histograms (never summaries, whose quantiles cannot be combined across nodes) with the
/// buckets above.
fn buckets(builder: PrometheusBuilder) -> PrometheusBuilder {
    let with = |builder: PrometheusBuilder, suffix: &str, buckets: &[f64]| {
        builder
            .set_buckets_for_metric(Matcher::Suffix(suffix.to_owned()), buckets)
            .expect("bucket lists are non-empty")
    };
    let builder = with(builder, "_seconds", &SECONDS_BUCKETS);
    with(builder, "_rows", &ROWS_BUCKETS)
}

/// Installs the Prometheus recorder once per process (later calls reuse it).
pub fn install() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = buckets(PrometheusBuilder::new()).build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what reaches this one");
        }
        tally_cluster::describe_metrics();
        describe();
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .ok();
        handle
    })
}

/// `GET /metrics`: Prometheus text format, for the scrape token (or the admin token) only: it
/// names every tenant and its volume.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("metrics_token" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The node's metrics, Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn render(_scraper: crate::auth::MetricsScraper) -> String {
    install().render()
}

/// Counts a rejected frame or request by its code.
pub fn rejected(code: tally_protocol::ErrorCode) {
    metrics::counter!(REJECTED, "code" => code.as_str()).increment(1);
}

/// Counts a refusal for `tenant`'s `quota` (readings, requests, connections).
pub(crate) fn quota_refused(tenant: &tally_protocol::TenantId, quota: &'static str) {
    let tenant = tally_cluster::tenant_label(tenant.as_str(), 0);
    metrics::counter!(QUOTA_REFUSALS, "tenant" => tenant, "quota" => quota).increment(1);
}

/// Counts a rate decision taken by the node's own bucket alone, Redis being unavailable.
pub(crate) fn shared_budget_unavailable(quota: &'static str) {
    metrics::counter!(QUOTA_SHARED_UNAVAILABLE, "quota" => quota).increment(1);
}

/// Middleware: counts and times requests by matched route (bounded labels).
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(HTTP_SECONDS, "route" => route).record(started.elapsed().as_secs_f64());
    response
}

/// An open connection, counted in a gauge until it is dropped (however the session ends).
#[derive(Debug)]
pub struct ConnectionGauge(&'static str);

impl ConnectionGauge {
    /// Counts a connection in the gauge `name`.
    pub fn open(name: &'static str) -> Self {
        metrics::gauge!(name).increment(1.0);
        Self(name)
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}
