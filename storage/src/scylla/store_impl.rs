//! The [`Store`] implementation of [`ScyllaStore`], each call forwarded to the module of its
//! concern.

use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use super::ScyllaStore;
use crate::{
    AreaRollupWrite, AuditEntry, AuditPage, AuditScope, ErasureReport, KeyHash, Office,
    OfficeCalendar, PageRequest, ReadingCursor, ReadingsPage, Resolution, RetentionPolicy,
    RetentionReport, RollupArea, RollupFrontier, RollupsPage, Room, RoomState, Sensor, SensorKey,
    Store, StoreError, Tenant, TimeRange, TokenRevocations, WriteBatch,
};

#[async_trait]
impl Store for ScyllaStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        ScyllaStore::create_tenant(self, tenant).await
    }

    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        ScyllaStore::tenant(self, tenant).await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        ScyllaStore::tenants(self).await
    }

    async fn create_office(&self, office: &Office) -> Result<(), StoreError> {
        ScyllaStore::create_office(self, office).await
    }

    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError> {
        ScyllaStore::office(self, tenant, office).await
    }

    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        ScyllaStore::offices(self, tenant).await
    }

    async fn set_office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        calendar: &OfficeCalendar,
    ) -> Result<(), StoreError> {
        ScyllaStore::set_office_calendar(self, tenant, office, calendar).await
    }

    async fn office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<OfficeCalendar>, StoreError> {
        ScyllaStore::office_calendar(self, tenant, office).await
    }

    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        ScyllaStore::create_room(self, room).await
    }

    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError> {
        ScyllaStore::room(self, tenant, room).await
    }

    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError> {
        ScyllaStore::rooms(self, tenant, office).await
    }

    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError> {
        ScyllaStore::create_sensor(self, sensor, key_hash).await
    }

    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError> {
        ScyllaStore::sensor(self, tenant, sensor).await
    }

    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError> {
        ScyllaStore::sensors(self, tenant, room).await
    }

    async fn sensor_by_key_hash(
        &self,
        key_hash: &KeyHash,
        now: TimestampMs,
    ) -> Result<Option<Sensor>, StoreError> {
        ScyllaStore::sensor_by_key_hash(self, key_hash, now).await
    }

    async fn add_sensor_key(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: &SensorKey,
        others_expire_at: Option<TimestampMs>,
    ) -> Result<(), StoreError> {
        ScyllaStore::add_sensor_key(self, tenant, sensor, key, others_expire_at).await
    }

    async fn sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Vec<SensorKey>, StoreError> {
        ScyllaStore::sensor_keys(self, tenant, sensor).await
    }

    async fn revoke_sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: Option<&KeyHash>,
    ) -> Result<u64, StoreError> {
        ScyllaStore::revoke_sensor_keys(self, tenant, sensor, key).await
    }

    async fn delete_sensor(&self, tenant: &TenantId, sensor: &SensorId) -> Result<(), StoreError> {
        ScyllaStore::delete_sensor(self, tenant, sensor).await
    }

    async fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), StoreError> {
        ScyllaStore::set_retention(self, tenant, policy).await
    }

    async fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, StoreError> {
        ScyllaStore::retention(self, tenant).await
    }

    async fn revoke_tokens_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, StoreError> {
        ScyllaStore::revoke_tokens_issued_before(self, tenant, before).await
    }

    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        ScyllaStore::revoke_token(self, tenant, token_id, expires_at).await
    }

    async fn token_revocations(
        &self,
        tenant: &TenantId,
        now: u64,
    ) -> Result<TokenRevocations, StoreError> {
        ScyllaStore::token_revocations(self, tenant, now).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        ScyllaStore::append_audit(self, entry).await
    }

    async fn audit(
        &self,
        scope: &AuditScope,
        range: TimeRange,
        page: PageRequest<String>,
    ) -> Result<AuditPage, StoreError> {
        self.audit_page(scope, range, &page).await
    }

    async fn write_batch(&self, batch: Arc<WriteBatch>) -> Result<(), StoreError> {
        ScyllaStore::write_batch(self, batch).await
    }

    async fn acquire_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<u64, StoreError> {
        ScyllaStore::acquire_office(self, tenant, office).await
    }

    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        ScyllaStore::room_state(self, tenant, room).await
    }

    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
        page: PageRequest<ReadingCursor>,
    ) -> Result<ReadingsPage, StoreError> {
        ScyllaStore::readings(self, tenant, room, range, page).await
    }

    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        ScyllaStore::rollups(self, tenant, room, resolution, range, page).await
    }

    fn keeps_area_rollups(&self) -> bool {
        true
    }

    async fn write_area_rollups(&self, write: &AreaRollupWrite) -> Result<(), StoreError> {
        ScyllaStore::write_area_rollups(self, write).await
    }

    async fn area_rollup_frontier(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
    ) -> Result<Option<RollupFrontier>, StoreError> {
        ScyllaStore::area_rollup_frontier(self, tenant, area).await
    }

    async fn area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        ScyllaStore::area_rollups(self, tenant, area, resolution, range, page).await
    }

    async fn apply_retention(
        &self,
        defaults: &RetentionPolicy,
        now: TimestampMs,
    ) -> Result<RetentionReport, StoreError> {
        ScyllaStore::apply_retention(self, defaults, now).await
    }

    async fn erase_tenant(
        &self,
        tenant: &TenantId,
        requested_by: &str,
        now: TimestampMs,
    ) -> Result<ErasureReport, StoreError> {
        ScyllaStore::erase_tenant(self, tenant, requested_by, now).await
    }

    async fn erasure(&self, tenant: &TenantId) -> Result<Option<ErasureReport>, StoreError> {
        ScyllaStore::erasure(self, tenant).await
    }
}
