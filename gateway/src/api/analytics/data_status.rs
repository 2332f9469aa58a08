//! `GET …/data-status`: how complete each local day of the office is ("Tuesday is 92 %
//! covered"): per day, the share of room-time with a live sensor, and each room's share.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::analytics::Resolution;
use tally_protocol::{ErrorCode, OfficeId, RoomId, TenantId};

use super::calendar::office_clock;
use super::series::rooms;
use super::stored::{Scope, scope_stats};
use super::window::{ApiQuery, Window, WindowQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// One room's coverage of a day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RoomCoverage {
    room: RoomId,
    /// Share of the day (or of its working hours) with a live sensor, 0 to 1.
    coverage: f64,
}

/// One local day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DayStatus {
    /// Local date, `YYYY-MM-DD`.
    date: String,
    /// Day start (ms since the epoch).
    start: i64,
    /// Day end, exclusive: 23, 24 or 25 hours after the start.
    end: i64,
    /// Room-seconds with a live sensor ÷ room-seconds of the day, 0 to 1.
    coverage: f64,
    /// Per room.
    rooms: Vec<RoomCoverage>,
}

/// The answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DataStatus {
    tenant: TenantId,
    office: OfficeId,
    time_zone: String,
    working_hours: bool,
    days: Vec<DayStatus>,
}

/// How complete each local day of the range is: the share of room-time with a live sensor, and
/// each room's share.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/data-status",
    tag = "analytics",
    params(crate::openapi::OfficePath, WindowQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "One entry per local day", body = DataStatus),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn data_status(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<DataStatus>, ApiError> {
    let clock = office_clock(&state, &principal, &tenant, &office).await?;
    let (window, _) = query.check(&clock.calendar, false)?;
    let days = clock
        .calendar
        .buckets(Resolution::Day, window.from, window.to)
        .map_err(|err| ApiError::new(ErrorCode::InvalidRequest, err.to_string()))?;
    // Whole local days, so that each day's coverage counts all of it.
    let window = Window {
        from: days[0].start,
        to: days[days.len() - 1].end,
        ..window
    };
    let mut status: Vec<DayStatus> = Vec::with_capacity(days.len());
    for day in &days {
        status.push(DayStatus {
            date: clock
                .calendar
                .local_date(day.start)
                .map_err(|err| ApiError::new(ErrorCode::InvalidRequest, err.to_string()))?,
            start: day.start,
            end: day.end,
            coverage: 0.0,
            rooms: Vec::new(),
        });
    }
    let mut covered = vec![(0u64, 0u64); days.len()];
    for room in rooms(&state, &tenant, &office, None).await? {
        for bucket in scope_stats(
            &state,
            &tenant,
            Scope::Room(&room),
            &clock,
            &window,
            Resolution::Day,
        )
        .await?
        {
            let Some(i) = days.iter().position(|d| d.start == bucket.start) else {
                continue;
            };
            covered[i].0 += bucket.covered_ms();
            covered[i].1 += bucket.span_ms;
            status[i].rooms.push(RoomCoverage {
                room: room.id.clone(),
                coverage: bucket.coverage(),
            });
        }
    }
    for (day, (covered_ms, span_ms)) in status.iter_mut().zip(covered) {
        day.coverage = if span_ms == 0 {
            0.0
        } else {
            covered_ms as f64 / span_ms as f64
        };
    }
    Ok(Json(DataStatus {
        tenant,
        office,
        time_zone: clock.time_zone,
        working_hours: window.working_hours,
        days: status,
    }))
}
