//! An office's calendar over HTTP: `GET` for viewers, `PUT` for the tenant's admin; a time zone
//! this build does not know or working hours off quarter hours answer `invalid_request`.

use axum::Json;
use axum::extract::State;
use tally_protocol::analytics::{Calendar, WorkingHours};
use tally_protocol::api::CalendarView;
use tally_protocol::{OfficeId, TenantId};
use tally_storage::OfficeCalendar;

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// What analytics of an office use: its calendar, or UTC and Monday–Friday 08:00–18:00 when
/// none was set.
#[derive(Debug)]
pub(super) struct OfficeClock {
    /// Buckets in the office's local time.
    pub(super) calendar: Calendar,
    /// Its working hours.
    pub(super) working_hours: WorkingHours,
    /// The IANA name of its zone.
    pub(super) time_zone: String,
}

/// The clock of an office with `view` as its calendar.
fn clock(view: CalendarView) -> Result<OfficeClock, ApiError> {
    Ok(OfficeClock {
        calendar: view.calendar()?,
        working_hours: view.working_hours,
        time_zone: view.time_zone,
    })
}

/// The API's view of a stored calendar.
fn view_of(stored: OfficeCalendar) -> CalendarView {
    CalendarView {
        time_zone: stored.time_zone,
        working_hours: WorkingHours {
            weekdays: stored.work_days,
            start: stored.work_start,
            end: stored.work_end,
        },
    }
}

/// Checks the caller may read `office` of `tenant` and that it exists, then its clock.
pub(super) async fn office_clock(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<OfficeClock, ApiError> {
    principal.require_read(tenant, ("office", office))?;
    if state.store.office(tenant, office).await?.is_none() {
        return Err(ApiError::not_found("office", office));
    }
    let stored = state.store.office_calendar(tenant, office).await?;
    clock(stored.map_or_else(CalendarView::office_default, view_of))
}

/// The clock of answers that span offices: UTC, the default working hours (unused there).
pub(super) fn utc_clock() -> Result<OfficeClock, ApiError> {
    clock(CalendarView::office_default())
}

/// `GET …/calendar`: the office's calendar (the default one, UTC and Monday–Friday
/// 08:00–18:00, if none was set).
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/calendar",
    tag = "analytics",
    params(crate::openapi::OfficePath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The office's calendar", body = CalendarView),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn get_calendar(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
) -> Result<Json<CalendarView>, ApiError> {
    let clock = office_clock(&state, &principal, &tenant, &office).await?;
    Ok(Json(CalendarView {
        time_zone: clock.time_zone,
        working_hours: clock.working_hours,
    }))
}

/// `PUT …/calendar`: sets the office's calendar after checking it (a time zone this build does
/// not know or working hours off quarter hours answer `invalid_request`).
#[utoipa::path(
    put,
    path = "/v1/tenants/{tenant}/offices/{office}/calendar",
    tag = "analytics",
    params(crate::openapi::OfficePath),
    request_body = CalendarView,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The office's calendar now", body = CalendarView),
        crate::openapi::AdminBodyErrors,
    )
)]
pub(crate) async fn put_calendar(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiJson(view): ApiJson<CalendarView>,
) -> Result<Json<CalendarView>, ApiError> {
    principal.require_admin(&tenant)?;
    view.calendar()?;
    let stored = OfficeCalendar {
        time_zone: view.time_zone.clone(),
        work_days: view.working_hours.weekdays.clone(),
        work_start: view.working_hours.start.clone(),
        work_end: view.working_hours.end.clone(),
    };
    match state
        .store
        .set_office_calendar(&tenant, &office, &stored)
        .await
    {
        Err(tally_storage::StoreError::NotFound { .. }) => {
            Err(ApiError::not_found("office", &office))
        }
        other => {
            other?;
            state.audit.record(
                "office.calendar_set",
                Some(&tenant),
                format!("office {office}"),
            );
            Ok(Json(view))
        }
    }
}
