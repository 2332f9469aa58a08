//! The REST API: health, the registry under `/v1/tenants`, live reads, retention and erasure,
//! and the cluster's admin routes.

mod cluster;
mod erasure;
mod health;
mod live;
mod registry;
mod retention;

use axum::Router;
use axum::routing::get;

pub(crate) use erasure::ErasureConfirmations;

use crate::state::AppState;

/// Health, registry, live-read, retention and erasure routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(registry::routes())
        .merge(live::routes())
        .merge(retention::routes())
        .merge(erasure::routes())
        .merge(cluster::routes())
}
