//! `GET` live occupancy of an office and of a room.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tally_actors::office_occupancy;
use tally_protocol::{DisplayFrame, OfficeId, RoomId, TenantId};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};

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
    let actor = state
        .router
        .office(&tenant, &office)
        .await
        .map_err(|err| hide_tenant(err, &office))?;
    Ok(Json(
        office_occupancy(&actor, room, state.call_timeout).await?,
    ))
}

/// A missing tenant is reported as a missing office, so a caller cannot probe tenant ids.
pub(crate) fn hide_tenant(err: tally_actors::ServiceError, office: &OfficeId) -> ApiError {
    match err {
        tally_actors::ServiceError::NotFound { .. } => ApiError::not_found("office", office),
        other => other.into(),
    }
}
