//! Rollup rows in PostgreSQL, shared by the two tables that keep them: `rollups` (a room's, by
//! `room_id`) and `office_rollups` (an aggregate area's, by `area`). Both are written with one
//! multi-row upsert per tenant (`unnest` of column arrays) and read a page at a time by start.

use std::collections::BTreeMap;

use tally_protocol::{TenantId, TimestampMs};
use tokio_postgres::Row;

use super::{
    Inner,
    data::resolution_name,
    errors::{corrupt, pg},
    registry::query,
};
use crate::{
    Page, PageRequest, Resolution, Rollup, RollupsPage, StoreError, TimeRange,
    stats_codec::{decode_stats, encode_stats},
};

/// A table of rollups and the column naming whose rollups a row is.
#[derive(Debug, Clone, Copy)]
pub(super) struct RollupTable {
    /// The table.
    pub(super) name: &'static str,
    /// The column of the room or area the rollups are of.
    owner: &'static str,
}

/// Rooms' rollups.
pub(super) const ROOM_ROLLUPS: RollupTable = RollupTable {
    name: "rollups",
    owner: "room_id",
};

/// Aggregate areas' (offices') rollups.
pub(super) const OFFICE_ROLLUPS: RollupTable = RollupTable {
    name: "office_rollups",
    owner: "area",
};

/// Both rollup tables (retention sweeps each the same way).
pub(super) const ROLLUP_TABLES: [RollupTable; 2] = [ROOM_ROLLUPS, OFFICE_ROLLUPS];

/// The rollups of one tenant to write, by (room or area, resolution, start): a bucket listed
/// twice keeps its last value (one upsert statement may not touch a row twice).
pub(super) type RollupRows<'a> = BTreeMap<(&'a str, &'static str, i64), &'a Rollup>;

/// Adds `rollup` of `owner` to `rows`.
pub(super) fn add<'a>(rows: &mut RollupRows<'a>, owner: &'a str, rollup: &'a Rollup) {
    let key = (
        owner,
        resolution_name(rollup.resolution),
        rollup.bucket_start,
    );
    rows.insert(key, rollup);
}

impl RollupTable {
    /// Upserts `rows` of `tenant` (already entered in `tx`) in one statement.
    pub(super) async fn upsert(
        self,
        tx: &deadpool_postgres::Transaction<'_>,
        tenant: &str,
        rows: &RollupRows<'_>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO {table} \
             (tenant_id, {owner}, resolution, bucket_start, avg, peak, occupied_s, samples, stats) \
             SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::float8[], \
             $6::int8[], $7::float8[], $8::int8[], $9::bytea[]) \
             ON CONFLICT (tenant_id, {owner}, resolution, bucket_start) DO UPDATE SET \
             avg = EXCLUDED.avg, peak = EXCLUDED.peak, occupied_s = EXCLUDED.occupied_s, \
             samples = EXCLUDED.samples, stats = EXCLUDED.stats",
            table = self.name,
            owner = self.owner,
        );
        let statement = tx.prepare_cached(&sql).await.map_err(pg)?;
        let keys = rows.keys();
        let owners: Vec<&str> = keys.clone().map(|k| k.0).collect();
        let resolutions: Vec<&str> = keys.clone().map(|k| k.1).collect();
        let starts: Vec<i64> = keys.map(|k| k.2).collect();
        let values = rows.values();
        let avg: Vec<f64> = values.clone().map(|r| r.avg).collect();
        let peak: Vec<i64> = values.clone().map(|r| i64::from(r.peak)).collect();
        let occupied: Vec<f64> = values.clone().map(|r| r.occupied_s).collect();
        let samples: Vec<i64> = values.clone().map(|r| i64::from(r.samples)).collect();
        let stats: Vec<Option<Vec<u8>>> = values
            .map(|r| r.stats.as_ref().map(encode_stats).transpose())
            .collect::<Result<_, _>>()?;
        tx.execute(
            &statement,
            &[
                &tenant,
                &owners,
                &resolutions,
                &starts,
                &avg,
                &peak,
                &occupied,
                &samples,
                &stats,
            ],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    /// A page of the rollups of `owner` (a room or an area of `tenant`) at `resolution` with
    /// `bucket_start` in `[from, to)`, by start.
    pub(super) async fn page(
        self,
        inner: &Inner,
        tenant: &TenantId,
        owner: &str,
        resolution: Resolution,
        range: TimeRange,
        page: &PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        let Some(from) = page.start_in(range) else {
            return Ok(Page::default());
        };
        let limit = page.clamped_limit();
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT bucket_start, avg, peak, occupied_s, samples, stats FROM {table} \
             WHERE tenant_id = $1 AND {owner} = $2 AND resolution = $3 \
             AND bucket_start >= $4 AND bucket_start < $5 ORDER BY bucket_start LIMIT $6",
            table = self.name,
            owner = self.owner,
        );
        let name = resolution_name(resolution);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
            [&tenant.as_str(), &owner, &name, &from, &range.to, &fetch];
        let rows = query(inner, tenant, &sql, &params).await?;
        let items = rows
            .iter()
            .map(|row| rollup_of(row, resolution))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_fetched(items, limit, |rollup| {
            rollup.bucket_start
        }))
    }
}

impl RollupTable {
    /// The rollups of `owner` (a room or an area of `tenant`) at `resolution` with
    /// `bucket_start` in one of `ranges` (not overlapping), by start: one query joining the
    /// ranges (`unnest` of their bounds), unpaged, for the bounded reads of an answer.
    pub(super) async fn in_ranges(
        self,
        inner: &Inner,
        tenant: &TenantId,
        owner: &str,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT r.bucket_start, r.avg, r.peak, r.occupied_s, r.samples, r.stats \
             FROM {table} r JOIN unnest($4::int8[], $5::int8[]) AS g(lo, hi) \
             ON r.bucket_start >= g.lo AND r.bucket_start < g.hi \
             WHERE r.tenant_id = $1 AND r.{owner} = $2 AND r.resolution = $3 \
             ORDER BY r.bucket_start",
            table = self.name,
            owner = self.owner,
        );
        let name = resolution_name(resolution);
        let lows: Vec<i64> = ranges.iter().map(|r| r.from).collect();
        let highs: Vec<i64> = ranges.iter().map(|r| r.to).collect();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
            [&tenant.as_str(), &owner, &name, &lows, &highs];
        let rows = query(inner, tenant, &sql, &params).await?;
        rows.iter().map(|row| rollup_of(row, resolution)).collect()
    }
}

/// A rollup from its row (`bucket_start, avg, peak, occupied_s, samples, stats`).
fn rollup_of(row: &Row, resolution: Resolution) -> Result<Rollup, StoreError> {
    let (peak, samples): (i64, i64) = (row.try_get(2).map_err(pg)?, row.try_get(4).map_err(pg)?);
    Ok(Rollup {
        resolution,
        bucket_start: row.try_get(0).map_err(pg)?,
        avg: row.try_get(1).map_err(pg)?,
        peak: u32::try_from(peak).map_err(|_| corrupt(format!("rollup peak {peak}")))?,
        occupied_s: row.try_get(3).map_err(pg)?,
        samples: u32::try_from(samples)
            .map_err(|_| corrupt(format!("rollup samples {samples}")))?,
        stats: row
            .try_get::<_, Option<&[u8]>>(5)
            .map_err(pg)?
            .map(decode_stats)
            .transpose()?,
    })
}
