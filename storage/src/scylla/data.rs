//! Group-commit writes (checked, then written partition by partition, the room state last) and
//! paged range reads over time-bucketed partitions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use std::future::Future;
use tally_protocol::{RoomId, SensorId, TenantId, TimestampMs};

use super::ScyllaStore;
use super::control::TenantControl;
use super::errors::{corrupt, cql};
use super::intent::Stamp;
use super::statements::{BucketedTable, RollupStatements, resolution_index};
use crate::embedded::codec::encode;
use crate::stats_codec::{decode_stats, encode_stats};
use crate::{
    Page, PageRequest, ReadingCursor, ReadingsPage, Resolution, Rollup, RollupsPage, RoomWrite,
    StoreError, StoredReading, TimeRange, WriteBatch,
};

/// Rows per unlogged batch (all of one partition): well under the coordinator's batch size
/// warning for rows of this size.
const ROWS_PER_BATCH: usize = 64;
/// Requests of one group commit in flight at once.
const WRITES_IN_FLIGHT: usize = 32;
/// Cassandra's and ScyllaDB's largest TTL (20 years).
const MAX_TTL_SECONDS: u64 = 630_720_000;
/// The kind of room states in `tenant_partitions` (bucket 0).
pub(super) const STATE_KIND: &str = "room_state";

/// A TTL in seconds for rows kept `keep`.
pub(super) fn ttl(keep: Duration) -> i32 {
    i32::try_from(keep.as_secs().clamp(1, MAX_TTL_SECONDS)).unwrap_or(i32::MAX)
}

/// A value that must fit CQL's signed columns.
fn signed<T: TryInto<i64> + Copy + std::fmt::Display>(
    what: &str,
    value: T,
) -> Result<i64, StoreError> {
    value
        .try_into()
        .map_err(|_| StoreError::Backend(format!("{what} {value} does not fit a CQL bigint")))
}

/// A reading row: ts, sensor, seq, count, received_at.
type ReadingRow = (i64, String, i64, i32, i64);
/// A rollup row: bucket_start, avg, peak, occupied_s, samples, stats.
type RollupRow = (i64, f64, i32, f64, i32, Option<Vec<u8>>);

/// Rows of one partition, with the statement that writes them.
pub(super) struct PartitionRows<V> {
    /// The insert of one row.
    pub(super) statement: PreparedStatement,
    /// Each row's bound values.
    pub(super) values: Vec<V>,
}

impl ScyllaStore {
    /// See [`crate::Store::write_batch`] and the module documentation of `scylla`.
    pub(super) async fn write_batch(&self, batch: Arc<WriteBatch>) -> Result<(), StoreError> {
        if batch.rooms.is_empty() {
            return Ok(());
        }
        let controls = self.check_batch(&batch).await?;
        self.write_rooms(&batch.rooms, &controls, Stamp::Now).await
    }

