//! The REST API: health, the registry under `/v1/tenants` and live reads.

mod health;
mod live;
mod registry;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

/// Health, registry and live-read routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(registry::routes())
        .merge(live::routes())
}
