//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::{ErrorCode, TenantId};

use crate::error::ApiError;
use crate::state::AppState;

/// Answer of `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Answer of `GET /readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// The node's id (`node.node_id`).
    node: String,
}

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process answers", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: the store takes writes (the node's storage health) and answers a read now.
///
/// # Errors
/// `unavailable` (503) while the storage health is degraded or failed, or when the read fails
/// (which degrades it).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The store takes writes and answers reads", body = Ready),
        (status = 503, response = crate::openapi::Unavailable),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    let not_ready = |e: &dyn std::fmt::Display| {
        ApiError::new(ErrorCode::Unavailable, format!("store is not ready: {e}"))
    };
    state.health.check().map_err(|e| not_ready(&e))?;
    let probe = TenantId::new("readiness-probe")
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    if let Err(e) = state.store.tenant(&probe).await {
        state.health.report_failure(&e);
        return Err(not_ready(&e));
    }
    Ok(Json(Ready {
        status: "ready",
        node: state.settings.node.node_id.clone(),
    }))
}
