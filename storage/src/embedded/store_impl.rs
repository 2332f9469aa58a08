//! The [`Store`](crate::Store) implementation of [`EmbeddedStore`]: each call runs its synchronous part
//! on the blocking pool; reads of an erased tenant answer as for a missing one.

use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use super::{
    EmbeddedStore, audit, codec, data, erasure, keys, registry, retention, sensor_keys,
    token_revocation,
};
use crate::{
    AreaRollupWrite, AuditEntry, AuditPage, AuditScope, ErasureReport, KeyHash, Office,
    OfficeCalendar, PageRequest, ReadingCursor, ReadingsPage, Resolution, RetentionPolicy,
    RetentionReport, Rollup, RollupArea, RollupFrontier, RollupsPage, Room, RoomState, Sensor,
    SensorKey, Store, StoreError, Tenant, TimeRange, TokenRevocations, WriteBatch,
};

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.run(move |inner| registry::create_tenant(inner, &tenant))
            .await
    }

    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let key = keys::tenant(tenant);
        self.read(tenant, move |inner| {
            codec::get(&inner.registry, &key, "tenant")
        })
        .await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.run(|inner| {
            let all: Vec<Tenant> = codec::scan_prefix(&inner.registry, &keys::tenants(), "tenant")?;
            let mut live = Vec::with_capacity(all.len());
            for tenant in all {
                if !inner.erased(&tenant.id)? {
                    live.push(tenant);
                }
            }
            Ok(live)
        })
        .await
    }

    async fn create_office(&self, office: &Office) -> Result<(), StoreError> {
        let office = office.clone();
        self.run(move |inner| registry::create_office(inner, &office))
            .await
    }

    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError> {
        let key = keys::office(tenant, office);
        self.read(tenant, move |inner| {
            codec::get(&inner.registry, &key, "office")
        })
        .await
    }

    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        let prefix = keys::offices(tenant);
        self.read(tenant, move |inner| {
            codec::scan_prefix(&inner.registry, &prefix, "office")
        })
        .await
    }

    async fn set_office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        calendar: &OfficeCalendar,
    ) -> Result<(), StoreError> {
        let (tenant, office, calendar) = (tenant.clone(), office.clone(), calendar.clone());
        self.run(move |inner| registry::set_office_calendar(inner, &tenant, &office, &calendar))
            .await
    }

    async fn office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<OfficeCalendar>, StoreError> {
        let key = keys::office_calendar(tenant, office);
        self.read(tenant, move |inner| {
            codec::get(&inner.registry, &key, "office calendar")
        })
        .await
    }

    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        let room = room.clone();
        self.run(move |inner| registry::create_room(inner, &room))
            .await
    }

    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError> {
        let key = keys::room(tenant, room);
        self.read(tenant, move |inner| {
            codec::get(&inner.registry, &key, "room")
        })
        .await
    }

    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError> {
        let prefix = keys::rooms_by_office(tenant, office);
        self.read(tenant, move |inner| {
            codec::scan_prefix(&inner.registry, &prefix, "room")
        })
        .await
    }

    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError> {
        let (sensor, key_hash) = (sensor.clone(), *key_hash);
        self.run(move |inner| registry::create_sensor(inner, &sensor, &key_hash))
            .await
    }

    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError> {
        let key = keys::sensor(tenant, sensor);
        self.read(tenant, move |inner| {
            codec::get(&inner.registry, &key, "sensor")
        })
        .await
    }

    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError> {
        let prefix = keys::sensors_by_room(tenant, room);
        self.read(tenant, move |inner| {
            codec::scan_prefix(&inner.registry, &prefix, "sensor")
        })
        .await
    }

    async fn sensor_by_key_hash(
        &self,
        key_hash: &KeyHash,
        now: TimestampMs,
    ) -> Result<Option<Sensor>, StoreError> {
        let key_hash = *key_hash;
        self.run(move |inner| registry::sensor_by_key_hash(inner, &key_hash, now))
            .await
    }

    async fn add_sensor_key(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: &SensorKey,
        others_expire_at: Option<TimestampMs>,
    ) -> Result<(), StoreError> {
        let (tenant, sensor, key) = (tenant.clone(), sensor.clone(), *key);
        self.run(move |inner| sensor_keys::add(inner, &tenant, &sensor, &key, others_expire_at))
            .await
    }

    async fn sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Vec<SensorKey>, StoreError> {
        let (tenant, sensor) = (tenant.clone(), sensor.clone());
        self.run(move |inner| sensor_keys::list(inner, &tenant, &sensor))
            .await
    }

    async fn revoke_sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: Option<&KeyHash>,
    ) -> Result<u64, StoreError> {
        let (tenant, sensor, key) = (tenant.clone(), sensor.clone(), key.copied());
        self.run(move |inner| sensor_keys::revoke(inner, &tenant, &sensor, key.as_ref()))
            .await
    }

    async fn delete_sensor(&self, tenant: &TenantId, sensor: &SensorId) -> Result<(), StoreError> {
        let (tenant, sensor) = (tenant.clone(), sensor.clone());
        self.run(move |inner| sensor_keys::delete_sensor(inner, &tenant, &sensor))
            .await
    }

    async fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), StoreError> {
        let (tenant, policy) = (tenant.clone(), policy.copied());
        self.run(move |inner| registry::set_retention(inner, &tenant, policy.as_ref()))
            .await
    }

    async fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, StoreError> {
        let key = keys::retention(tenant);
        self.read(tenant, move |inner| {
            codec::get(&inner.registry, &key, "retention policy")
        })
        .await
    }
    async fn revoke_tokens_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, StoreError> {
        let tenant = tenant.clone();
        self.run(move |inner| token_revocation::revoke_issued_before(inner, &tenant, before))
            .await
    }

    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let (tenant, token_id) = (tenant.clone(), token_id.to_owned());
        self.run(move |inner| token_revocation::revoke_token(inner, &tenant, &token_id, expires_at))
            .await
    }

    async fn token_revocations(
        &self,
        tenant: &TenantId,
        now: u64,
    ) -> Result<TokenRevocations, StoreError> {
        let owned = tenant.clone();
        self.read(tenant, move |inner| {
            token_revocation::revocations(inner, &owned, now)
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.run(move |inner| audit::append(inner, &entry)).await
    }

    async fn audit(
        &self,
        scope: &AuditScope,
        range: TimeRange,
        page: PageRequest<String>,
    ) -> Result<AuditPage, StoreError> {
        let scope = scope.clone();
        self.run(move |inner| audit::page(inner, &scope, range, &page))
            .await
    }

    async fn write_batch(&self, batch: Arc<WriteBatch>) -> Result<(), StoreError> {
        if batch.rooms.is_empty() {
            return Ok(());
        }
        self.run(move |inner| data::write_batch(inner, &batch))
            .await
    }

    async fn acquire_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<u64, StoreError> {
        let (tenant, office) = (tenant.clone(), office.clone());
        self.run(move |inner| data::acquire_office(inner, &tenant, &office))
            .await
    }

    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        let key = keys::room_partition(tenant, room);
        self.read(tenant, move |inner| {
            codec::get(&inner.room_state, &key, "room state")
        })
        .await
    }

    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
        page: PageRequest<ReadingCursor>,
    ) -> Result<ReadingsPage, StoreError> {
        let (owned, room) = (tenant.clone(), room.clone());
        self.read(tenant, move |inner| {
            data::readings(inner, &owned, &room, range, &page)
        })
        .await
    }

    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        let (owned, room) = (tenant.clone(), room.clone());
        self.read(tenant, move |inner| {
            data::rollups(inner, &owned, &room, resolution, range, &page)
        })
        .await
    }
    async fn rollups_in_ranges(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        let (owned, room, ranges) = (tenant.clone(), room.clone(), ranges.to_vec());
        self.read(tenant, move |inner| {
            data::rollups_in_ranges(inner, &ranges, |ts| {
                keys::rollup(&owned, &room, resolution, ts)
            })
        })
        .await
    }
    fn keeps_area_rollups(&self) -> bool {
        true
    }

    async fn write_area_rollups(&self, write: &AreaRollupWrite) -> Result<(), StoreError> {
        let write = write.clone();
        self.run(move |inner| data::write_area_rollups(inner, &write))
            .await
    }

    async fn area_rollup_frontier(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
    ) -> Result<Option<RollupFrontier>, StoreError> {
        let key = keys::area_rollup_frontier(tenant, area);
        self.read(tenant, move |inner| {
            codec::get(&inner.rollups, &key, "area rollup frontier")
        })
        .await
    }

    async fn area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        let (owned, area) = (tenant.clone(), area.clone());
        self.read(tenant, move |inner| {
            data::area_rollups(inner, &owned, &area, resolution, range, &page)
        })
        .await
    }

    async fn area_rollups_in_ranges(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        let (owned, area, ranges) = (tenant.clone(), area.clone(), ranges.to_vec());
        self.read(tenant, move |inner| {
            data::rollups_in_ranges(inner, &ranges, |ts| {
                keys::area_rollup(&owned, &area, resolution, ts)
            })
        })
        .await
    }

    async fn apply_retention(
        &self,
        defaults: &RetentionPolicy,
        now: TimestampMs,
    ) -> Result<RetentionReport, StoreError> {
        let defaults = *defaults;
        self.run(move |inner| retention::apply(inner, &defaults, now))
            .await
    }

    async fn erase_tenant(
        &self,
        tenant: &TenantId,
        requested_by: &str,
        now: TimestampMs,
    ) -> Result<ErasureReport, StoreError> {
        let (tenant, requested_by) = (tenant.clone(), requested_by.to_owned());
        self.run(move |inner| erasure::erase(inner, &tenant, &requested_by, now))
            .await
    }

    async fn erasure(&self, tenant: &TenantId) -> Result<Option<ErasureReport>, StoreError> {
        let key = keys::erasure(tenant);
        self.run(move |inner| codec::get(&inner.erasures, &key, "erasure"))
            .await
    }
}
