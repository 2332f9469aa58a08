//! Every HTTP route of the gateway.

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;
use crate::{api, display, error, ingest, telemetry};

/// Every route of the gateway, over its shared state.
pub(crate) fn routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(telemetry::render))
        .route("/v1/sensors/connect", get(ingest::sensor_ws::connect))
        .route("/v1/readings", post(ingest::http::post_readings))
        .route("/v1/live", get(display::ws::connect))
        .merge(display::page::routes())
        .merge(api::routes())
        .fallback(error::route_not_found)
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .with_state(state)
}
