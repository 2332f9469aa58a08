//! Group-commit writes and range reads of readings, room states and rollups.
//!
//! A [`WriteBatch`] is one transaction: per tenant in the batch, the tenant is entered again
//! (`enter_tenant()`: `app.tenant` set, erasure mark checked under the tenant's shared advisory
//! lock), its offices' owner tokens are checked (`fencing.rs`), and three multi-row statements
//! run, each one statement however many rows (`unnest` of arrays): readings
//! `ON CONFLICT DO NOTHING` (a replayed reading is the same reading), room states and rollups
//! upserted. An erased tenant or a fenced office rolls the whole transaction back. The commit is durable (`synchronous_commit = on` on every connection).
//! If the commit's outcome is unknown (connection lost), the batch may or may not be there;
//! replaying it is harmless.

use std::collections::BTreeMap;

use tally_protocol::{RoomId, SensorId, TenantId, TimestampMs};

use super::{
    Inner,
    errors::{backend, corrupt, pg},
    fencing,
    registry::query,
    rollup_rows::{self, ROOM_ROLLUPS, RollupRows},
};
use crate::{
    Page, PageRequest, ReadingCursor, ReadingsPage, Resolution, Rollup, RollupsPage, RoomState,
    StoreError, StoredReading, TimeRange, WriteBatch,
};

/// Rows of one tenant in a batch, as column arrays.
#[derive(Default)]
struct TenantRows<'a> {
    /// Office → the lowest owner token of the batch for it.
    tokens: BTreeMap<&'a str, u64>,
    readings: ReadingColumns<'a>,
    /// Room → its encoded state; a room listed twice keeps its last state.
    states: BTreeMap<&'a str, Vec<u8>>,
    /// The rooms' rollups.
    rollups: RollupRows<'a>,
}

/// The columns of the readings of one tenant.
#[derive(Default)]
struct ReadingColumns<'a> {
    room: Vec<&'a str>,
    ts: Vec<i64>,
    sensor: Vec<&'a str>,
    seq: Vec<i64>,
    count: Vec<i64>,
    received_at: Vec<i64>,
}

const INSERT_READINGS: &str = "INSERT INTO readings \
     (tenant_id, room_id, ts, sensor_id, seq, count, received_at) \
     SELECT $1::text, * FROM unnest($2::text[], $3::int8[], $4::text[], $5::int8[], $6::int8[], $7::int8[]) \
     ON CONFLICT DO NOTHING";
const UPSERT_STATES: &str = "INSERT INTO room_state (tenant_id, room_id, state) \
     SELECT $1::text, * FROM unnest($2::text[], $3::bytea[]) \
     ON CONFLICT (tenant_id, room_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()";
/// Writes a whole batch in one transaction; returns once it is committed.
pub(super) async fn write_batch(inner: &Inner, batch: &WriteBatch) -> Result<(), StoreError> {
    let mut tenants: BTreeMap<&str, TenantRows<'_>> = BTreeMap::new();
    for room in &batch.rooms {
        let rows = tenants.entry(room.tenant.as_str()).or_default();
        rows.tokens
            .entry(room.office.as_str())
            .and_modify(|token| *token = (*token).min(room.owner_token))
            .or_insert(room.owner_token);
        for (sensor, reading) in &room.readings {
            let columns = &mut rows.readings;
            columns.room.push(room.room.as_str());
            columns.ts.push(reading.ts);
            columns.sensor.push(sensor.as_str());
            columns.seq.push(i64::try_from(reading.seq).map_err(|_| {
                backend(format!(
                    "seq {} does not fit a PostgreSQL bigint",
                    reading.seq
                ))
            })?);
            columns.count.push(i64::from(reading.count));
            columns.received_at.push(reading.received_at);
        }
        rows.states
            .insert(room.room.as_str(), encode_state(&room.state)?);
        for rollup in &room.rollups {
            rollup_rows::add(&mut rows.rollups, room.room.as_str(), rollup);
        }
    }
    if tenants.is_empty() {
        return Ok(());
    }

    let mut client = inner.client().await?;
    let timestamps = tenants
        .values()
        .flat_map(|rows| rows.readings.ts.iter().copied());
    inner.partitions.prepare(&client, timestamps).await?;
    let tx = client.transaction().await.map_err(pg)?;
    let enter_tenant = tx
        .prepare_cached("SELECT enter_tenant($1, true)")
        .await
        .map_err(pg)?;
    let insert_readings = tx.prepare_cached(INSERT_READINGS).await.map_err(pg)?;
    let upsert_states = tx.prepare_cached(UPSERT_STATES).await.map_err(pg)?;
    for (tenant, rows) in &tenants {
        let erased: bool = tx
            .query_one(&enter_tenant, &[tenant])
            .await
            .map_err(pg)?
            .get(0);
        if erased {
            return Err(StoreError::Erased(tenant_id(tenant)?));
        }
        fencing::check(&tx, tenant, &rows.tokens).await?;
        let r = &rows.readings;
        if !r.ts.is_empty() {
            tx.execute(
                &insert_readings,
                &[
                    tenant,
                    &r.room,
                    &r.ts,
                    &r.sensor,
                    &r.seq,
                    &r.count,
                    &r.received_at,
                ],
            )
            .await
            .map_err(pg)?;
        }
        let rooms: Vec<&str> = rows.states.keys().copied().collect();
        let states: Vec<&[u8]> = rows.states.values().map(Vec::as_slice).collect();
        tx.execute(&upsert_states, &[tenant, &rooms, &states])
            .await
            .map_err(pg)?;
        ROOM_ROLLUPS.upsert(&tx, tenant, &rows.rollups).await?;
    }
    tx.commit().await.map_err(pg)
}

