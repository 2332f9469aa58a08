//! Batch writes and reads of readings, room states and rollups in the embedded store.

use std::collections::BTreeMap;

use tally_protocol::{RoomId, SensorId, TenantId};

use super::{
    Inner,
    codec::{backend, decode, encode},
    keys,
};
use crate::{Resolution, Rollup, StoreError, StoredReading, TimeRange, WriteBatch};

/// Writes a whole batch as one fsynced fjall batch across keyspaces.
///
/// Rows are collected per keyspace first, so a key written twice in the batch (a room listed
/// twice) deterministically keeps its last value.
pub(super) fn write_batch(inner: &Inner, batch: &WriteBatch) -> Result<(), StoreError> {
    let mut readings = BTreeMap::new();
    let mut states = BTreeMap::new();
    let mut rollups = BTreeMap::new();
    for room in &batch.rooms {
        for (sensor, reading) in &room.readings {
            let key = keys::reading(&room.tenant, &room.room, reading.ts, sensor, reading.seq);
            readings.insert(key, encode(reading)?);
        }
        states.insert(
            keys::room_partition(&room.tenant, &room.room),
            encode(&room.state)?,
        );
        for rollup in &room.rollups {
            let key = keys::rollup(
                &room.tenant,
                &room.room,
                rollup.resolution,
                rollup.bucket_start,
            );
            rollups.insert(key, encode(rollup)?);
        }
    }
    if readings.is_empty() && states.is_empty() && rollups.is_empty() {
        return Ok(());
    }
    let mut fjall_batch = inner.durable_batch();
    for (keyspace, rows) in [
        (&inner.readings, readings),
        (&inner.room_state, states),
        (&inner.rollups, rollups),
    ] {
        for (key, value) in rows {
            fjall_batch.insert(keyspace, key, value);
        }
    }
    fjall_batch.commit().map_err(backend)
}

/// Readings of a room with `ts` in `[from, to)`, ordered by `(ts, sensor, seq)`.
pub(super) fn readings(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
    range: TimeRange,
) -> Result<Vec<(SensorId, StoredReading)>, StoreError> {
    if range.from >= range.to {
        return Ok(Vec::new());
    }
    let partition_len = keys::room_partition(tenant, room).len();
    let start = keys::readings_from(tenant, room, range.from);
    let end = keys::readings_from(tenant, room, range.to);
    inner
        .readings
        .range(start..end)
        .map(|guard| {
            let (key, value) = guard.into_inner().map_err(backend)?;
            let sensor = keys::reading_sensor(&key, partition_len)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(|id| SensorId::new(id).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("malformed reading key {key:?}")))?;
            Ok((sensor, decode("reading", &value)?))
        })
        .collect()
}

/// Rollups of a room at `resolution` with `bucket_start` in `[from, to)`, ordered by start.
pub(super) fn rollups(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
    resolution: Resolution,
    range: TimeRange,
) -> Result<Vec<Rollup>, StoreError> {
    if range.from >= range.to {
        return Ok(Vec::new());
    }
    let start = keys::rollup(tenant, room, resolution, range.from);
    let end = keys::rollup(tenant, room, resolution, range.to);
    inner
        .rollups
        .range(start..end)
        .map(|guard| {
            let (_, value) = guard.into_inner().map_err(backend)?;
            decode("rollup", &value)
        })
        .collect()
}
