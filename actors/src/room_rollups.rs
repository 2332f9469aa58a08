//! Restoring a room's rollups at start: its office's calendar, and the recent readings and
//! closed buckets a late reading may still change, read back from the store.

use std::time::Duration;

use tally_protocol::analytics::{Calendar, Combine};
use tally_storage::{
    CountMode, MAX_PAGE_LIMIT, PageRequest, Resolution, Room, RoomState, Store, TimeRange,
};

use crate::ServiceError;
use crate::rollup::{RollupRules, RoomRollups};

/// The rollups of `room` as its stored `state` left them. The calendar is the office's when the
/// room starts (UTC without one); a calendar set later applies from the room's next start, and
/// answers check each stored bucket against the calendar they use.
pub(crate) async fn restore(
    store: &dyn Store,
    room: &Room,
    state: &RoomState,
    sensor_timeout: Duration,
    lateness: Duration,
) -> Result<RoomRollups, ServiceError> {
    let calendar = match store.office_calendar(&room.tenant, &room.office).await? {
        Some(office) => Calendar::new(&office.time_zone).unwrap_or_else(|err| {
            tracing::warn!(office = %room.office, %err, "office time zone unknown; rolling up in UTC");
            Calendar::utc()
        }),
        None => Calendar::utc(),
    };
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let rules = RollupRules {
        calendar,
        hold_ms: millis(sensor_timeout),
        combine: match room.count_mode {
            CountMode::Sum => Combine::Sum,
            CountMode::Max => Combine::Max,
        },
        lateness_ms: millis(lateness),
    };
    let mut rollups = RoomRollups::new(rules, state.rollups, state.sensors.is_empty());
    let ranges = rollups
        .restore_ranges()
        .map_err(|err| ServiceError::Storage(format!("rollups of room {}: {err}", room.id)))?;
    let Some(ranges) = ranges else {
        return Ok(rollups);
    };
    let mut readings = Vec::new();
    let range = TimeRange {
        from: ranges.readings_from,
        to: i64::MAX,
    };
    let mut request = Some(PageRequest::first(MAX_PAGE_LIMIT));
    while let Some(page_request) = request {
        let page = store
            .readings(&room.tenant, &room.id, range, page_request)
            .await?;
        request = page.next_request(MAX_PAGE_LIMIT);
        readings.extend(page.items);
    }
    let mut closed = Vec::new();
    for (resolution, from) in Resolution::ALL.into_iter().zip(ranges.rollups_from) {
        let range = TimeRange { from, to: i64::MAX };
        let mut request = Some(PageRequest::first(MAX_PAGE_LIMIT));
        while let Some(page_request) = request {
            let page = store
                .rollups(&room.tenant, &room.id, resolution, range, page_request)
                .await?;
            request = page.next_request(MAX_PAGE_LIMIT);
            closed.extend(page.items);
        }
    }
    rollups.restore(readings, closed);
    Ok(rollups)
}