/// The last written state of a room.
pub(super) async fn room_state(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
) -> Result<Option<RoomState>, StoreError> {
    let sql = "SELECT state FROM room_state WHERE tenant_id = $1 AND room_id = $2";
    let rows = query(inner, tenant, sql, &[&tenant.as_str(), &room.as_str()]).await?;
    rows.first()
        .map(|row| {
            let bytes: &[u8] = row.try_get(0).map_err(pg)?;
            rmp_serde::from_slice(bytes).map_err(|e| corrupt(format!("room state: {e}")))
        })
        .transpose()
}

/// A page of readings of a room with `ts` in `[from, to)`, ordered by `(ts, sensor, seq)`.
pub(super) async fn readings(
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
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    const COLUMNS: &str = "SELECT sensor_id, seq, ts, count, received_at FROM readings \
               WHERE tenant_id = $1 AND room_id = $2 AND ts >= $3 AND ts < $4";
    let rows = match &page.after {
        None => {
            let sql = format!("{COLUMNS} ORDER BY ts, sensor_id, seq LIMIT $5");
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
                &tenant.as_str(),
                &room.as_str(),
                &range.from,
                &range.to,
                &fetch,
            ];
            query(inner, tenant, &sql, &params).await?
        }
        Some(after) => {
            let seq = i64::try_from(after.seq).unwrap_or(i64::MAX);
            let sql = format!(
                "{COLUMNS} AND (ts, sensor_id, seq) > ($6, $7 COLLATE \"C\", $8) \
                 ORDER BY ts, sensor_id, seq LIMIT $5"
            );
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                &tenant.as_str(),
                &room.as_str(),
                &range.from,
                &range.to,
                &fetch,
                &after.ts,
                &after.sensor.as_str(),
                &seq,
            ];
            query(inner, tenant, &sql, &params).await?
        }
    };
    let items = rows
        .iter()
        .map(|row| {
            let sensor: String = row.try_get(0).map_err(pg)?;
            let sensor = SensorId::new(sensor.clone())
                .map_err(|e| corrupt(format!("stored sensor id {sensor:?}: {e}")))?;
            let (seq, count): (i64, i64) =
                (row.try_get(1).map_err(pg)?, row.try_get(3).map_err(pg)?);
            Ok((
                sensor,
                StoredReading {
                    seq: u64::try_from(seq).map_err(|_| corrupt(format!("reading seq {seq}")))?,
                    ts: row.try_get(2).map_err(pg)?,
                    count: u32::try_from(count)
                        .map_err(|_| corrupt(format!("reading count {count}")))?,
                    received_at: row.try_get(4).map_err(pg)?,
                },
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::from_fetched(items, limit, ReadingCursor::of))
}

/// A page of rollups of a room at `resolution` with `bucket_start` in `[from, to)`, by start.
pub(super) async fn rollups(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
    resolution: Resolution,
    range: TimeRange,
    page: &PageRequest<TimestampMs>,
) -> Result<RollupsPage, StoreError> {
    ROOM_ROLLUPS
        .page(inner, tenant, room.as_str(), resolution, range, page)
        .await
}

/// The rollups of a room at `resolution` with `bucket_start` in one of `ranges`, by start, in
/// one query.
pub(super) async fn rollups_in_ranges(
    inner: &Inner,
    tenant: &TenantId,
    room: &RoomId,
    resolution: Resolution,
    ranges: &[TimeRange],
) -> Result<Vec<Rollup>, StoreError> {
    ROOM_ROLLUPS
        .in_ranges(inner, tenant, room.as_str(), resolution, ranges)
        .await
}

/// Parses a tenant id the batch itself held.
fn tenant_id(tenant: &str) -> Result<TenantId, StoreError> {
    TenantId::new(tenant).map_err(|e| backend(format!("tenant id {tenant:?}: {e}")))
}

/// The stored name of a resolution (as in the JSON form of [`Resolution`]).
pub(super) fn resolution_name(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Minute => "minute",
        Resolution::FifteenMinutes => "fifteen_minutes",
        Resolution::Hour => "hour",
        Resolution::Day => "day",
    }
}

/// Encodes a room state as the embedded store does: MessagePack with field names.
fn encode_state(state: &RoomState) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(state).map_err(|e| backend(format!("cannot encode room state: {e}")))
}
