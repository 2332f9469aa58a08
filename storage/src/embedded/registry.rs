//! Registry writes and the key-hash lookup of the embedded store.
//!
//! Creates hold the write lock from the existence (and erasure) checks to the commit, so two
//! concurrent creates of the same id cannot both succeed, and nothing is created for a tenant
//! once it is marked erased. Each create is one fsynced batch that writes the record and its
//! by-parent index together.

use serde::{Deserialize, Serialize};
use tally_protocol::{OfficeId, SensorId, TenantId, TimestampMs, now_ms};

use super::{
    Inner,
    codec::{backend, encode, get},
    keys,
};
use crate::{KeyHash, Office, OfficeCalendar, RetentionPolicy, Room, Sensor, StoreError, Tenant};

/// Value of the `sensor_keys` keyspace: which sensor a key hash belongs to.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SensorKeyRow {
    /// Tenant of the sensor.
    pub(super) tenant: TenantId,
    /// The sensor.
    pub(super) sensor: SensorId,
    /// When the key was added (absent in rows written before keys had times).
    #[serde(default)]
    pub(super) created_at: Option<TimestampMs>,
    /// When the key stops being accepted; absent: until revoked.
    #[serde(default)]
    pub(super) expires_at: Option<TimestampMs>,
}

/// Fails with `AlreadyExists` if the registry holds `key`.
fn ensure_absent(
    inner: &Inner,
    key: &[u8],
    kind: &'static str,
    id: &str,
) -> Result<(), StoreError> {
    if inner.registry.contains_key(key).map_err(backend)? {
        return Err(StoreError::AlreadyExists {
            kind,
            id: id.to_owned(),
        });
    }
    Ok(())
}

/// Fails with `NotFound` unless the registry holds `key`.
pub(super) fn ensure_present(
    inner: &Inner,
    key: &[u8],
    kind: &'static str,
    id: &str,
) -> Result<(), StoreError> {
    if !inner.registry.contains_key(key).map_err(backend)? {
        return Err(StoreError::NotFound {
            kind,
            id: id.to_owned(),
        });
    }
    Ok(())
}

/// Creates a tenant.
pub(super) fn create_tenant(inner: &Inner, tenant: &Tenant) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(&tenant.id)?;
    let key = keys::tenant(&tenant.id);
    ensure_absent(inner, &key, "tenant", tenant.id.as_str())?;
    let mut batch = inner.durable_batch();
    batch.insert(&inner.registry, key, encode(tenant)?);
    inner.commit(batch)
}

/// Creates an office of an existing tenant.
pub(super) fn create_office(inner: &Inner, office: &Office) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(&office.tenant)?;
    ensure_present(
        inner,
        &keys::tenant(&office.tenant),
        "tenant",
        office.tenant.as_str(),
    )?;
    let key = keys::office(&office.tenant, &office.id);
    ensure_absent(inner, &key, "office", office.id.as_str())?;
    let mut batch = inner.durable_batch();
    batch.insert(&inner.registry, key, encode(office)?);
    inner.commit(batch)
}

/// Creates a room in an existing office; room ids are unique per tenant.
pub(super) fn create_room(inner: &Inner, room: &Room) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(&room.tenant)?;
    let office_key = keys::office(&room.tenant, &room.office);
    ensure_present(inner, &office_key, "office", room.office.as_str())?;
    let key = keys::room(&room.tenant, &room.id);
    ensure_absent(inner, &key, "room", room.id.as_str())?;
    let value = encode(room)?;
    let mut batch = inner.durable_batch();
    batch.insert(
        &inner.registry,
        keys::room_by_office(&room.tenant, &room.office, &room.id),
        value.clone(),
    );
    batch.insert(&inner.registry, key, value);
    inner.commit(batch)
}

/// Creates a sensor in an existing room of its office; the key hash is unique globally.
pub(super) fn create_sensor(
    inner: &Inner,
    sensor: &Sensor,
    key_hash: &KeyHash,
) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(&sensor.tenant)?;
    let room: Option<Room> = get(
        &inner.registry,
        &keys::room(&sensor.tenant, &sensor.room),
        "room",
    )?;
    if room.is_none_or(|room| room.office != sensor.office) {
        let id = format!("{}/{}", sensor.office, sensor.room);
        return Err(StoreError::NotFound { kind: "room", id });
    }
    let key = keys::sensor(&sensor.tenant, &sensor.id);
    ensure_absent(inner, &key, "sensor", sensor.id.as_str())?;
    let hash_key = keys::sensor_key(key_hash);
    if inner.sensor_keys.contains_key(&hash_key).map_err(backend)? {
        return Err(StoreError::AlreadyExists {
            kind: "sensor key",
            id: hex(key_hash),
        });
    }
    let value = encode(sensor)?;
    let row = SensorKeyRow {
        tenant: sensor.tenant.clone(),
        sensor: sensor.id.clone(),
        created_at: Some(now_ms()),
        expires_at: None,
    };
    let mut batch = inner.durable_batch();
    batch.insert(
        &inner.registry,
        keys::sensor_by_room(&sensor.tenant, &sensor.room, &sensor.id),
        value.clone(),
    );
    batch.insert(&inner.registry, key, value);
    batch.insert(&inner.sensor_keys, hash_key, encode(&row)?);
    inner.commit(batch)
}

/// The sensor a key hash belongs to, if the key is valid at `now`.
pub(super) fn sensor_by_key_hash(
    inner: &Inner,
    key_hash: &KeyHash,
    now: TimestampMs,
) -> Result<Option<Sensor>, StoreError> {
    let Some(row) = get::<SensorKeyRow>(
        &inner.sensor_keys,
        &keys::sensor_key(key_hash),
        "sensor key",
    )?
    else {
        return Ok(None);
    };
    if row.expires_at.is_some_and(|expires_at| now >= expires_at) || inner.erased(&row.tenant)? {
        return Ok(None);
    }
    match get(
        &inner.registry,
        &keys::sensor(&row.tenant, &row.sensor),
        "sensor",
    )? {
        Some(sensor) => Ok(Some(sensor)),
        None => Err(StoreError::Corrupt(format!(
            "sensor key {} points to missing sensor {}/{}",
            hex(key_hash),
            row.tenant,
            row.sensor
        ))),
    }
}

/// Sets or clears a tenant's own retention policy.
pub(super) fn set_retention(
    inner: &Inner,
    tenant: &TenantId,
    policy: Option<&RetentionPolicy>,
) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(tenant)?;
    ensure_present(inner, &keys::tenant(tenant), "tenant", tenant.as_str())?;
    let mut batch = inner.durable_batch();
    match policy {
        Some(policy) => batch.insert(&inner.registry, keys::retention(tenant), encode(policy)?),
        None => batch.remove(&inner.registry, keys::retention(tenant)),
    }
    inner.commit(batch)
}

/// Sets an office's calendar.
pub(super) fn set_office_calendar(
    inner: &Inner,
    tenant: &TenantId,
    office: &OfficeId,
    calendar: &OfficeCalendar,
) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(tenant)?;
    ensure_present(
        inner,
        &keys::office(tenant, office),
        "office",
        office.as_str(),
    )?;
    let mut batch = inner.durable_batch();
    batch.insert(
        &inner.registry,
        keys::office_calendar(tenant, office),
        encode(calendar)?,
    );
    batch.commit().map_err(backend)
}

/// Lowercase hex of a key hash, for error messages.
fn hex(key_hash: &KeyHash) -> String {
    key_hash.0.iter().map(|b| format!("{b:02x}")).collect()
}
