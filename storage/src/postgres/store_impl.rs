//! The [`Store`](crate::Store) implementation of [`PostgresStore`], each call forwarded to the module of
//! its concern.

use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use super::{
    PostgresStore, audit, data, erasure, fencing, office_calendar, office_rollups,
    registry::{self, RoomFilter, SensorFilter},
    retention, sensor_keys, token_revocation,
};
use crate::{
    AreaRollupWrite, AuditEntry, AuditPage, AuditScope, ErasureReport, KeyHash, Office,
    OfficeCalendar, PageRequest, ReadingCursor, ReadingsPage, Resolution, RetentionPolicy,
    RetentionReport, Rollup, RollupArea, RollupFrontier, RollupsPage, Room, RoomState, Sensor,
    SensorKey, Store, StoreError, Tenant, TimeRange, TokenRevocations, WriteBatch,
};

#[async_trait]
impl Store for PostgresStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        registry::create_tenant(&self.inner, tenant).await
    }

    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        registry::tenant(&self.inner, tenant).await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        registry::tenants(&self.inner).await
    }

    async fn create_office(&self, office: &Office) -> Result<(), StoreError> {
        registry::create_office(&self.inner, office).await
    }

    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError> {
        Ok(registry::offices(&self.inner, tenant, Some(office))
            .await?
            .pop())
    }

    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        registry::offices(&self.inner, tenant, None).await
    }

    async fn set_office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        calendar: &OfficeCalendar,
    ) -> Result<(), StoreError> {
        office_calendar::set(&self.inner, tenant, office, calendar).await
    }

    async fn office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<OfficeCalendar>, StoreError> {
        office_calendar::get(&self.inner, tenant, office).await
    }

    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        registry::create_room(&self.inner, room).await
    }

    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError> {
        Ok(registry::rooms(&self.inner, tenant, RoomFilter::Id(room))
            .await?
            .pop())
    }

    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError> {
        registry::rooms(&self.inner, tenant, RoomFilter::Office(office)).await
    }

    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError> {
        registry::create_sensor(&self.inner, sensor, key_hash).await
    }

    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError> {
        Ok(
            registry::sensors(&self.inner, tenant, SensorFilter::Id(sensor))
                .await?
                .pop(),
        )
    }

    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError> {
        registry::sensors(&self.inner, tenant, SensorFilter::Room(room)).await
    }

    async fn sensor_by_key_hash(
        &self,
        key_hash: &KeyHash,
        now: TimestampMs,
    ) -> Result<Option<Sensor>, StoreError> {
        registry::sensor_by_key_hash(&self.inner, key_hash, now).await
    }

    async fn add_sensor_key(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: &SensorKey,
        others_expire_at: Option<TimestampMs>,
    ) -> Result<(), StoreError> {
        sensor_keys::add(&self.inner, tenant, sensor, key, others_expire_at).await
    }

    async fn sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Vec<SensorKey>, StoreError> {
        sensor_keys::list(&self.inner, tenant, sensor).await
    }

    async fn revoke_sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: Option<&KeyHash>,
    ) -> Result<u64, StoreError> {
        sensor_keys::revoke(&self.inner, tenant, sensor, key).await
    }

    async fn delete_sensor(&self, tenant: &TenantId, sensor: &SensorId) -> Result<(), StoreError> {
        sensor_keys::delete_sensor(&self.inner, tenant, sensor).await
    }

    async fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), StoreError> {
        retention::set(&self.inner, tenant, policy).await
    }

    async fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, StoreError> {
        retention::get(&self.inner, tenant).await
    }
    async fn revoke_tokens_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, StoreError> {
        token_revocation::revoke_issued_before(&self.inner, tenant, before).await
    }

    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        token_revocation::revoke_token(&self.inner, tenant, token_id, expires_at).await
    }

    async fn token_revocations(
        &self,
        tenant: &TenantId,
        now: u64,
    ) -> Result<TokenRevocations, StoreError> {
        token_revocation::revocations(&self.inner, tenant, now).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(&self.inner, entry).await
    }

    async fn audit(
        &self,
        scope: &AuditScope,
        range: TimeRange,
        page: PageRequest<String>,
    ) -> Result<AuditPage, StoreError> {
        audit::page(&self.inner, scope, range, &page).await
    }

    async fn write_batch(&self, batch: Arc<WriteBatch>) -> Result<(), StoreError> {
        data::write_batch(&self.inner, &batch).await
    }

    async fn acquire_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<u64, StoreError> {
        fencing::acquire_office(&self.inner, tenant, office).await
    }

    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        data::room_state(&self.inner, tenant, room).await
    }

    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
        page: PageRequest<ReadingCursor>,
    ) -> Result<ReadingsPage, StoreError> {
        data::readings(&self.inner, tenant, room, range, &page).await
    }

    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        data::rollups(&self.inner, tenant, room, resolution, range, &page).await
    }

    async fn rollups_in_ranges(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        data::rollups_in_ranges(&self.inner, tenant, room, resolution, ranges).await
    }

    fn keeps_area_rollups(&self) -> bool {
        true
    }

    async fn write_area_rollups(&self, write: &AreaRollupWrite) -> Result<(), StoreError> {
        office_rollups::write(&self.inner, write).await
    }

    async fn area_rollup_frontier(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
    ) -> Result<Option<RollupFrontier>, StoreError> {
        office_rollups::frontier(&self.inner, tenant, area).await
    }

    async fn area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        office_rollups::page(&self.inner, tenant, area, resolution, range, &page).await
    }

    async fn area_rollups_in_ranges(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        office_rollups::in_ranges(&self.inner, tenant, area, resolution, ranges).await
    }
    async fn apply_retention(
        &self,
        defaults: &RetentionPolicy,
        now: TimestampMs,
    ) -> Result<RetentionReport, StoreError> {
        retention::apply(&self.inner, defaults, now).await
    }

    async fn erase_tenant(
        &self,
        tenant: &TenantId,
        requested_by: &str,
        now: TimestampMs,
    ) -> Result<ErasureReport, StoreError> {
        erasure::erase(&self.inner, tenant, requested_by, now).await
    }

    async fn erasure(&self, tenant: &TenantId) -> Result<Option<ErasureReport>, StoreError> {
        erasure::get(&self.inner, tenant).await
    }
}
