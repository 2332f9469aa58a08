//! Erasure of a tenant: marked first (audit record, then the `erased` static column that every
//! write and `acquire_office` checks), then every partition of `tenant_partitions` (rooms' and
//! offices' rollups alike) and of the registry dropped, the office rollup frontiers deleted,
//! the key hashes given back, and everything read back.

use tally_protocol::{TenantId, TimestampMs};

use super::ScyllaStore;
use super::data::STATE_KIND;
use super::errors::{corrupt, shape};
use super::retention::count;
use crate::{ErasedCounts, ErasureReport, StoreError};

/// An `erasures` row: requested by, at, finished at, and the counts.
type ErasureRow = (String, i64, Option<i64>, i64, i64, i64, i64);

impl ScyllaStore {
    /// See [`crate::Store::erase_tenant`].
    pub(super) async fn erase_tenant(
        &self,
        tenant: &TenantId,
        requested_by: &str,
        now: TimestampMs,
    ) -> Result<ErasureReport, StoreError> {
        self.lwt(
            &self.statements.insert_erasure,
            (tenant.as_str(), requested_by, now),
        )
        .await?;
        let record = self
            .erasure(tenant)
            .await?
            .ok_or_else(|| shape("the erasure record just written is missing"))?;
        if record.finished_at.is_some() {
            return Ok(record);
        }
        let control = self.control(tenant).await?;
        self.execute(&self.statements.mark_erased, (tenant.as_str(),))
            .await?;
        let mut deleted = ErasedCounts::default();
        if self.tenant(tenant).await?.is_some() {
            self.execute(&self.statements.delete_tenant, (tenant.as_str(),))
                .await?;
            deleted.registry += 1;
        }
        self.erase_data(tenant, &mut deleted).await?;
        deleted.rollups += self.erase_office_rollup_frontiers(tenant).await?;
        self.erase_registry(tenant, &mut deleted).await?;
        for office in control.tokens.keys() {
            self.execute(
                &self.statements.delete_owner,
                (tenant.as_str(), office.as_str()),
            )
            .await?;
            deleted.registry += 1;
        }
        deleted.registry += u64::from(control.retention.is_some());
        self.verify_erased(tenant).await?;

        let mut total = record.deleted;
        total.add(deleted);
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.execute(
            &self.statements.finish_erasure,
            (
                now,
                signed(total.readings),
                signed(total.rollups),
                signed(total.room_states),
                signed(total.registry),
                tenant.as_str(),
            ),
        )
        .await?;
        Ok(ErasureReport {
            finished_at: Some(now),
            deleted: total,
            ..record
        })
    }

    /// Drops every data partition the index lists for the tenant, counting its rows.
    async fn erase_data(
        &self,
        tenant: &TenantId,
        deleted: &mut ErasedCounts,
    ) -> Result<(), StoreError> {
        let partitions: Vec<(String, String, i64)> = self
            .rows(&self.statements.select_partitions, (tenant.as_str(),))
            .await?;
        for (kind, room, bucket) in partitions {
            if kind == STATE_KIND {
                let state: Option<(Vec<u8>, i64)> = self
                    .first_row(
                        &self.statements.select_state,
                        (tenant.as_str(), room.as_str()),
                    )
                    .await?;
                self.execute(
                    &self.statements.delete_state,
                    (tenant.as_str(), room.as_str()),
                )
                .await?;
                self.execute(
                    &self.statements.delete_intent,
                    (tenant.as_str(), room.as_str()),
                )
                .await?;
                self.execute(
                    &self.statements.delete_partition,
                    (tenant.as_str(), STATE_KIND, room.as_str(), bucket),
                )
                .await?;
                deleted.room_states += u64::from(state.is_some());
            } else if kind == self.statements.readings.kind {
                deleted.readings += self
                    .drop_partition(tenant, &self.statements.readings, &room, bucket)
                    .await?;
            } else {
                let table = self
                    .statements
                    .rollup_tables()
                    .find(|table| table.kind == kind)
                    .ok_or_else(|| corrupt(format!("unknown partition kind {kind:?}")))?;
                deleted.rollups += self.drop_partition(tenant, table, &room, bucket).await?;
            }
        }
        Ok(())
    }

    /// Deletes the tenant's sensors (and their key hashes), rooms, office calendars and offices.
    async fn erase_registry(
        &self,
        tenant: &TenantId,
        deleted: &mut ErasedCounts,
    ) -> Result<(), StoreError> {
        let t = tenant.as_str();
        deleted.registry += self.all_sensors(tenant).await?.len() as u64;
        deleted.registry += self.erase_sensor_keys(tenant).await?;
        self.execute(&self.statements.delete_sensors, (t,)).await?;
        let rooms: Vec<(String, String, String, i32, String)> =
            self.rows(&self.statements.select_rooms, (t,)).await?;
        deleted.registry += rooms.len() as u64;
        self.execute(&self.statements.delete_rooms, (t,)).await?;
        deleted.registry += self.office_calendar_count(tenant).await? as u64;
        self.execute(&self.statements.delete_office_calendars, (t,))
            .await?;
        deleted.registry += self.erase_token_revocations(tenant).await?;
        deleted.registry += self.offices(tenant).await?.len() as u64;
        self.execute(&self.statements.delete_offices, (t,)).await?;
        Ok(())
    }

    /// Reads back: nothing of the tenant may remain.
    async fn verify_erased(&self, tenant: &TenantId) -> Result<(), StoreError> {
        let t = tenant.as_str();
        let partitions: Vec<(String, String, i64)> =
            self.rows(&self.statements.select_partitions, (t,)).await?;
        let control = self.control(tenant).await?;
        let left = [
            ("data partitions", partitions.len()),
            ("offices", self.offices(tenant).await?.len()),
            (
                "office rollup frontiers",
                self.office_rollup_frontier_count(tenant).await?,
            ),
            (
                "office calendars",
                self.office_calendar_count(tenant).await?,
            ),
            ("sensors", self.all_sensors(tenant).await?.len()),
            ("sensor keys", self.sensor_key_index_rows(tenant).await?),
            (
                "token revocations",
                self.token_revocation_rows(tenant).await?,
            ),
            ("owner tokens", control.tokens.len()),
            ("retention", usize::from(control.retention.is_some())),
            ("tenant", usize::from(self.tenant(tenant).await?.is_some())),
        ];
        let rooms: Vec<(String, String, String, i32, String)> =
            self.rows(&self.statements.select_rooms, (t,)).await?;
        let left: Vec<String> = left
            .into_iter()
            .chain([("rooms", rooms.len())])
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{n} {what}"))
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Backend(format!(
                "erasure of tenant {tenant} left {}",
                left.join(", ")
            )))
        }
    }

    /// See [`crate::Store::erasure`].
    pub(super) async fn erasure(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<ErasureReport>, StoreError> {
        let row: Option<ErasureRow> = self
            .first_row(&self.statements.select_erasure, (tenant.as_str(),))
            .await?;
        let Some((requested_by, requested_at, finished_at, readings, rollups, states, registry)) =
            row
        else {
            return Ok(None);
        };
        Ok(Some(ErasureReport {
            tenant: tenant.clone(),
            requested_by,
            requested_at,
            finished_at,
            deleted: ErasedCounts {
                readings: count(readings)?,
                rollups: count(rollups)?,
                room_states: count(states)?,
                registry: count(registry)?,
            },
        }))
    }
}
