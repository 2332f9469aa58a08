//! [`EmbeddedStore`]: the default, single-node backend on fjall.
//!
//! One fjall database with a keyspace per ScyllaDB table (design §4): `registry` (tenants,
//! offices, rooms, sensors and their by-parent indexes), `sensor_keys`, `readings`, `room_state`
//! and `rollups`. Every write is one fjall batch committed with `PersistMode::SyncAll`, so it is
//! atomic across keyspaces and fsynced before the call returns. fjall is synchronous: every
//! operation runs on tokio's blocking pool.

mod codec;
mod data;
mod keys;
mod registry;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch, PersistMode};
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};

use crate::{
    KeyHash, Office, Resolution, Rollup, Room, RoomState, Sensor, Store, StoreError, StoredReading,
    Tenant, TimeRange, WriteBatch,
};
use codec::backend;

/// The embedded store: a fjall database in a local directory. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// The database and its keyspaces.
struct Inner {
    path: PathBuf,
    db: Database,
    registry: Keyspace,
    sensor_keys: Keyspace,
    readings: Keyspace,
    room_state: Keyspace,
    rollups: Keyspace,
    /// Serialises registry writes so that check-then-insert cannot race.
    registry_lock: Mutex<()>,
}

impl Inner {
    /// A write batch that is fsynced when committed.
    fn durable_batch(&self) -> OwnedWriteBatch {
        self.db.batch().durability(Some(PersistMode::SyncAll))
    }
}

impl EmbeddedStore {
    /// Opens the store in `path`, creating the directory if needed.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the directory cannot be created or the database not opened
    /// (for example, another process holds it).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", path.display())))?;
        let db = Database::builder(path).open().map_err(backend)?;
        let keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(backend)
        };
        let inner = Inner {
            path: path.to_path_buf(),
            registry: keyspace("registry")?,
            sensor_keys: keyspace("sensor_keys")?,
            readings: keyspace("readings")?,
            room_state: keyspace("room_state")?,
            rollups: keyspace("rollups")?,
            registry_lock: Mutex::new(()),
            db,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs a synchronous operation on the blocking pool.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || op(&inner))
            .await
            .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
    }
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.run(move |inner| registry::create_tenant(inner, &tenant))
            .await
    }

    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let key = keys::tenant(tenant);
        self.run(move |inner| codec::get(&inner.registry, &key, "tenant"))
            .await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.run(|inner| codec::scan_prefix(&inner.registry, &keys::tenants(), "tenant"))
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
        self.run(move |inner| codec::get(&inner.registry, &key, "office"))
            .await
    }

    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        let prefix = keys::offices(tenant);
        self.run(move |inner| codec::scan_prefix(&inner.registry, &prefix, "office"))
            .await
    }

    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        let room = room.clone();
        self.run(move |inner| registry::create_room(inner, &room))
            .await
    }

    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError> {
        let key = keys::room(tenant, room);
        self.run(move |inner| codec::get(&inner.registry, &key, "room"))
            .await
    }

    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError> {
        let prefix = keys::rooms_by_office(tenant, office);
        self.run(move |inner| codec::scan_prefix(&inner.registry, &prefix, "room"))
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
        self.run(move |inner| codec::get(&inner.registry, &key, "sensor"))
            .await
    }

    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError> {
        let prefix = keys::sensors_by_room(tenant, room);
        self.run(move |inner| codec::scan_prefix(&inner.registry, &prefix, "sensor"))
            .await
    }

    async fn sensor_by_key_hash(&self, key_hash: &KeyHash) -> Result<Option<Sensor>, StoreError> {
        let key_hash = *key_hash;
        self.run(move |inner| registry::sensor_by_key_hash(inner, &key_hash))
            .await
    }

    async fn write_batch(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.rooms.is_empty() {
            return Ok(());
        }
        self.run(move |inner| data::write_batch(inner, &batch))
            .await
    }

    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        let key = keys::room_partition(tenant, room);
        self.run(move |inner| codec::get(&inner.room_state, &key, "room state"))
            .await
    }

    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
    ) -> Result<Vec<(SensorId, StoredReading)>, StoreError> {
        let (tenant, room) = (tenant.clone(), room.clone());
        self.run(move |inner| data::readings(inner, &tenant, &room, range))
            .await
    }

    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        let (tenant, room) = (tenant.clone(), room.clone());
        self.run(move |inner| data::rollups(inner, &tenant, &room, resolution, range))
            .await
    }
}
