//! Area rollups in PostgreSQL: `office_rollups` (the buckets, by `area`: an office's id, or
//! `""` for the tenant area, see [`crate::RollupArea::key`]) and `office_rollup_frontiers` (how
//! far they reach), both tenant tables under row-level security.
//!
//! A write is one transaction, as a batch is: the tenant entered (`enter_tenant()`, erasure
//! mark checked under the tenant's shared advisory lock), the fencing office's owner token checked and
//! its owner row locked `FOR SHARE` until the commit (`fencing.rs`, exactly as a batch), the
//! buckets upserted, the frontier replaced. So a fenced or erased write changes nothing, and the
//! frontier never reaches past buckets that are not stored.

use std::collections::BTreeMap;

use tally_protocol::{TenantId, TimestampMs};

use super::{
    Inner,
    errors::pg,
    fencing,
    registry::query,
    rollup_rows::{self, OFFICE_ROLLUPS, RollupRows},
};
use crate::{
    AreaRollupWrite, PageRequest, Resolution, Rollup, RollupArea, RollupFrontier, RollupsPage,
    StoreError, TimeRange,
};

/// See [`crate::Store::write_area_rollups`].
pub(super) async fn write(inner: &Inner, write: &AreaRollupWrite) -> Result<(), StoreError> {
    let (tenant, area) = (write.tenant.as_str(), write.area.key());
    let mut rows = RollupRows::new();
    for rollup in &write.rollups {
        rollup_rows::add(&mut rows, area, rollup);
    }
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, &write.tenant, true).await?;
    let tokens = BTreeMap::from([(write.office.as_str(), write.owner_token)]);
    fencing::check(&tx, tenant, &tokens).await?;
    OFFICE_ROLLUPS.upsert(&tx, tenant, &rows).await?;
    let frontier = tx
        .prepare_cached(
            "INSERT INTO office_rollup_frontiers (tenant_id, area, from_ms, to_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, area) \
             DO UPDATE SET from_ms = EXCLUDED.from_ms, to_ms = EXCLUDED.to_ms",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &frontier,
        &[&tenant, &area, &write.frontier.from, &write.frontier.to],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)
}

/// See [`crate::Store::area_rollup_frontier`].
pub(super) async fn frontier(
    inner: &Inner,
    tenant: &TenantId,
    area: &RollupArea,
) -> Result<Option<RollupFrontier>, StoreError> {
    let sql = "SELECT from_ms, to_ms FROM office_rollup_frontiers \
               WHERE tenant_id = $1 AND area = $2";
    let rows = query(inner, tenant, sql, &[&tenant.as_str(), &area.key()]).await?;
    rows.first()
        .map(|row| {
            Ok(RollupFrontier {
                from: row.try_get(0).map_err(pg)?,
                to: row.try_get(1).map_err(pg)?,
            })
        })
        .transpose()
}

/// See [`crate::Store::area_rollups`].
pub(super) async fn page(
    inner: &Inner,
    tenant: &TenantId,
    area: &RollupArea,
    resolution: Resolution,
    range: TimeRange,
    page: &PageRequest<TimestampMs>,
) -> Result<RollupsPage, StoreError> {
    OFFICE_ROLLUPS
        .page(inner, tenant, area.key(), resolution, range, page)
        .await
}

/// The rollups of an area at `resolution` with `bucket_start` in one of `ranges`, by start, in
/// one query.
pub(super) async fn in_ranges(
    inner: &Inner,
    tenant: &TenantId,
    area: &RollupArea,
    resolution: Resolution,
    ranges: &[TimeRange],
) -> Result<Vec<Rollup>, StoreError> {
    OFFICE_ROLLUPS
        .in_ranges(inner, tenant, area.key(), resolution, ranges)
        .await
}
