//! Every HTTP route of the gateway.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;
use crate::{api, display, error, ingest, telemetry};

/// Every route of the gateway, over its shared state.
pub(crate) fn routes(state: AppState) -> Router {
    // A declared body over the frame limit is refused before a byte of it is read.
    let body_limit = state.settings.ingest.max_frame_bytes as usize;
    let request_timeout = state.settings.http.request_timeout;
    Router::new()
        .route("/metrics", get(telemetry::render))
        .route("/v1/sensors/connect", get(ingest::sensor_ws::connect))
        .route("/v1/readings", post(ingest::http::post_readings))
        .route("/v1/live", get(display::ws::connect))
        .merge(display::page::routes())
        .merge(api::routes())
        .fallback(error::route_not_found)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .with_state(state)
}
