//! A sensor's keys in ScyllaDB (migration 6). `sensors_by_key_hash` stays the truth, one
//! partition per key hash (the authentication read, claimed with `IF NOT EXISTS` so a hash is
//! unique across every tenant), now with `created_at` and `expires_at`. `sensor_keys`,
//! partitioned by tenant and clustered by `(sensor, key_hash)`, finds the keys added to a
//! sensor; the key a sensor was created with is still named by its `sensors` row. Every
//! candidate is checked against `sensors_by_key_hash` (tenant and sensor must match), so an
//! index row left by a crash between two statements finds nothing.
//!
//! Changes of a key's row are lightweight transactions conditioned on its tenant and sensor,
//! like its creation, so a rotation racing a revocation never brings a deleted key back.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use tally_protocol::{SensorId, TenantId, TimestampMs};

use super::ScyllaStore;
use super::errors::corrupt;
use super::statements::{Retry, prepared};
use crate::{KeyHash, Sensor, SensorKey, StoreError, sensor_key::earlier_expiry};

/// The statements of a sensor's keys.
#[derive(Debug)]
pub(super) struct KeyStatements {
    insert_key: PreparedStatement,
    select_key: PreparedStatement,
    expire_key: PreparedStatement,
    insert_index: PreparedStatement,
    select_index: PreparedStatement,
    delete_index: PreparedStatement,
    select_tenant_index: PreparedStatement,
    delete_tenant_index: PreparedStatement,
    delete_sensor: PreparedStatement,
}

impl KeyStatements {
    /// Prepares them against `keyspace`.
    pub(super) async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        let p = |cql: &str, retry| prepared(session, keyspace, cql.to_owned(), retry);
        use Retry::{Idempotent, Once};
        Ok(Self {
            insert_key: p(
                "INSERT INTO {ks}.sensors_by_key_hash (key_hash, tenant, office, room, sensor, \
                 created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Once,
            )
            .await?,
            select_key: p(
                "SELECT tenant, sensor, created_at, expires_at FROM {ks}.sensors_by_key_hash \
                 WHERE key_hash = ?",
                Idempotent,
            )
            .await?,
            expire_key: p(
                "UPDATE {ks}.sensors_by_key_hash SET expires_at = ? WHERE key_hash = ? \
                 IF tenant = ? AND sensor = ?",
                Once,
            )
            .await?,
            insert_index: p(
                "INSERT INTO {ks}.sensor_keys (tenant, sensor, key_hash) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_index: p(
                "SELECT key_hash FROM {ks}.sensor_keys WHERE tenant = ? AND sensor = ?",
                Idempotent,
            )
            .await?,
            delete_index: p(
                "DELETE FROM {ks}.sensor_keys WHERE tenant = ? AND sensor = ? AND key_hash = ?",
                Idempotent,
            )
            .await?,
            select_tenant_index: p(
                "SELECT sensor FROM {ks}.sensor_keys WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_tenant_index: p("DELETE FROM {ks}.sensor_keys WHERE tenant = ?", Idempotent)
                .await?,
            delete_sensor: p(
                "DELETE FROM {ks}.sensors WHERE tenant = ? AND id = ? IF EXISTS",
                Once,
            )
            .await?,
        })
    }
}

/// A `sensors_by_key_hash` row: tenant, sensor, created at, expires at.
type KeyRow = (String, String, Option<i64>, Option<i64>);