    /// Writes the rows of `rooms`, checked against `controls`: the partition index (and, for a
    /// new write, each room's intent), then the readings and rollups, then last each room's
    /// state with its dedup marks.
    pub(super) async fn write_rooms(
        &self,
        rooms: &[RoomWrite],
        controls: &BTreeMap<TenantId, TenantControl>,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        // 1. The partition index, one batch per tenant (its own partition), with the intents.
        let mut index: BTreeMap<&TenantId, BTreeSet<(&'static str, &str, i64)>> = BTreeMap::new();
        for room in rooms {
            let entries = index.entry(&room.tenant).or_default();
            entries.insert((STATE_KIND, room.room.as_str(), 0));
            let readings = &self.statements.readings;
            for (_, reading) in &room.readings {
                entries.insert((
                    readings.kind,
                    room.room.as_str(),
                    readings.bucket(reading.ts),
                ));
            }
            for (kind, bucket) in rollup_index(&self.statements.rollups, &room.rollups) {
                entries.insert((kind, room.room.as_str(), bucket));
            }
        }
        let index_writes = index.into_iter().map(|(tenant, entries)| PartitionRows {
            statement: self.statements.insert_partition.clone(),
            values: entries
                .into_iter()
                .map(|(kind, room, bucket)| (tenant.as_str(), kind, room, bucket))
                .collect(),
        });
        let (index, intents) = tokio::join!(
            self.write_partitions(index_writes, stamp),
            self.write_intents(rooms, controls, stamp)
        );
        index?;
        intents?;
        // 2. Readings and rollups, one batch per partition.
        let mut readings = Vec::new();
        let mut rollups = Vec::new();
        for room in rooms {
            let policy = self.ttl_policy(&controls[&room.tenant]);
            readings.extend(self.reading_partitions(room, ttl(policy.readings))?);
            rollups.extend(rollup_partitions(
                &self.statements.rollups,
                (room.tenant.as_str(), room.room.as_str()),
                &room.rollups,
                |r| ttl(policy.rollups(r.analytics())),
            )?);
        }
        let (readings, rollups) = tokio::join!(
            self.write_partitions(readings, stamp),
            self.write_partitions(rollups, stamp)
        );
        readings?;
        rollups?;
        // 3. The room states with their dedup marks, last.
        let insert_state = stamp.on(&self.statements.insert_state);
        let mut states = Vec::with_capacity(rooms.len());
        for room in rooms {
            let values = (
                room.tenant.as_str(),
                room.room.as_str(),
                encode(&room.state)?,
            );
            states.push(self.execute(&insert_state, values));
        }
        all_of(states).await.map(drop).map_err(outcome_unknown)
    }

    /// Reads each tenant's control partition; `Erased` or `Fenced` (the first office in
    /// `(tenant, office)` order) before anything is written.
    async fn check_batch(
        &self,
        batch: &WriteBatch,
    ) -> Result<BTreeMap<TenantId, TenantControl>, StoreError> {
        let tenants: BTreeSet<&TenantId> = batch.rooms.iter().map(|room| &room.tenant).collect();
        let mut reads = Vec::with_capacity(tenants.len());
        for tenant in &tenants {
            reads.push(self.control(tenant));
        }
        let controls: BTreeMap<TenantId, TenantControl> = tenants
            .iter()
            .map(|&tenant| tenant.clone())
            .zip(all_of(reads).await?)
            .collect();
        if let Some((tenant, _)) = controls.iter().find(|(_, control)| control.erased) {
            return Err(StoreError::Erased(tenant.clone()));
        }
        let mut rooms: Vec<&RoomWrite> = batch.rooms.iter().collect();
        rooms.sort_by(|a, b| (&a.tenant, &a.office).cmp(&(&b.tenant, &b.office)));
        for room in rooms {
            controls[&room.tenant].ensure_owner(&room.tenant, &room.office, room.owner_token)?;
        }
        Ok(controls)
    }

    /// A room's readings grouped by day partition.
    fn reading_partitions<'a>(
        &self,
        room: &'a RoomWrite,
        ttl: i32,
    ) -> Result<Vec<PartitionRows<ReadingValues<'a>>>, StoreError> {
        let table = &self.statements.readings;
        let mut partitions: BTreeMap<i64, Vec<ReadingValues<'a>>> = BTreeMap::new();
        for (sensor, reading) in &room.readings {
            let day = table.bucket(reading.ts);
            partitions.entry(day).or_default().push((
                room.tenant.as_str(),
                room.room.as_str(),
                day,
                reading.ts,
                sensor.as_str(),
                signed("seq", reading.seq)?,
                i32::try_from(reading.count)
                    .map_err(|_| StoreError::Backend(format!("count {}", reading.count)))?,
                reading.received_at,
                ttl,
            ));
        }
        Ok(partitions
            .into_values()
            .map(|values| PartitionRows {
                statement: self.statements.insert_reading.clone(),
                values,
            })
            .collect())
    }

    /// Writes each partition's rows in unlogged batches of that partition only, several
    /// partitions at once. Any failure is reported unavailable: some rows may be written.
    pub(super) async fn write_partitions<V: scylla::serialize::row::SerializeRow + Send + Sync>(
        &self,
        partitions: impl IntoIterator<Item = PartitionRows<V>>,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        for partition in partitions {
            let mut values = partition.values;
            while !values.is_empty() {
                let rest = values.split_off(values.len().min(ROWS_PER_BATCH));
                let mut batch = Batch::new(BatchType::Unlogged);
                for _ in 0..values.len() {
                    batch.append_statement(partition.statement.clone());
                }
                batch.set_is_idempotent(true);
                batch.set_timestamp(stamp.timestamp());
                writes.push(self.write_unlogged(batch, values));
                values = rest;
            }
        }
        all_of(writes).await.map(drop).map_err(outcome_unknown)
    }

    /// Runs one unlogged batch.
    async fn write_unlogged<V: scylla::serialize::row::SerializeRow>(
        &self,
        batch: Batch,
        values: Vec<V>,
    ) -> Result<(), StoreError> {
        self.session
            .batch(&batch, values)
            .await
            .map(drop)
            .map_err(cql)
    }

    /// The buckets of `table` that hold rows of `owner` (a room, or an area in a rollup table
    /// of areas) between `from` and `to` (inclusive), in order, from the partition index.
    async fn buckets(
        &self,
        tenant: &TenantId,
        owner: &str,
        table: &BucketedTable,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = self
            .rows(
                &self.statements.select_room_buckets,
                (
                    tenant.as_str(),
                    table.kind,
                    owner,
                    table.bucket(from),
                    table.bucket(to),
                ),
            )
            .await?;
        Ok(rows.into_iter().map(|(bucket,)| bucket).collect())
    }

    /// See [`crate::Store::readings`]: walks the room's day partitions in order, each read with
    /// a `LIMIT` of what the page still needs (one more than `limit`, to tell whether more follow).
    pub(super) async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
        page: PageRequest<ReadingCursor>,
    ) -> Result<ReadingsPage, StoreError> {
        let limit = page.clamped_limit();
        let after = page.after.filter(|cursor| cursor.ts >= range.from);
        let start = after.as_ref().map_or(range.from, |cursor| cursor.ts);
        if start >= range.to {
            return Ok(Page::default());
        }
        let table = &self.statements.readings;
        let mut items = Vec::new();
        for day in self
            .buckets(tenant, room.as_str(), table, start, range.to - 1)
            .await?
        {
            let want = i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX);
            let key = (tenant.as_str(), room.as_str(), day);
            let rows: Vec<ReadingRow> = match &after {
                Some(cursor) if table.bucket(cursor.ts) == day => {
                    let values = (
                        key.0,
                        key.1,
                        key.2,
                        cursor.ts,
                        cursor.sensor.as_str(),
                        signed("seq", cursor.seq)?,
                        range.to,
                        want,
                    );
                    self.rows(&self.statements.select_readings_after, values)
                        .await?
                }
                _ => {
                    let values = (key.0, key.1, key.2, range.from, range.to, want);
                    self.rows(&self.statements.select_readings_from, values)
                        .await?
                }
            };
            for row in rows {
                items.push(reading_row(row)?);
            }
            if items.len() > limit {
                break;
            }
        }
        Ok(Page::from_fetched(items, limit, ReadingCursor::of))
    }

    /// See [`crate::Store::rollups`].
    pub(super) async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        let statements = self.statements.rollup(resolution);
        self.rollups_page(tenant, room.as_str(), (statements, resolution), range, page)
            .await
    }

    /// A page of the rollups of `owner` (a room, or an area) in `statements`' table of
    /// `resolution`, walked like [`ScyllaStore::readings`].
    pub(super) async fn rollups_page(
        &self,
        tenant: &TenantId,
        owner: &str,
        (statements, resolution): (&RollupStatements, Resolution),
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        let limit = page.clamped_limit();
        let Some(start) = page.start_in(range) else {
            return Ok(Page::default());
        };
        let mut items = Vec::new();
        for bucket in self
            .buckets(tenant, owner, &statements.table, start, range.to - 1)
            .await?
        {
            let want = i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX);
            let values = (tenant.as_str(), owner, bucket, start, range.to, want);
            let rows: Vec<RollupRow> = self.rows(&statements.select, values).await?;
            for (bucket_start, avg, peak, occupied_s, samples, stats) in rows {
                let count = |what, value: i32| {
                    u32::try_from(value).map_err(|_| corrupt(format!("rollup {what} {value}")))
                };
                items.push(Rollup {
                    resolution,
                    bucket_start,
                    avg,
                    peak: count("peak", peak)?,
                    occupied_s,
                    samples: count("samples", samples)?,
                    stats: stats.as_deref().map(decode_stats).transpose()?,
                });
            }
            if items.len() > limit {
                break;
            }
        }
        Ok(Page::from_fetched(items, limit, |rollup| {
            rollup.bucket_start
        }))
    }
}

