//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tally_protocol::{ErrorCode, TenantId};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store takes writes (the node's storage health) and answers a read now.
///
/// # Errors
/// `unavailable` (503) while the storage health is degraded or failed, or when the read fails
/// (which degrades it).
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({ "status": "ready", "node": state.settings.node.node_id }),
    ))
}
