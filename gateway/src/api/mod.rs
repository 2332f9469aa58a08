//! The REST API: health, the registry under `/v1/tenants`, live reads, retention, erasure,
//! utilization analytics, identity keys and the cluster's admin routes.

mod analytics;
mod audit;
mod cluster;
mod erasure;
mod health;
mod identity_keys;
mod live;
mod log_filter;
mod registry;
mod retention;
mod sensor_keys;
mod token_revocation;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use erasure::ErasureConfirmations;

use crate::state::AppState;

/// Health, registry, live-read, retention and erasure routes, each with its description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .merge(registry::routes())
        .merge(live::routes())
        .merge(retention::routes())
        .merge(erasure::routes())
        .merge(analytics::routes())
        .merge(identity_keys::routes())
        .merge(cluster::routes())
        .merge(token_revocation::routes())
        .merge(log_filter::routes())
        .merge(sensor_keys::routes())
        .merge(audit::routes())
}