/// The partition index entries (kind, bucket) of `rollups` in `tables` (per resolution).
pub(super) fn rollup_index(
    tables: &[RollupStatements; 4],
    rollups: &[Rollup],
) -> Vec<(&'static str, i64)> {
    rollups
        .iter()
        .map(|rollup| {
            let table = &tables[resolution_index(rollup.resolution)].table;
            (table.kind, table.bucket(rollup.bucket_start))
        })
        .collect()
}

/// `rollups` of `owner` (a room or an area of `tenant`) grouped by table of `tables` and
/// partition, each row with its resolution's `ttl`.
pub(super) fn rollup_partitions<'a>(
    tables: &[RollupStatements; 4],
    (tenant, owner): (&'a str, &'a str),
    rollups: &'a [Rollup],
    ttl: impl Fn(Resolution) -> i32,
) -> Result<Vec<PartitionRows<RollupValues<'a>>>, StoreError> {
    let mut partitions: BTreeMap<(Resolution, i64), Vec<RollupValues<'a>>> = BTreeMap::new();
    for rollup in rollups {
        let bucket = tables[resolution_index(rollup.resolution)]
            .table
            .bucket(rollup.bucket_start);
        let number = |what, value: u32| {
            i32::try_from(value).map_err(|_| StoreError::Backend(format!("{what} {value}")))
        };
        partitions
            .entry((rollup.resolution, bucket))
            .or_default()
            .push((
                tenant,
                owner,
                bucket,
                rollup.bucket_start,
                rollup.avg,
                number("peak", rollup.peak)?,
                rollup.occupied_s,
                number("samples", rollup.samples)?,
                rollup.stats.as_ref().map(encode_stats).transpose()?,
                ttl(rollup.resolution),
            ));
    }
    Ok(partitions
        .into_iter()
        .map(|((resolution, _), values)| PartitionRows {
            statement: tables[resolution_index(resolution)].insert.clone(),
            values,
        })
        .collect())
}

