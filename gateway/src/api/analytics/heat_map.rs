//! `GET …/heat-map`: the office's busiest hours, one cell per local weekday and hour.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::analytics::{Resolution, Utilization};
use tally_protocol::{ErrorCode, OfficeId, TenantId};

use super::calendar::office_clock;
use super::series::{capacity, rooms};
use super::stored::{Scope, scope_stats};
use super::window::{ApiQuery, WindowQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// One cell: every such local hour of the range merged.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HeatCell {
    /// 0 = Monday … 6 = Sunday.
    weekday: u8,
    /// Local hour of day, 0 to 23.
    hour: u8,
    /// Time-weighted mean count of the office over those hours.
    mean: Option<f64>,
    /// Highest count in any of them.
    peak: Option<u32>,
    /// Mean ÷ the office's capacity.
    utilization: Option<f64>,
    /// Seconds of those hours with a live sensor.
    coverage_s: f64,
}

/// The answer: 168 cells, Monday 00:00 first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HeatMap {
    tenant: TenantId,
    office: OfficeId,
    time_zone: String,
    cells: Vec<HeatCell>,
}

/// The office's busiest hours: one cell per local weekday and hour of the range.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/heat-map",
    tag = "analytics",
    params(crate::openapi::OfficePath, WindowQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "168 cells, Monday 00:00 first", body = HeatMap),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn heat_map(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<HeatMap>, ApiError> {
    let clock = office_clock(&state, &principal, &tenant, &office).await?;
    let rooms = rooms(&state, &tenant, &office, None).await?;
    let (window, _) = query.check(&clock.calendar, false)?;
    // The office's stored hour rollups, raw readings only for what is not rolled up.
    let scope = Scope::Office {
        office: &office,
        rooms: &rooms,
    };
    let hours = scope_stats(&state, &tenant, scope, &clock, &window, Resolution::Hour).await?;
    let grid = tally_protocol::analytics::heat_map(&clock.calendar, &hours)
        .map_err(|err| ApiError::new(ErrorCode::InvalidRequest, err.to_string()))?;
    let capacity = capacity(&rooms, window.target);
    let cells = (0u8..)
        .zip(&grid)
        .flat_map(|(weekday, row)| {
            (0u8..).zip(row).map(move |(hour, stats)| {
                let figures = Utilization::of(stats, capacity);
                HeatCell {
                    weekday,
                    hour,
                    mean: figures.mean,
                    peak: figures.peak,
                    utilization: figures.utilization,
                    coverage_s: figures.coverage_s,
                }
            })
        })
        .collect();
    Ok(Json(HeatMap {
        tenant,
        office,
        time_zone: clock.time_zone,
        cells,
    }))
}
