//! Area rollups in ScyllaDB (migration 8): the buckets in `office_rollups_*`, one table per
//! resolution partitioned by `(tenant, area, bucket)` like the rooms' (see `schema.rs`; `area`
//! is an office's id, or `""` for the tenant area, see [`crate::RollupArea::key`]), and how far
//! they reach in `office_rollup_frontiers`.
//!
//! # A write, and what a write cut off part-way leaves
//!
//! A write is checked as a batch is (`write_batch`): one read of the tenant's `tenant_control`
//! partition answers [`StoreError::Erased`] or [`StoreError::Fenced`] before anything is
//! written, so a rejected write changes nothing, with the same window for a former owner that
//! passed the check and then paused (see the module documentation of `scylla`). Then, in this
//! order: the partition index rows, the buckets (one unlogged batch per partition), and last the
//! frontier. There is no transaction across partitions, so the order is what keeps the promise
//! readers rely on: **the stored frontier never reaches past a bucket that is not stored**. A
//! write cut off part-way (an error, a crash) leaves the old frontier and some of the new
//! buckets, which lie beyond that frontier, where no reader looks (answers past the frontier
//! come from raw readings). The error is [`StoreError::Unavailable`] (outcome unknown); the
//! finaliser retries the step, or the next owner repeats it from the stored frontier, and either
//! computes the same buckets from the same finalised readings and rewrites them identically
//! (same keys, replaced), then moves the frontier.

use std::collections::BTreeSet;

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use tally_protocol::{TenantId, TimestampMs};

use super::ScyllaStore;
use super::data::{PartitionRows, outcome_unknown, rollup_index, rollup_partitions, ttl};
use super::intent::Stamp;
use super::statements::{Retry, RollupOwner, RollupStatements, prepared, resolution_index};
use crate::{
    AreaRollupWrite, PageRequest, Resolution, RollupArea, RollupFrontier, RollupsPage, StoreError,
    TimeRange,
};

/// The statements of the office rollup tables.
#[derive(Debug)]
pub(super) struct OfficeRollupStatements {
    /// Per resolution, in the order of `crate::retention::RESOLUTIONS`.
    pub(super) rollups: [RollupStatements; 4],
    insert_frontier: PreparedStatement,
    select_frontier: PreparedStatement,
    select_frontiers: PreparedStatement,
    delete_frontiers: PreparedStatement,
}

impl OfficeRollupStatements {
    /// Prepares them against `keyspace`.
    pub(super) async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        let p = |cql: &str| prepared(session, keyspace, cql.to_owned(), Retry::Idempotent);
        Ok(Self {
            rollups: RollupStatements::prepare_all(session, keyspace, RollupOwner::Area).await?,
            insert_frontier: p(
                "INSERT INTO {ks}.office_rollup_frontiers (tenant, area, from_ms, to_ms) \
                 VALUES (?, ?, ?, ?)",
            )
            .await?,
            select_frontier: p("SELECT from_ms, to_ms FROM {ks}.office_rollup_frontiers \
                 WHERE tenant = ? AND area = ?")
            .await?,
            select_frontiers: p("SELECT area FROM {ks}.office_rollup_frontiers WHERE tenant = ?")
                .await?,
            delete_frontiers: p("DELETE FROM {ks}.office_rollup_frontiers WHERE tenant = ?")
                .await?,
        })
    }
}

impl ScyllaStore {
    /// See [`crate::Store::write_area_rollups`] and the module documentation.
    pub(super) async fn write_area_rollups(
        &self,
        write: &AreaRollupWrite,
    ) -> Result<(), StoreError> {
        let control = self.control(&write.tenant).await?;
        if control.erased {
            return Err(StoreError::Erased(write.tenant.clone()));
        }
        control.ensure_owner(&write.tenant, &write.office, write.owner_token)?;
        let (tenant, area) = (write.tenant.as_str(), write.area.key());
        let tables = &self.statements.office_rollups.rollups;
        // 1. The partition index.
        let entries: BTreeSet<(&'static str, i64)> =
            rollup_index(tables, &write.rollups).into_iter().collect();
        let index = PartitionRows {
            statement: self.statements.insert_partition.clone(),
            values: entries
                .into_iter()
                .map(|(kind, bucket)| (tenant, kind, area, bucket))
                .collect(),
        };
        self.write_partitions([index], Stamp::Now).await?;
        // 2. The buckets, one batch per partition.
        let policy = self.ttl_policy(&control);
        let buckets = rollup_partitions(tables, (tenant, area), &write.rollups, |r| {
            ttl(policy.rollups(r.analytics()))
        })?;
        self.write_partitions(buckets, Stamp::Now).await?;
        // 3. The frontier, last.
        let frontier = (tenant, area, write.frontier.from, write.frontier.to);
        self.execute(&self.statements.office_rollups.insert_frontier, frontier)
            .await
            .map_err(outcome_unknown)
    }

    /// See [`crate::Store::area_rollup_frontier`].
    pub(super) async fn area_rollup_frontier(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
    ) -> Result<Option<RollupFrontier>, StoreError> {
        let row: Option<(i64, i64)> = self
            .first_row(
                &self.statements.office_rollups.select_frontier,
                (tenant.as_str(), area.key()),
            )
            .await?;
        Ok(row.map(|(from, to)| RollupFrontier { from, to }))
    }

    /// See [`crate::Store::area_rollups`].
    pub(super) async fn area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        let statements = &self.statements.office_rollups.rollups[resolution_index(resolution)];
        self.rollups_page(tenant, area.key(), (statements, resolution), range, page)
            .await
    }

    /// How many office rollup frontiers the tenant has.
    pub(super) async fn office_rollup_frontier_count(
        &self,
        tenant: &TenantId,
    ) -> Result<usize, StoreError> {
        let rows: Vec<(String,)> = self
            .rows(
                &self.statements.office_rollups.select_frontiers,
                (tenant.as_str(),),
            )
            .await?;
        Ok(rows.len())
    }

    /// Deletes the tenant's office rollup frontiers (erasure); how many there were.
    pub(super) async fn erase_office_rollup_frontiers(
        &self,
        tenant: &TenantId,
    ) -> Result<u64, StoreError> {
        let count = self.office_rollup_frontier_count(tenant).await?;
        self.execute(
            &self.statements.office_rollups.delete_frontiers,
            (tenant.as_str(),),
        )
        .await?;
        Ok(count as u64)
    }
}