impl ScyllaStore {
    /// The sensor of the tenant, or `NotFound`.
    async fn existing_sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Sensor, StoreError> {
        self.sensor(tenant, sensor)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "sensor",
                id: sensor.to_string(),
            })
    }

    /// The stored row of a key hash.
    pub(super) async fn key_row(&self, hash: &[u8]) -> Result<Option<KeyRow>, StoreError> {
        self.first_row(&self.statements.keys.select_key, (hash,))
            .await
    }

    /// The keys of a sensor: the indexed ones and the one its row names, each confirmed.
    async fn keys_of(
        &self,
        tenant: &TenantId,
        sensor: &Sensor,
        created_with: Vec<u8>,
    ) -> Result<Vec<SensorKey>, StoreError> {
        let mut candidates: Vec<(Vec<u8>,)> = self
            .rows(
                &self.statements.keys.select_index,
                (tenant.as_str(), sensor.id.as_str()),
            )
            .await?;
        if !candidates.iter().any(|(hash,)| *hash == created_with) {
            candidates.push((created_with,));
        }
        let mut keys = Vec::new();
        for (hash,) in candidates {
            let Some((owner, owner_sensor, created_at, expires_at)) = self.key_row(&hash).await?
            else {
                continue;
            };
            if owner != tenant.as_str() || owner_sensor != sensor.id.as_str() {
                continue;
            }
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| corrupt(format!("sensor key of {} bytes", hash.len())))?;
            keys.push(SensorKey {
                hash: KeyHash(hash),
                created_at,
                expires_at,
            });
        }
        keys.sort_by_key(|key| (key.created_at, key.hash.0));
        Ok(keys)
    }

    /// The sensor (or `NotFound`) with its keys.
    async fn sensor_with_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<(Sensor, Vec<SensorKey>), StoreError> {
        let row: Option<(String, String, String, Vec<u8>)> = self
            .first_row(
                &self.statements.select_sensor,
                (tenant.as_str(), sensor.as_str()),
            )
            .await?;
        let Some((_, _, _, created_with)) = row else {
            return Err(StoreError::NotFound {
                kind: "sensor",
                id: sensor.to_string(),
            });
        };
        let found = self.existing_sensor(tenant, sensor).await?;
        let keys = self.keys_of(tenant, &found, created_with).await?;
        Ok((found, keys))
    }

    /// See [`crate::Store::sensor_by_key_hash`].
    pub(super) async fn sensor_by_key_hash(
        &self,
        key_hash: &KeyHash,
        now: TimestampMs,
    ) -> Result<Option<Sensor>, StoreError> {
        let Some((tenant, sensor, _, expires_at)) = self.key_row(&key_hash.0).await? else {
            return Ok(None);
        };
        if expires_at.is_some_and(|expires_at| now >= expires_at) {
            return Ok(None);
        }
        let tenant = TenantId::new(tenant.clone())
            .map_err(|e| corrupt(format!("stored tenant id {tenant:?}: {e}")))?;
        let sensor = SensorId::new(sensor.clone())
            .map_err(|e| corrupt(format!("stored sensor id {sensor:?}: {e}")))?;
        self.sensor(&tenant, &sensor).await
    }

    /// See [`crate::Store::add_sensor_key`]: the index row first, then the claim of the hash,
    /// then the other keys' expiry.
    pub(super) async fn add_sensor_key(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: &SensorKey,
        others_expire_at: Option<TimestampMs>,
    ) -> Result<(), StoreError> {
        self.ensure_not_erased(tenant).await?;
        let (found, others) = self.sensor_with_keys(tenant, sensor).await?;
        let (t, s, hash) = (tenant.as_str(), sensor.as_str(), key.hash.0.as_slice());
        self.execute(&self.statements.keys.insert_index, (t, s, hash))
            .await?;
        let claimed = self
            .lwt(
                &self.statements.keys.insert_key,
                (
                    hash,
                    t,
                    found.office.as_str(),
                    found.room.as_str(),
                    s,
                    key.created_at,
                    key.expires_at,
                ),
            )
            .await?;
        if !claimed.applied {
            self.execute(&self.statements.keys.delete_index, (t, s, hash))
                .await?;
            return Err(StoreError::AlreadyExists {
                kind: "sensor key",
                id: key.hash.hex(),
            });
        }
        for other in others {
            let expires_at = earlier_expiry(other.expires_at, others_expire_at);
            if expires_at != other.expires_at {
                self.lwt(
                    &self.statements.keys.expire_key,
                    (expires_at, other.hash.0.as_slice(), t, s),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// See [`crate::Store::sensor_keys`].
    pub(super) async fn sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Vec<SensorKey>, StoreError> {
        if self.control(tenant).await?.erased {
            return Ok(Vec::new());
        }
        match self.sensor_with_keys(tenant, sensor).await {
            Ok((_, keys)) => Ok(keys),
            Err(StoreError::NotFound { .. }) => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }

    /// See [`crate::Store::revoke_sensor_keys`].
    pub(super) async fn revoke_sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        only: Option<&KeyHash>,
    ) -> Result<u64, StoreError> {
        self.ensure_not_erased(tenant).await?;
        let (_, keys) = self.sensor_with_keys(tenant, sensor).await?;
        self.delete_keys(tenant, sensor, keys, only).await
    }

    /// Deletes the keys (those matching `only`), hash row first; returns how many.
    async fn delete_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        keys: Vec<SensorKey>,
        only: Option<&KeyHash>,
    ) -> Result<u64, StoreError> {
        let (t, s) = (tenant.as_str(), sensor.as_str());
        let mut deleted = 0;
        for key in keys {
            if only.is_some_and(|only| *only != key.hash) {
                continue;
            }
            let hash = key.hash.0.as_slice();
            let gone = self
                .lwt(&self.statements.delete_key_hash, (hash, t, s))
                .await?;
            self.execute(&self.statements.keys.delete_index, (t, s, hash))
                .await?;
            deleted += u64::from(gone.applied);
        }
        Ok(deleted)
    }

    /// See [`crate::Store::delete_sensor`]: its keys first, then its row.
    pub(super) async fn delete_sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<(), StoreError> {
        self.ensure_not_erased(tenant).await?;
        let (_, keys) = self.sensor_with_keys(tenant, sensor).await?;
        self.delete_keys(tenant, sensor, keys, None).await?;
        let gone = self
            .lwt(
                &self.statements.keys.delete_sensor,
                (tenant.as_str(), sensor.as_str()),
            )
            .await?;
        if !gone.applied {
            return Err(StoreError::NotFound {
                kind: "sensor",
                id: sensor.to_string(),
            });
        }
        Ok(())
    }

    /// Erasure: deletes every key of the tenant's sensors and the tenant's key index; returns
    /// how many keys there were.
    pub(super) async fn erase_sensor_keys(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for (sensor, created_with) in self.all_sensors(tenant).await? {
            let keys = self.keys_of(tenant, &sensor, created_with).await?;
            deleted += self.delete_keys(tenant, &sensor.id, keys, None).await?;
        }
        self.execute(
            &self.statements.keys.delete_tenant_index,
            (tenant.as_str(),),
        )
        .await?;
        Ok(deleted)
    }

    /// How many key index rows the tenant has (erasure verifies with it).
    pub(super) async fn sensor_key_index_rows(
        &self,
        tenant: &TenantId,
    ) -> Result<usize, StoreError> {
        let rows: Vec<(String,)> = self
            .rows(
                &self.statements.keys.select_tenant_index,
                (tenant.as_str(),),
            )
            .await?;
        Ok(rows.len())
    }
}
