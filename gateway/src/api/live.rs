//! `GET` live occupancy of an office and of a room.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tally_protocol::{DisplayFrame, OfficeId, RoomId, TenantId};

use crate::auth::Principal;
use crate::error::{ApiError, ApiPath, hide_tenant};
use crate::state::AppState;

/// Live occupancy routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/tenants/{tenant}/offices/{office}/live",
            get(office_live),
        )
        .route(
            "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/live",
            get(room_live),
        )
}

/// The office now: same shape as a display snapshot frame.
async fn office_live(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
) -> Result<Json<DisplayFrame>, ApiError> {
    live(&state, &principal, tenant, office, None).await
}

/// One room now.
async fn room_live(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office, room)): ApiPath<(TenantId, OfficeId, RoomId)>,
) -> Result<Json<DisplayFrame>, ApiError> {
    live(&state, &principal, tenant, office, Some(room)).await
}

async fn live(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
    office: OfficeId,
    room: Option<RoomId>,
) -> Result<Json<DisplayFrame>, ApiError> {
    principal.require_read(&tenant, ("office", &office))?;
    let handle = state
        .router
        .office(&tenant, &office)
        .await
        .map_err(|err| hide_tenant(err, &office))?;
    Ok(Json(handle.occupancy(room).await?))
}
