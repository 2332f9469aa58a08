//! `GET` live occupancy of an office and of a room.

use axum::Json;
use axum::extract::State;
use tally_protocol::{DisplayFrame, OfficeId, RoomId, TenantId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::error::{ApiError, ApiPath, hide_tenant};
use crate::state::AppState;

/// Live occupancy routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(office_live))
        .routes(routes!(room_live))
}

/// The office now: same shape as a display snapshot frame.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/live",
    tag = "live",
    params(crate::openapi::OfficePath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "A `snapshot` frame of the office, every room", body = DisplayFrame),
        crate::openapi::ReadErrors,
    )
)]
async fn office_live(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
) -> Result<Json<DisplayFrame>, ApiError> {
    live(&state, &principal, tenant, office, None).await
}

/// One room now: same shape as a display snapshot frame.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/live",
    tag = "live",
    params(crate::openapi::RoomPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "A `snapshot` frame of the office with only this room", body = DisplayFrame),
        crate::openapi::ReadErrors,
    )
)]
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
