//! `GET …/under-used`: the office's rooms below a utilization, least used first, with the
//! numbers behind the ranking ("meeting rooms under 30 % in working hours over 30 days").

use axum::Json;
use axum::extract::State;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use tally_protocol::analytics::{BucketStats, Capacity, Resolution, Utilization};
use tally_protocol::{OfficeId, RoomId, TenantId};
use tally_storage::Room;

use super::calendar::{OfficeClock, office_clock};
use super::series::{rooms, total};
use super::stored::{Scope, coarsest_fitting, scope_stats};
use super::window::{ApiQuery, Window, WindowQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// Rooms whose buckets are read at the same time (their reads run on the blocking pool, their
/// merging on the runtime's workers).
const ROOMS_AT_ONCE: usize = 4;

/// One ranked room.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RankedRoom {
    room: RoomId,
    name: String,
    capacity: u32,
    /// Its figures over the whole range.
    figures: Utilization,
}

/// The answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UnderUsed {
    tenant: TenantId,
    office: OfficeId,
    time_zone: String,
    working_hours: bool,
    /// The threshold: rooms with a utilization below it are listed.
    below: f64,
    /// Rooms under the threshold, least utilized first.
    rooms: Vec<RankedRoom>,
    /// Rooms that cannot be ranked: capacity unset, or no sensor data in the range.
    unranked: Vec<RoomId>,
}

/// The office's rooms below a utilization (`below`), least used first.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/under-used",
    tag = "analytics",
    params(crate::openapi::OfficePath, WindowQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The ranked and the unrankable rooms", body = UnderUsed),
        crate::openapi::ReadErrors,
    )
)]
pub(crate) async fn under_used(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<UnderUsed>, ApiError> {
    let clock = office_clock(&state, &principal, &tenant, &office).await?;
    let (window, _) = query.check(&clock.calendar, false)?;
    // Only the whole range matters: read the coarsest stored buckets that tile it.
    let read = coarsest_fitting(&clock, &window);
    let (mut ranked, mut unranked) = (Vec::new(), Vec::new());
    let rooms = rooms(&state, &tenant, &office, None).await?;
    let totals = room_totals(&state, &tenant, &clock, &window, read, &rooms).await?;
    for (room, whole) in rooms.into_iter().zip(totals) {
        let capacity = Capacity {
            seats: room.capacity,
            target: window.target,
        };
        let figures = Utilization::of(&whole, capacity);
        match figures.utilization {
            None => unranked.push(room.id),
            Some(u) if u < window.below => ranked.push(RankedRoom {
                room: room.id,
                name: room.name,
                capacity: room.capacity,
                figures,
            }),
            Some(_) => {}
        }
    }
    ranked.sort_by(|a, b| {
        a.figures
            .utilization
            .partial_cmp(&b.figures.utilization)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(Json(UnderUsed {
        tenant,
        office,
        time_zone: clock.time_zone,
        working_hours: window.working_hours,
        below: window.below,
        rooms: ranked,
        unranked,
    }))
}

/// Each room's buckets over the whole window merged into one (read at `read`), several rooms
/// at a time, in the order of `rooms`.
async fn room_totals(
    state: &AppState,
    tenant: &TenantId,
    clock: &OfficeClock,
    window: &Window,
    read: Resolution,
    rooms: &[Room],
) -> Result<Vec<BucketStats>, ApiError> {
    let reads: Vec<_> = (rooms.iter())
        .map(|room| async move {
            let scope = Scope::Room(room);
            let buckets = scope_stats(state, tenant, scope, clock, window, read).await?;
            Ok::<_, ApiError>(total(window, &buckets))
        })
        .collect();
    stream::iter(reads)
        .buffered(ROOMS_AT_ONCE)
        .try_collect()
        .await
}