/// The bound values of a reading insert.
type ReadingValues<'a> = (&'a str, &'a str, i64, i64, &'a str, i64, i32, i64, i32);
/// The bound values of a rollup insert.
pub(super) type RollupValues<'a> = (
    &'a str,
    &'a str,
    i64,
    i64,
    f64,
    i32,
    f64,
    i32,
    Option<Vec<u8>>,
    i32,
);

/// A reading from its row.
fn reading_row(
    (ts, sensor, seq, count, received_at): ReadingRow,
) -> Result<(SensorId, StoredReading), StoreError> {
    let sensor = SensorId::new(sensor.clone())
        .map_err(|e| corrupt(format!("stored sensor id {sensor:?}: {e}")))?;
    Ok((
        sensor,
        StoredReading {
            seq: u64::try_from(seq).map_err(|_| corrupt(format!("reading seq {seq}")))?,
            ts,
            count: u32::try_from(count).map_err(|_| corrupt(format!("reading count {count}")))?,
            received_at,
        },
    ))
}

/// Runs `futures` with at most [`WRITES_IN_FLIGHT`] at once; their outputs in order, or the
/// first error.
pub(super) async fn all_of<T, F: Future<Output = Result<T, StoreError>>>(
    futures: Vec<F>,
) -> Result<Vec<T>, StoreError> {
    stream::iter(futures)
        .buffered(WRITES_IN_FLIGHT)
        .try_collect()
        .await
}

/// A failed write after others of its batch may have landed: only `Unavailable` (outcome
/// unknown, retry the whole batch) or a fatal error.
pub(super) fn outcome_unknown(error: StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(message) => StoreError::Unavailable(format!(
            "{message} (the batch may be partly written; it is safe to resend)"
        )),
        other => other,
    }
}
