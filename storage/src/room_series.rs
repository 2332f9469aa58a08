//! A room's count over a time range as a step function, read from its raw readings: the one
//! reading of stored data into `tally_protocol::analytics` series, shared by the analytics
//! answers (gateway) and the office rollups (actors).

use std::collections::BTreeMap;

use tally_protocol::analytics::Series;
use tally_protocol::{SensorId, TenantId};

use crate::{MAX_PAGE_LIMIT, PageRequest, Room, Store, StoreError, TimeRange};

/// The count of `room` over `range`, from its raw readings (and those `hold_ms`, the sensor
/// timeout, before it, whose counts still hold at its start): each sensor's readings held for
/// the timeout, combined as the room combines its sensors.
pub async fn room_series(
    store: &dyn Store,
    tenant: &TenantId,
    room: &Room,
    range: TimeRange,
    hold_ms: i64,
) -> Result<Series, StoreError> {
    let range = TimeRange {
        from: range.from.saturating_sub(hold_ms),
        to: range.to,
    };
    let mut by_sensor: BTreeMap<SensorId, Vec<(i64, u32)>> = BTreeMap::new();
    let mut request = Some(PageRequest::first(MAX_PAGE_LIMIT));
    while let Some(page_request) = request {
        let page = store
            .readings(tenant, &room.id, range, page_request)
            .await?;
        request = page.next_request(MAX_PAGE_LIMIT);
        for (sensor, reading) in page.items {
            by_sensor
                .entry(sensor)
                .or_default()
                .push((reading.ts, reading.count));
        }
    }
    let sensors: Vec<Series> = by_sensor
        .into_values()
        .map(|readings| Series::from_readings(readings, hold_ms))
        .collect();
    Ok(Series::combine(&sensors, room.count_mode.combine()))
}

/// The count of several rooms (an office) over `range`: summed at the same instants.
pub async fn rooms_series(
    store: &dyn Store,
    tenant: &TenantId,
    rooms: &[Room],
    range: TimeRange,
    hold_ms: i64,
) -> Result<Series, StoreError> {
    let mut parts = Vec::with_capacity(rooms.len());
    for room in rooms {
        parts.push(room_series(store, tenant, room, range, hold_ms).await?);
    }
    Ok(Series::sum(&parts))
}
