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

/// `GET /readyz`: the store answers a read.
///
/// # Errors
/// `unavailable` (503) when the store fails.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let probe = TenantId::new("readiness-probe")
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    state
        .store
        .tenant(&probe)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("store is not ready: {e}")))?;
    Ok(Json(
        json!({ "status": "ready", "node": state.settings.node.node_id }),
    ))
}
