//! [`StoreLayer`]: a wrapper around a store that sees calls at a few hook points, with every
//! method forwarded once, here, instead of in each wrapper.

use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use crate::{
    AreaRollupWrite, AuditEntry, AuditPage, AuditScope, ErasureReport, KeyHash, Office,
    OfficeCalendar, PageRequest, ReadingCursor, ReadingsPage, Resolution, RetentionPolicy,
    RetentionReport, Rollup, RollupArea, RollupFrontier, RollupsPage, Room, RoomState, Sensor,
    SensorKey, Store, StoreError, Tenant, TimeRange, TokenRevocations, WriteBatch,
};

/// A store wrapper: every [`Store`] method goes to [`StoreLayer::inner`], after the hooks.
/// Implementing this trait makes the type a [`Store`].
#[async_trait]
pub trait StoreLayer: Send + Sync + std::fmt::Debug + 'static {
    /// The wrapped store.
    fn inner(&self) -> &dyn Store;

    /// Awaited before every tenant-scoped read, with the method's name and the id it reads (the
    /// tenant for `tenant`, `offices`, `retention` and `token_revocations`; the office for `office`, `office_calendar` and `rooms`; the area's office, or the tenant for the tenant area, for `area_rollup_frontier` and `area_rollups`; the
    /// room for `room`, `sensors`, `room_state`, `readings` and `rollups`; the sensor for
    /// `sensor`).
    async fn before_read(&self, _method: &'static str, _id: &str) {}

    /// Awaited before every write, with the method's name (`create_tenant`, `write_batch`, …);
    /// an error fails the write without it reaching the inner store.
    async fn before_write(&self, _method: &'static str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Called after a successful [`Store::write_batch`] with the number of its readings.
    fn after_write_batch(&self, _readings: usize) {}
}

#[async_trait]
impl<L: StoreLayer> Store for L {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.before_write("create_tenant").await?;
        self.inner().create_tenant(tenant).await
    }
    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.before_read("tenant", tenant.as_str()).await;
        self.inner().tenant(tenant).await
    }
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.inner().tenants().await
    }
    async fn create_office(&self, office: &Office) -> Result<(), StoreError> {
        self.before_write("create_office").await?;
        self.inner().create_office(office).await
    }
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError> {
        self.before_read("office", office.as_str()).await;
        self.inner().office(tenant, office).await
    }
    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        self.before_read("offices", tenant.as_str()).await;
        self.inner().offices(tenant).await
    }
    async fn set_office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        calendar: &OfficeCalendar,
    ) -> Result<(), StoreError> {
        self.before_write("set_office_calendar").await?;
        self.inner()
            .set_office_calendar(tenant, office, calendar)
            .await
    }
    async fn office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<OfficeCalendar>, StoreError> {
        self.before_read("office_calendar", office.as_str()).await;
        self.inner().office_calendar(tenant, office).await
    }
    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        self.before_write("create_room").await?;
        self.inner().create_room(room).await
    }
    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError> {
        self.before_read("room", room.as_str()).await;
        self.inner().room(tenant, room).await
    }
    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError> {
        self.before_read("rooms", office.as_str()).await;
        self.inner().rooms(tenant, office).await
    }
    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError> {
        self.before_write("create_sensor").await?;
        self.inner().create_sensor(sensor, key_hash).await
    }
    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError> {
        self.before_read("sensor", sensor.as_str()).await;
        self.inner().sensor(tenant, sensor).await
    }
    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError> {
        self.before_read("sensors", room.as_str()).await;
        self.inner().sensors(tenant, room).await
    }
    async fn sensor_by_key_hash(
        &self,
        key_hash: &KeyHash,
        now: TimestampMs,
    ) -> Result<Option<Sensor>, StoreError> {
        self.inner().sensor_by_key_hash(key_hash, now).await
    }
    async fn add_sensor_key(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: &SensorKey,
        others_expire_at: Option<TimestampMs>,
    ) -> Result<(), StoreError> {
        self.before_write("add_sensor_key").await?;
        self.inner()
            .add_sensor_key(tenant, sensor, key, others_expire_at)
            .await
    }
    async fn sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Vec<SensorKey>, StoreError> {
        self.before_read("sensor_keys", sensor.as_str()).await;
        self.inner().sensor_keys(tenant, sensor).await
    }
    async fn revoke_sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: Option<&KeyHash>,
    ) -> Result<u64, StoreError> {
        self.before_write("revoke_sensor_keys").await?;
        self.inner().revoke_sensor_keys(tenant, sensor, key).await
    }
    async fn delete_sensor(&self, tenant: &TenantId, sensor: &SensorId) -> Result<(), StoreError> {
        self.before_write("delete_sensor").await?;
        self.inner().delete_sensor(tenant, sensor).await
    }
    async fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), StoreError> {
        self.before_write("set_retention").await?;
        self.inner().set_retention(tenant, policy).await
    }
    async fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, StoreError> {
        self.before_read("retention", tenant.as_str()).await;
        self.inner().retention(tenant).await
    }
    async fn revoke_tokens_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, StoreError> {
        self.before_write("revoke_tokens_issued_before").await?;
        self.inner()
            .revoke_tokens_issued_before(tenant, before)
            .await
    }
    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.before_write("revoke_token").await?;
        self.inner()
            .revoke_token(tenant, token_id, expires_at)
            .await
    }
    async fn token_revocations(
        &self,
        tenant: &TenantId,
        now: u64,
    ) -> Result<TokenRevocations, StoreError> {
        self.before_read("token_revocations", tenant.as_str()).await;
        self.inner().token_revocations(tenant, now).await
    }
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.before_write("append_audit").await?;
        self.inner().append_audit(entry).await
    }
    async fn audit(
        &self,
        scope: &AuditScope,
        range: TimeRange,
        page: PageRequest<String>,
    ) -> Result<AuditPage, StoreError> {
        self.inner().audit(scope, range, page).await
    }
    async fn write_batch(&self, batch: Arc<WriteBatch>) -> Result<(), StoreError> {
        self.before_write("write_batch").await?;
        let readings = batch.rooms.iter().map(|room| room.readings.len()).sum();
        self.inner().write_batch(batch).await?;
        self.after_write_batch(readings);
        Ok(())
    }
    async fn acquire_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<u64, StoreError> {
        self.before_write("acquire_office").await?;
        self.inner().acquire_office(tenant, office).await
    }
    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        self.before_read("room_state", room.as_str()).await;
        self.inner().room_state(tenant, room).await
    }
    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
        page: PageRequest<ReadingCursor>,
    ) -> Result<ReadingsPage, StoreError> {
        self.before_read("readings", room.as_str()).await;
        self.inner().readings(tenant, room, range, page).await
    }
    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        self.before_read("rollups", room.as_str()).await;
        self.inner()
            .rollups(tenant, room, resolution, range, page)
            .await
    }
    async fn rollups_in_ranges(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        self.before_read("rollups_in_ranges", room.as_str()).await;
        self.inner()
            .rollups_in_ranges(tenant, room, resolution, ranges)
            .await
    }
    fn keeps_area_rollups(&self) -> bool {
        self.inner().keeps_area_rollups()
    }
    async fn write_area_rollups(&self, write: &AreaRollupWrite) -> Result<(), StoreError> {
        self.before_write("write_area_rollups").await?;
        self.inner().write_area_rollups(write).await
    }
    async fn area_rollup_frontier(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
    ) -> Result<Option<RollupFrontier>, StoreError> {
        self.before_read("area_rollup_frontier", area_id(tenant, area))
            .await;
        self.inner().area_rollup_frontier(tenant, area).await
    }
    async fn area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        self.before_read("area_rollups", area_id(tenant, area))
            .await;
        self.inner()
            .area_rollups(tenant, area, resolution, range, page)
            .await
    }
    async fn area_rollups_in_ranges(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        self.before_read("area_rollups_in_ranges", area_id(tenant, area))
            .await;
        self.inner()
            .area_rollups_in_ranges(tenant, area, resolution, ranges)
            .await
    }
    async fn apply_retention(
        &self,
        defaults: &RetentionPolicy,
        now: TimestampMs,
    ) -> Result<RetentionReport, StoreError> {
        self.before_write("apply_retention").await?;
        self.inner().apply_retention(defaults, now).await
    }
    async fn erase_tenant(
        &self,
        tenant: &TenantId,
        requested_by: &str,
        now: TimestampMs,
    ) -> Result<ErasureReport, StoreError> {
        self.before_write("erase_tenant").await?;
        self.inner().erase_tenant(tenant, requested_by, now).await
    }
    async fn erasure(&self, tenant: &TenantId) -> Result<Option<ErasureReport>, StoreError> {
        self.inner().erasure(tenant).await
    }
}

/// The id an area's reads are seen under: its office, or the tenant for the tenant area.
fn area_id<'a>(tenant: &'a TenantId, area: &'a RollupArea) -> &'a str {
    match area {
        RollupArea::Office(office) => office.as_str(),
        RollupArea::Tenant => tenant.as_str(),
    }
}
