//! Batch writes (checked against owner tokens and erasure marks), owner tokens, and paged reads
//! of readings and rollups in the embedded store.

use std::collections::BTreeMap;

use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use super::{
    Inner,
    codec::{backend, decode, encode},
    keys,
};
use crate::{
    AreaRollupWrite, Page, PageRequest, ReadingCursor, ReadingsPage, Resolution, RollupArea,
    RollupsPage, StoreError, TimeRange, WriteBatch,
};

/// Writes a whole batch as one fsynced fjall batch across keyspaces, unless a tenant of it is
/// erased or an office of it is fenced (then nothing is written).
///
/// Rows are collected per keyspace first, so a key written twice in the batch (a room listed
/// twice) deterministically keeps its last value. The checks and the commit happen under the
/// write lock, so no token increment or erasure mark slips in between.
pub(super) fn write_batch(inner: &Inner, batch: &WriteBatch) -> Result<(), StoreError> {
    let mut readings = BTreeMap::new();
    let mut states = BTreeMap::new();
    let mut rollups = BTreeMap::new();
    // (tenant, office) → lowest token of the batch for it.
    let mut tokens: BTreeMap<(&TenantId, &OfficeId), u64> = BTreeMap::new();
    for room in &batch.rooms {
        tokens
            .entry((&room.tenant, &room.office))
            .and_modify(|token| *token = (*token).min(room.owner_token))
            .or_insert(room.owner_token);
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
    if states.is_empty() {
        return Ok(());
    }
    let _guard = inner.lock();
    for ((tenant, office), token) in tokens {
        ensure_owner(inner, tenant, office, token)?;
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
    inner.commit(fjall_batch)
}

/// Fails unless `token` may write for the office: its tenant is not erased and the store holds
/// no higher token for it. Called under the write lock.
fn ensure_owner(
    inner: &Inner,
    tenant: &TenantId,
    office: &OfficeId,
    token: u64,
) -> Result<(), StoreError> {
    inner.ensure_not_erased(tenant)?;
    let current = owner_token(inner, tenant, office)?;
    if token < current {
        return Err(StoreError::Fenced {
            tenant: tenant.clone(),
            office: office.clone(),
            token,
            current,
        });
    }
    Ok(())
}

/// Writes an area's rollups and frontier as one fsynced batch, unless its tenant is erased or
/// the office that fences it is fenced.
pub(super) fn write_area_rollups(inner: &Inner, write: &AreaRollupWrite) -> Result<(), StoreError> {
    let (tenant, area) = (&write.tenant, &write.area);
    let mut rows = Vec::with_capacity(write.rollups.len() + 1);
    for rollup in &write.rollups {
        let key = keys::area_rollup(tenant, area, rollup.resolution, rollup.bucket_start);
        rows.push((key, encode(rollup)?));
    }
    rows.push((
        keys::area_rollup_frontier(tenant, area),
        encode(&write.frontier)?,
    ));
    let _guard = inner.lock();
    ensure_owner(inner, tenant, &write.office, write.owner_token)?;
    let mut batch = inner.durable_batch();
    for (key, value) in rows {
        batch.insert(&inner.rollups, key, value);
    }
    inner.commit(batch)
}

/// The stored owner token of an office (0 without one).
fn owner_token(inner: &Inner, tenant: &TenantId, office: &OfficeId) -> Result<u64, StoreError> {
    let Some(bytes) = inner
        .office_owners
        .get(keys::office_owner(tenant, office))
        .map_err(backend)?
    else {
        return Ok(0);
    };
    let bytes: [u8; 8] = bytes
        .as_ref()
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("owner token of {tenant}/{office}: {bytes:?}")))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Raises an office's owner token by one under the write lock and returns it.
pub(super) fn acquire_office(
    inner: &Inner,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<u64, StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(tenant)?;
    let next = owner_token(inner, tenant, office)?
        .checked_add(1)
        .ok_or_else(|| {
            StoreError::Backend(format!("owner token of {tenant}/{office} overflows"))
        })?;
    let mut batch = inner.durable_batch();
    batch.insert(
        &inner.office_owners,
        keys::office_owner(tenant, office),
        next.to_be_bytes(),
    );
    inner.commit(batch)?;
    Ok(next)
}

/// The first key strictly after `key`.
fn successor(mut key: Vec<u8>) -> Vec<u8> {
    key.push(0);
    key
}

/// A page of readings of a room with `ts` in `[from, to)`, ordered by `(ts, sensor, seq)`.
pub(super) fn readings(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
    range: TimeRange,
    page: &PageRequest<ReadingCursor>,
) -> Result<ReadingsPage, StoreError> {
    if range.from >= range.to {
        return Ok(Page::default());
    }
    let limit = page.clamped_limit();
    let partition_len = keys::room_partition(tenant, room).len();
    let mut start = keys::readings_from(tenant, room, range.from);
    if let Some(after) = &page.after {
        start = start.max(successor(keys::reading(
            tenant,
            room,
            after.ts,
            &after.sensor,
            after.seq,
        )));
    }
    let end = keys::readings_from(tenant, room, range.to);
    if start >= end {
        return Ok(Page::default());
    }
    let items = inner
        .readings
        .range(start..end)
        .take(limit + 1)
        .map(|guard| {
            let (key, value) = guard.into_inner().map_err(backend)?;
            let sensor = keys::reading_sensor(&key, partition_len)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(|id| SensorId::new(id).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("malformed reading key {key:?}")))?;
            Ok((sensor, decode("reading", &value)?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::from_fetched(items, limit, ReadingCursor::of))
}

/// A page of rollups of a room at `resolution` with `bucket_start` in `[from, to)`, by start.
pub(super) fn rollups(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
    resolution: Resolution,
    range: TimeRange,
    page: &PageRequest<TimestampMs>,
) -> Result<RollupsPage, StoreError> {
    rollups_in(inner, range, page, |ts| {
        keys::rollup(tenant, room, resolution, ts)
    })
}

/// A page of rollups of an area at `resolution` with `bucket_start` in `[from, to)`, by start.
pub(super) fn area_rollups(
    inner: &Inner,
    tenant: &TenantId,
    area: &RollupArea,
    resolution: Resolution,
    range: TimeRange,
    page: &PageRequest<TimestampMs>,
) -> Result<RollupsPage, StoreError> {
    rollups_in(inner, range, page, |ts| {
        keys::area_rollup(tenant, area, resolution, ts)
    })
}

/// A page of the rollups whose keys (`key` of a bucket start) start in `range`, after
/// `page.after`.
fn rollups_in(
    inner: &Inner,
    range: TimeRange,
    page: &PageRequest<TimestampMs>,
    key: impl Fn(TimestampMs) -> Vec<u8>,
) -> Result<RollupsPage, StoreError> {
    let Some(from) = page.start_in(range) else {
        return Ok(Page::default());
    };
    rollups_between(inner, key(from), key(range.to), page.clamped_limit())
}

/// Every rollup whose key (`key` of a bucket start) starts in one of `ranges`, in order: one
/// scan per range in one blocking call.
pub(super) fn rollups_in_ranges(
    inner: &Inner,
    ranges: &[TimeRange],
    key: impl Fn(TimestampMs) -> Vec<u8>,
) -> Result<Vec<crate::Rollup>, StoreError> {
    let mut rollups = Vec::new();
    for range in ranges.iter().filter(|r| r.from < r.to) {
        for rollup in scan_rollups(inner, key(range.from), key(range.to)) {
            rollups.push(rollup?);
        }
    }
    Ok(rollups)
}

/// The rollups with keys in `[start, end)`, decoded, in key order.
fn scan_rollups(
    inner: &Inner,
    start: Vec<u8>,
    end: Vec<u8>,
) -> impl Iterator<Item = Result<crate::Rollup, StoreError>> + '_ {
    inner.rollups.range(start..end).map(|guard| {
        let (_, value) = guard.into_inner().map_err(backend)?;
        decode("rollup", &value)
    })
}

/// A page of at most `limit` rollups with keys in `[start, end)`.
fn rollups_between(
    inner: &Inner,
    start: Vec<u8>,
    end: Vec<u8>,
    limit: usize,
) -> Result<RollupsPage, StoreError> {
    let items = scan_rollups(inner, start, end)
        .take(limit + 1)
        .collect::<Result<Vec<crate::Rollup>, StoreError>>()?;
    Ok(Page::from_fetched(items, limit, |rollup| {
        rollup.bucket_start
    }))
}
