//! Retention sweeps by sensor time, through the partition index: partitions wholly older than a
//! tenant's cutoff are dropped, the partition holding the cutoff loses its older rows by a range
//! delete, in readings and in the rollup tables of rooms and of offices (each resolution by its
//! own retention). TTLs (by write time) remove what a sweep has not reached yet.

use tally_protocol::{TenantId, TimestampMs};

use super::ScyllaStore;
use super::errors::corrupt;
use super::statements::{BucketedTable, resolution_index};
use crate::retention::RESOLUTIONS;
use crate::{RetentionPolicy, RetentionReport, StoreError};

/// What a sweep of one table of one tenant deleted.
#[derive(Debug, Default)]
struct Swept {
    rows: u64,
    partitions: u64,
}

/// A `COUNT(*)` as stored.
pub(super) fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative count {value}")))
}

impl ScyllaStore {
    /// See [`crate::Store::apply_retention`].
    pub(super) async fn apply_retention(
        &self,
        defaults: &RetentionPolicy,
        now: TimestampMs,
    ) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        for tenant in self.tenants().await? {
            let control = self.control(&tenant.id).await?;
            if control.erased {
                continue;
            }
            let policy = control.retention.unwrap_or(*defaults);
            report.tenants += 1;
            let cutoff = RetentionPolicy::cutoff(now, policy.readings);
            let swept = self
                .sweep(&tenant.id, &self.statements.readings, cutoff)
                .await?;
            report.readings += swept.rows;
            report.partitions_dropped += swept.partitions;
            let rollup_tables = [
                &self.statements.rollups,
                &self.statements.office_rollups.rollups,
            ];
            for (tables, resolution) in rollup_tables
                .into_iter()
                .flat_map(|tables| RESOLUTIONS.map(|resolution| (tables, resolution)))
            {
                let cutoff = RetentionPolicy::cutoff(now, policy.rollups(resolution.analytics()));
                let table = &tables[resolution_index(resolution)].table;
                let swept = self.sweep(&tenant.id, table, cutoff).await?;
                report.rollups += swept.rows;
                report.partitions_dropped += swept.partitions;
            }
        }
        Ok(report)
    }

    /// Deletes the tenant's rows of `table` before `cutoff`, counting them first.
    async fn sweep(
        &self,
        tenant: &TenantId,
        table: &BucketedTable,
        cutoff: TimestampMs,
    ) -> Result<Swept, StoreError> {
        let partitions: Vec<(String, i64)> = self
            .rows(
                &self.statements.select_partitions_of_kind,
                (tenant.as_str(), table.kind),
            )
            .await?;
        let last = table.bucket(cutoff);
        let mut swept = Swept::default();
        for (room, bucket) in partitions.into_iter().filter(|(_, b)| *b <= last) {
            let key = (tenant.as_str(), room.as_str(), bucket);
            if bucket < last {
                swept.rows += self.drop_partition(tenant, table, &room, bucket).await?;
                swept.partitions += 1;
            } else {
                let before = (key.0, key.1, key.2, cutoff);
                let rows: Option<(i64,)> = self.first_row(&table.count_before, before).await?;
                swept.rows += count(rows.map_or(0, |(n,)| n))?;
                self.execute(&table.delete_before, before).await?;
            }
        }
        Ok(swept)
    }

    /// Deletes one whole data partition and its index row; the rows it held.
    pub(super) async fn drop_partition(
        &self,
        tenant: &TenantId,
        table: &BucketedTable,
        room: &str,
        bucket: i64,
    ) -> Result<u64, StoreError> {
        let key = (tenant.as_str(), room, bucket);
        let rows: Option<(i64,)> = self.first_row(&table.count_partition, key).await?;
        self.execute(&table.delete_partition, key).await?;
        self.execute(
            &self.statements.delete_partition,
            (tenant.as_str(), table.kind, room, bucket),
        )
        .await?;
        count(rows.map_or(0, |(n,)| n))
    }
}
