//! `GET …/utilization`: the figures of an office (its rooms' counts summed at the same
//! instants) or of one room, per bucket and over the whole range.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::analytics::{Resolution, Utilization};
use tally_protocol::{OfficeId, RoomId, TenantId};

use super::calendar::office_clock;
use super::series::{capacity, rooms, total};
use super::stored::{Scope, scope_stats};
use super::window::{ApiQuery, WindowQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// The answer of a utilization query.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UtilizationReport {
    tenant: TenantId,
    office: OfficeId,
    /// The room, or `null` for the whole office.
    room: Option<RoomId>,
    /// The office's time zone, which the buckets follow.
    time_zone: String,
    resolution: Resolution,
    /// Whether only working hours count.
    working_hours: bool,
    /// Seats: the room's capacity, or the sum of the office's rooms'.
    capacity: u32,
    /// Target utilization used for `above_target_s`.
    target: f64,
    /// The whole range as one bucket.
    total: Utilization,
    /// Every bucket of the range (with working hours, those that hold working time).
    buckets: Vec<Utilization>,
}

/// An office's utilization (its rooms' counts summed at the same instants), per bucket and
/// over the whole range.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/utilization",
    tag = "analytics",
    params(crate::openapi::OfficePath, WindowQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The office's figures", body = UtilizationReport),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn office_utilization(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<UtilizationReport>, ApiError> {
    report(&state, &principal, tenant, office, None, &query).await
}

/// A room's utilization, per bucket and over the whole range.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/utilization",
    tag = "analytics",
    params(crate::openapi::RoomPath, WindowQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The room's figures", body = UtilizationReport),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn room_utilization(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office, room)): ApiPath<(TenantId, OfficeId, RoomId)>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<UtilizationReport>, ApiError> {
    report(&state, &principal, tenant, office, Some(room), &query).await
}

async fn report(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
    office: OfficeId,
    room: Option<RoomId>,
    query: &WindowQuery,
) -> Result<Json<UtilizationReport>, ApiError> {
    let clock = office_clock(state, principal, &tenant, &office).await?;
    let rooms = rooms(state, &tenant, &office, room.as_ref()).await?;
    let (window, _) = query.check(&clock.calendar, true)?;
    // A room's or the office's stored rollups (the office's: its rooms' counts summed at the
    // same instants), raw readings only for what is not rolled up.
    let scope = match (&room, rooms.as_slice()) {
        (Some(_), [record]) => Scope::Room(record),
        _ => Scope::Office {
            office: &office,
            rooms: &rooms,
        },
    };
    let stats = scope_stats(state, &tenant, scope, &clock, &window, window.resolution).await?;
    let capacity = capacity(&rooms, window.target);
    Ok(Json(UtilizationReport {
        tenant,
        office,
        room,
        time_zone: clock.time_zone,
        resolution: window.resolution,
        working_hours: window.working_hours,
        capacity: capacity.seats,
        target: capacity.target,
        total: Utilization::of(&total(&window, &stats), capacity),
        buckets: stats.iter().map(|b| Utilization::of(b, capacity)).collect(),
    }))
}
