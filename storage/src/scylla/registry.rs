//! Tenants, offices, rooms and sensors: created with `IF NOT EXISTS` (an LWT per create, so
//! concurrent creates of one id have exactly one winner), read by partition.

use tally_protocol::{IdError, OfficeId, RoomId, SensorId, TenantId};

use super::ScyllaStore;
use super::errors::corrupt;
use crate::{CountMode, KeyHash, Office, Room, Sensor, StoreError, Tenant};

/// A stored id, parsed.
fn parse<T>(
    what: &str,
    value: &str,
    new: fn(String) -> Result<T, IdError>,
) -> Result<T, StoreError> {
    new(value.to_owned()).map_err(|e| corrupt(format!("stored {what} id {value:?}: {e}")))
}

/// `AlreadyExists` of `kind`.
fn exists(kind: &'static str, id: &impl ToString) -> StoreError {
    StoreError::AlreadyExists {
        kind,
        id: id.to_string(),
    }
}

/// `NotFound` of `kind`.
fn missing(kind: &'static str, id: &impl ToString) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

/// A `rooms` row: id, office, name, capacity, count mode.
type RoomRow = (String, String, String, i32, String);
/// A `sensors` row: id, office, room, key hash.
type SensorRow = (String, String, String, Vec<u8>);

impl ScyllaStore {
    /// See [`crate::Store::create_tenant`].
    pub(super) async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        if self.erasure(&tenant.id).await?.is_some() {
            return Err(StoreError::Erased(tenant.id.clone()));
        }
        let outcome = self
            .lwt(
                &self.statements.insert_tenant,
                (tenant.id.as_str(), tenant.name.as_str()),
            )
            .await?;
        if !outcome.applied {
            return Err(exists("tenant", &tenant.id));
        }
        Ok(())
    }

    /// See [`crate::Store::tenant`].
    pub(super) async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let row: Option<(String, String)> = self
            .first_row(&self.statements.select_tenant, (tenant.as_str(),))
            .await?;
        row.map(|(id, name)| tenant_row(&id, name)).transpose()
    }

    /// See [`crate::Store::tenants`] (one partition, clustered by id: already ordered).
    pub(super) async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows: Vec<(String, String)> = self.rows(&self.statements.select_tenants, ()).await?;
        rows.into_iter()
            .map(|(id, name)| tenant_row(&id, name))
            .collect()
    }

    /// See [`crate::Store::create_office`].
    pub(super) async fn create_office(&self, office: &Office) -> Result<(), StoreError> {
        self.ensure_not_erased(&office.tenant).await?;
        if self.tenant(&office.tenant).await?.is_none() {
            return Err(missing("tenant", &office.tenant));
        }
        let outcome = self
            .lwt(
                &self.statements.insert_office,
                (
                    office.tenant.as_str(),
                    office.id.as_str(),
                    office.name.as_str(),
                ),
            )
            .await?;
        if !outcome.applied {
            return Err(exists("office", &office.id));
        }
        Ok(())
    }

    /// See [`crate::Store::office`].
    pub(super) async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError> {
        let row: Option<(String,)> = self
            .first_row(
                &self.statements.select_office,
                (tenant.as_str(), office.as_str()),
            )
            .await?;
        Ok(row.map(|(name,)| Office {
            tenant: tenant.clone(),
            id: office.clone(),
            name,
        }))
    }

    /// See [`crate::Store::offices`].
    pub(super) async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        let rows: Vec<(String, String)> = self
            .rows(&self.statements.select_offices, (tenant.as_str(),))
            .await?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok(Office {
                    tenant: tenant.clone(),
                    id: parse("office", &id, OfficeId::new)?,
                    name,
                })
            })
            .collect()
    }

    /// See [`crate::Store::create_room`].
    pub(super) async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        self.ensure_not_erased(&room.tenant).await?;
        if self.office(&room.tenant, &room.office).await?.is_none() {
            return Err(missing("office", &room.office));
        }
        let capacity = i32::try_from(room.capacity).map_err(|_| {
            StoreError::Backend(format!("room capacity {} too large", room.capacity))
        })?;
        let outcome = self
            .lwt(
                &self.statements.insert_room,
                (
                    room.tenant.as_str(),
                    room.id.as_str(),
                    room.office.as_str(),
                    room.name.as_str(),
                    capacity,
                    room.count_mode.name(),
                ),
            )
            .await?;
        if !outcome.applied {
            return Err(exists("room", &room.id));
        }
        Ok(())
    }

    /// See [`crate::Store::room`].
    pub(super) async fn room(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<Room>, StoreError> {
        let row: Option<RoomRow> = self
            .first_row(
                &self.statements.select_room,
                (tenant.as_str(), room.as_str()),
            )
            .await?;
        row.map(|row| room_row(tenant, row)).transpose()
    }

    /// See [`crate::Store::rooms`]: the tenant's rooms partition, those of `office` kept.
    pub(super) async fn rooms(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Vec<Room>, StoreError> {
        let rows: Vec<RoomRow> = self
            .rows(&self.statements.select_rooms, (tenant.as_str(),))
            .await?;
        rows.into_iter()
            .filter(|row| row.1 == office.as_str())
            .map(|row| room_row(tenant, row))
            .collect()
    }

    /// See [`crate::Store::create_sensor`]: the key hash is claimed first (unique across
    /// tenants), then the sensor id; a sensor id that is taken gives the claim back.
    pub(super) async fn create_sensor(
        &self,
        sensor: &Sensor,
        key_hash: &KeyHash,
    ) -> Result<(), StoreError> {
        self.ensure_not_erased(&sensor.tenant).await?;
        match self.room(&sensor.tenant, &sensor.room).await? {
            Some(room) if room.office == sensor.office => {}
            _ => return Err(missing("room", &sensor.room)),
        }
        if self.sensor(&sensor.tenant, &sensor.id).await?.is_some() {
            return Err(exists("sensor", &sensor.id));
        }
        let (tenant, id) = (sensor.tenant.as_str(), sensor.id.as_str());
        let claimed = self
            .lwt(
                &self.statements.insert_key_hash,
                (
                    key_hash.0.as_slice(),
                    tenant,
                    sensor.office.as_str(),
                    sensor.room.as_str(),
                    id,
                    tally_protocol::now_ms(),
                ),
            )
            .await?;
        if !claimed.applied {
            return Err(exists("sensor key", &key_hash.hex()));
        }
        let created = self
            .lwt(
                &self.statements.insert_sensor,
                (
                    tenant,
                    id,
                    sensor.office.as_str(),
                    sensor.room.as_str(),
                    key_hash.0.as_slice(),
                ),
            )
            .await?;
        if !created.applied {
            self.lwt(
                &self.statements.delete_key_hash,
                (key_hash.0.as_slice(), tenant, id),
            )
            .await?;
            return Err(exists("sensor", &sensor.id));
        }
        Ok(())
    }

    /// See [`crate::Store::sensor`].
    pub(super) async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError> {
        let row: Option<SensorRow> = self
            .first_row(
                &self.statements.select_sensor,
                (tenant.as_str(), sensor.as_str()),
            )
            .await?;
        row.map(|row| sensor_row(tenant, row)).transpose()
    }

    /// See [`crate::Store::sensors`]: the tenant's sensors partition, those of `room` kept.
    pub(super) async fn sensors(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Vec<Sensor>, StoreError> {
        Ok(self
            .all_sensors(tenant)
            .await?
            .into_iter()
            .filter(|(sensor, _)| &sensor.room == room)
            .map(|(sensor, _)| sensor)
            .collect())
    }

    /// Every sensor of a tenant with its key hash, ordered by id.
    pub(super) async fn all_sensors(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(Sensor, Vec<u8>)>, StoreError> {
        let rows: Vec<SensorRow> = self
            .rows(&self.statements.select_sensors, (tenant.as_str(),))
            .await?;
        rows.into_iter()
            .map(|row| {
                let hash = row.3.clone();
                Ok((sensor_row(tenant, row)?, hash))
            })
            .collect()
    }
}

/// A tenant from its row.
fn tenant_row(id: &str, name: String) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: parse("tenant", id, TenantId::new)?,
        name,
    })
}

/// A room from its row.
fn room_row(
    tenant: &TenantId,
    (id, office, name, capacity, mode): RoomRow,
) -> Result<Room, StoreError> {
    Ok(Room {
        tenant: tenant.clone(),
        office: parse("office", &office, OfficeId::new)?,
        id: parse("room", &id, RoomId::new)?,
        name,
        capacity: u32::try_from(capacity)
            .map_err(|_| corrupt(format!("room capacity {capacity} out of range")))?,
        count_mode: CountMode::from_name(&mode)
            .ok_or_else(|| corrupt(format!("unknown count mode {mode:?}")))?,
    })
}

/// A sensor from its row.
fn sensor_row(tenant: &TenantId, (id, office, room, _): SensorRow) -> Result<Sensor, StoreError> {
    Ok(Sensor {
        tenant: tenant.clone(),
        office: parse("office", &office, OfficeId::new)?,
        room: parse("room", &room, RoomId::new)?,
        id: parse("sensor", &id, SensorId::new)?,
    })
}
