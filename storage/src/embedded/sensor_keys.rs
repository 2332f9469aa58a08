//! A sensor's keys in the embedded store: rows of the `sensor_keys` keyspace (keyed by hash
//! alone, the authentication lookup) that name the sensor. Finding a sensor's keys scans that
//! keyspace, as erasure does: it is an admin action on one node's sensors, while the lookup
//! by hash stays one read. Every change holds the write lock and commits one fsynced batch.

use tally_protocol::{SensorId, TenantId, TimestampMs};

use super::{
    Inner,
    codec::{backend, decode, encode},
    keys,
    registry::{SensorKeyRow, ensure_present},
};
use crate::{KeyHash, Sensor, SensorKey, StoreError, sensor_key::earlier_expiry};

/// Every key row of a sensor, with its hash.
fn rows_of(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<Vec<(KeyHash, SensorKeyRow)>, StoreError> {
    let mut found = Vec::new();
    for guard in inner.sensor_keys.iter() {
        let (key, value) = guard.into_inner().map_err(backend)?;
        let row: SensorKeyRow = decode("sensor key", &value)?;
        if &row.tenant == tenant && &row.sensor == sensor {
            let hash = <[u8; 32]>::try_from(&key[..])
                .map_err(|_| StoreError::Corrupt(format!("sensor key of {} bytes", key.len())))?;
            found.push((KeyHash(hash), row));
        }
    }
    Ok(found)
}

/// Fails with `NotFound` unless the tenant has the sensor.
fn ensure_sensor(inner: &Inner, tenant: &TenantId, sensor: &SensorId) -> Result<(), StoreError> {
    ensure_present(
        inner,
        &keys::sensor(tenant, sensor),
        "sensor",
        sensor.as_str(),
    )
}

/// Adds a key; with `others_expire_at` the sensor's other keys expire then at the latest.
pub(super) fn add(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
    key: &SensorKey,
    others_expire_at: Option<TimestampMs>,
) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(tenant)?;
    ensure_sensor(inner, tenant, sensor)?;
    let hash_key = keys::sensor_key(&key.hash);
    if inner.sensor_keys.contains_key(&hash_key).map_err(backend)? {
        return Err(StoreError::AlreadyExists {
            kind: "sensor key",
            id: key.hash.hex(),
        });
    }
    let mut batch = inner.durable_batch();
    if others_expire_at.is_some() {
        for (hash, mut row) in rows_of(inner, tenant, sensor)? {
            row.expires_at = earlier_expiry(row.expires_at, others_expire_at);
            batch.insert(&inner.sensor_keys, keys::sensor_key(&hash), encode(&row)?);
        }
    }
    let row = SensorKeyRow {
        tenant: tenant.clone(),
        sensor: sensor.clone(),
        created_at: key.created_at,
        expires_at: key.expires_at,
    };
    batch.insert(&inner.sensor_keys, hash_key, encode(&row)?);
    inner.commit(batch)
}

/// The sensor's keys, oldest first.
pub(super) fn list(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<Vec<SensorKey>, StoreError> {
    if inner.erased(tenant)? {
        return Ok(Vec::new());
    }
    let mut found: Vec<SensorKey> = rows_of(inner, tenant, sensor)?
        .into_iter()
        .map(|(hash, row)| SensorKey {
            hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
        .collect();
    found.sort_by_key(|key| (key.created_at, key.hash.0));
    Ok(found)
}

/// Deletes one key of the sensor (or all); returns how many.
pub(super) fn revoke(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
    only: Option<&KeyHash>,
) -> Result<u64, StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(tenant)?;
    ensure_sensor(inner, tenant, sensor)?;
    let mut batch = inner.durable_batch();
    let mut deleted = 0;
    for (hash, _) in rows_of(inner, tenant, sensor)? {
        if only.is_none_or(|only| *only == hash) {
            batch.remove(&inner.sensor_keys, keys::sensor_key(&hash));
            deleted += 1;
        }
    }
    if deleted > 0 {
        inner.commit(batch)?;
    }
    Ok(deleted)
}

/// Deletes the sensor, its by-room index row and its keys in one batch.
pub(super) fn delete_sensor(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<(), StoreError> {
    let _guard = inner.lock();
    inner.ensure_not_erased(tenant)?;
    let key = keys::sensor(tenant, sensor);
    let Some(stored) = inner.registry.get(&key).map_err(backend)? else {
        return Err(StoreError::NotFound {
            kind: "sensor",
            id: sensor.to_string(),
        });
    };
    let stored: Sensor = decode("sensor", &stored)?;
    let mut batch = inner.durable_batch();
    for (hash, _) in rows_of(inner, tenant, sensor)? {
        batch.remove(&inner.sensor_keys, keys::sensor_key(&hash));
    }
    batch.remove(
        &inner.registry,
        keys::sensor_by_room(tenant, &stored.room, sensor),
    );
    batch.remove(&inner.registry, key);
    inner.commit(batch)
}
