//! Gateway metrics (names defined once) and the Prometheus endpoint.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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
/// Counter: frames and requests rejected (label `code`).
pub const REJECTED: &str = "tally_rejected_total";
/// Counter: requests, frames and connections refused for a tenant's quota (labels `tenant`,
/// `quota`: readings, requests, connections).
pub const QUOTA_REFUSALS: &str = "tally_quota_refusals_total";
/// Histogram: seconds from receiving a sensor frame to acknowledging it.
pub const ACK_SECONDS: &str = "tally_sensor_ack_seconds";

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder once per process (later calls reuse it).
pub fn install() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what reaches this one");
        }
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
    metrics::counter!(QUOTA_REFUSALS, "tenant" => tenant.to_string(), "quota" => quota)
        .increment(1);
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
