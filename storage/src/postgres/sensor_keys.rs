//! A sensor's keys in PostgreSQL: rows of `sensor_keys` (one per key hash, under row-level
//! security, indexed by sensor; the sensor's delete cascades to them). Each change is one
//! transaction set to the tenant that first locks the sensor's row, so a rotation and a
//! deletion of the same sensor do not interleave.

use tally_protocol::{SensorId, TenantId, TimestampMs};

use super::{
    Inner,
    errors::{Violation, corrupt, pg},
    registry::{exists, insert_error, query},
};
use crate::{KeyHash, SensorKey, StoreError};

/// Locks the sensor's row in `tx`, or fails with `NotFound`.
async fn lock_sensor(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<(), StoreError> {
    let found = tx
        .query_opt(
            "SELECT 1 FROM sensors WHERE tenant_id = $1 AND sensor_id = $2 FOR UPDATE",
            &[&tenant.as_str(), &sensor.as_str()],
        )
        .await
        .map_err(pg)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound {
            kind: "sensor",
            id: sensor.to_string(),
        }),
    }
}

/// Adds a key; with `others_expire_at` the sensor's other keys expire then at the latest.
pub(super) async fn add(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
    key: &SensorKey,
    others_expire_at: Option<TimestampMs>,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    lock_sensor(&tx, tenant, sensor).await?;
    if let Some(at) = others_expire_at {
        // LEAST ignores NULL: a key without expiry gets `at`, an earlier expiry stays.
        tx.execute(
            "UPDATE sensor_keys SET expires_at = LEAST(expires_at, $3) \
             WHERE tenant_id = $1 AND sensor_id = $2",
            &[&tenant.as_str(), &sensor.as_str(), &at],
        )
        .await
        .map_err(pg)?;
    }
    tx.execute(
        "INSERT INTO sensor_keys (key_hash, tenant_id, sensor_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &&key.hash.0[..],
            &tenant.as_str(),
            &sensor.as_str(),
            &key.created_at,
            &key.expires_at,
        ],
    )
    .await
    .map_err(|e| {
        insert_error(e, |v| match v {
            Violation::Unique => exists("sensor key", &key.hash.hex()),
            Violation::ForeignKey => None,
        })
    })?;
    tx.commit().await.map_err(pg)
}

/// The sensor's keys, oldest first.
pub(super) async fn list(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<Vec<SensorKey>, StoreError> {
    let rows = query(
        inner,
        tenant,
        "SELECT key_hash, created_at, expires_at FROM sensor_keys \
         WHERE tenant_id = $1 AND sensor_id = $2 ORDER BY created_at NULLS FIRST, key_hash",
        &[&tenant.as_str(), &sensor.as_str()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let hash: Vec<u8> = row.try_get(0).map_err(pg)?;
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| corrupt(format!("sensor key of {} bytes", hash.len())))?;
            Ok(SensorKey {
                hash: KeyHash(hash),
                created_at: row.try_get(1).map_err(pg)?,
                expires_at: row.try_get(2).map_err(pg)?,
            })
        })
        .collect()
}

/// Deletes one key of the sensor (or all); returns how many.
pub(super) async fn revoke(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
    only: Option<&KeyHash>,
) -> Result<u64, StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    lock_sensor(&tx, tenant, sensor).await?;
    let deleted = match only {
        Some(hash) => tx
            .execute(
                "DELETE FROM sensor_keys WHERE tenant_id = $1 AND sensor_id = $2 \
                 AND key_hash = $3",
                &[&tenant.as_str(), &sensor.as_str(), &&hash.0[..]],
            )
            .await
            .map_err(pg)?,
        None => tx
            .execute(
                "DELETE FROM sensor_keys WHERE tenant_id = $1 AND sensor_id = $2",
                &[&tenant.as_str(), &sensor.as_str()],
            )
            .await
            .map_err(pg)?,
    };
    tx.commit().await.map_err(pg)?;
    Ok(deleted)
}

/// Deletes the sensor; its keys go with it (`ON DELETE CASCADE`).
pub(super) async fn delete_sensor(
    inner: &Inner,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    let deleted = tx
        .execute(
            "DELETE FROM sensors WHERE tenant_id = $1 AND sensor_id = $2",
            &[&tenant.as_str(), &sensor.as_str()],
        )
        .await
        .map_err(pg)?;
    if deleted == 0 {
        return Err(StoreError::NotFound {
            kind: "sensor",
            id: sensor.to_string(),
        });
    }
    tx.commit().await.map_err(pg)
}
