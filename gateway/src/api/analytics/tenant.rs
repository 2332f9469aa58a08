//! `GET /v1/tenants/{tenant}/utilization`: the figures of a whole tenant, every room of every
//! office summed at the same instants, in UTC (offices may lie in different time zones, so no
//! local clock is the tenant's; working hours are per office and answered per office), from the
//! tenant's stored rollups and raw readings past their frontier.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::analytics::{Resolution, Utilization};
use tally_protocol::{ErrorCode, TenantId};

use super::calendar::utc_clock;
use super::series::{capacity, total};
use super::stored::{Scope, scope_stats};
use super::window::{ApiQuery, WindowQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// The answer of a tenant-wide utilization query.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TenantUtilizationReport {
    tenant: TenantId,
    /// Offices counted.
    offices: usize,
    /// Rooms counted.
    rooms: usize,
    /// Always `UTC`: the buckets are UTC hours and days.
    time_zone: String,
    resolution: Resolution,
    /// Seats: the sum of every room's capacity.
    capacity: u32,
    /// Target utilization used for `above_target_s`.
    target: f64,
    /// The whole range as one bucket.
    total: Utilization,
    /// Every bucket of the range.
    buckets: Vec<Utilization>,
}

/// A tenant's utilization: every room of every office summed at the same instants, per UTC
/// bucket and over the whole range. `working_hours` is refused (each office has its own).
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/utilization",
    tag = "analytics",
    params(crate::openapi::TenantPath, WindowQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The tenant's figures", body = TenantUtilizationReport),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn tenant_utilization(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<TenantUtilizationReport>, ApiError> {
    principal.require_read(&tenant, ("tenant", &tenant))?;
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant", &tenant));
    }
    let clock = utc_clock()?;
    let (window, _) = query.check(&clock.calendar, true)?;
    if window.working_hours {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "working_hours: each office has its own; ask each office's utilization".to_owned(),
        ));
    }
    let offices = state.store.offices(&tenant).await?;
    let mut rooms = Vec::new();
    for office in &offices {
        rooms.extend(state.store.rooms(&tenant, &office.id).await?);
    }
    // The tenant's stored rollups (finalised by its anchor office's owner), raw readings only
    // for what is not rolled up.
    let scope = Scope::Tenant { rooms: &rooms };
    let stats = scope_stats(&state, &tenant, scope, &clock, &window, window.resolution).await?;
    let capacity = capacity(&rooms, window.target);
    Ok(Json(TenantUtilizationReport {
        tenant,
        offices: offices.len(),
        rooms: rooms.len(),
        time_zone: clock.time_zone,
        resolution: window.resolution,
        capacity: capacity.seats,
        target: capacity.target,
        total: Utilization::of(&total(&window, &stats), capacity),
        buckets: stats.iter().map(|b| Utilization::of(b, capacity)).collect(),
    }))
}
