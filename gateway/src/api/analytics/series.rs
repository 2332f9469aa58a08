//! From stored readings to bucket statistics: each sensor's readings held for the sensor
//! timeout, combined as the room combines its sensors, rolled up in the office's local time.

use tally_protocol::analytics::{BucketStats, Capacity, Series};
use tally_protocol::{ErrorCode, TenantId};
use tally_storage::{Room, TimeRange};

use super::window::Window;
use crate::error::ApiError;
use crate::state::AppState;

/// The count of `room` over the window, from its raw readings (see
/// [`tally_storage::room_series`]).
pub(super) async fn room_series(
    state: &AppState,
    tenant: &TenantId,
    room: &Room,
    window: &Window,
) -> Result<Series, ApiError> {
    let range = TimeRange {
        from: window.from,
        to: window.to,
    };
    Ok(tally_storage::room_series(&*state.store, tenant, room, range, hold_ms(state)).await?)
}

/// The count of several rooms (an office) over the window: summed at the same instants.
pub(super) async fn rooms_series(
    state: &AppState,
    tenant: &TenantId,
    rooms: &[Room],
    window: &Window,
) -> Result<Series, ApiError> {
    let range = TimeRange {
        from: window.from,
        to: window.to,
    };
    Ok(tally_storage::rooms_series(&*state.store, tenant, rooms, range, hold_ms(state)).await?)
}

/// How long a reading's count holds: the sensor timeout.
fn hold_ms(state: &AppState) -> i64 {
    i64::try_from(state.settings.ingest.sensor_timeout.as_millis()).unwrap_or(i64::MAX)
}

/// The capacity of several rooms together: the sum of their seats.
pub(super) fn capacity(rooms: &[Room], target: f64) -> Capacity {
    Capacity {
        seats: rooms.iter().map(|r| r.capacity).sum(),
        target,
    }
}

/// An analytics error as the answer to a bad query.
#[expect(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(failed)`"
)]
pub(super) fn failed(err: tally_protocol::analytics::AnalyticsError) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, err.to_string())
}

/// Every bucket merged into one over the window.
pub(super) fn total(window: &Window, buckets: &[BucketStats]) -> BucketStats {
    let mut total = BucketStats {
        start: window.from,
        end: window.to,
        ..BucketStats::default()
    };
    for bucket in buckets {
        total.merge(bucket);
    }
    total
}

/// The office's rooms, or the one asked for (`not_found` if it is not in the office).
pub(super) async fn rooms(
    state: &AppState,
    tenant: &TenantId,
    office: &tally_protocol::OfficeId,
    only: Option<&tally_protocol::RoomId>,
) -> Result<Vec<Room>, ApiError> {
    let rooms = state.store.rooms(tenant, office).await?;
    match only {
        None => Ok(rooms),
        Some(id) => rooms
            .into_iter()
            .find(|r| &r.id == id)
            .map(|r| vec![r])
            .ok_or_else(|| ApiError::not_found("room", id)),
    }
}
