//! The [`Store`] trait: what every storage backend provides.

use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};

use crate::{
    KeyHash, Office, Resolution, Rollup, Room, RoomState, Sensor, StoreError, StoredReading,
    Tenant, TimeRange, WriteBatch,
};

/// A store shared by every actor and handler of a node.
pub type SharedStore = Arc<dyn Store>;

/// Durable storage of the registry, raw readings, room states and rollups.
///
/// Every read takes the tenant: a backend never returns another tenant's data.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates a tenant.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// A tenant by id.
    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, ordered by id.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;

    /// Creates an office.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without its tenant, [`StoreError::AlreadyExists`] if taken.
    async fn create_office(&self, office: &Office) -> Result<(), StoreError>;
    /// An office of a tenant.
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError>;
    /// Every office of a tenant, ordered by id.
    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError>;

    /// Creates a room.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without its office, [`StoreError::AlreadyExists`] if the room id
    /// is taken anywhere in the tenant.
    async fn create_room(&self, room: &Room) -> Result<(), StoreError>;
    /// A room of a tenant.
    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError>;
    /// Every room of an office, ordered by id.
    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError>;

    /// Creates a sensor with the hash of its key.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without its room (in the sensor's office),
    /// [`StoreError::AlreadyExists`] if the sensor id or the key hash is taken.
    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError>;
    /// A sensor of a tenant.
    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError>;
    /// Every sensor of a room, ordered by id.
    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError>;
    /// The sensor whose key hashes to `key_hash` (authentication).
    async fn sensor_by_key_hash(&self, key_hash: &KeyHash) -> Result<Option<Sensor>, StoreError>;

    /// Writes a batch atomically; returns once it is durable (survives `kill -9` and power loss
    /// as far as the backend can promise).
    ///
    /// # Errors
    /// [`StoreError::Backend`]: then nothing of the batch may be assumed written.
    async fn write_batch(&self, batch: WriteBatch) -> Result<(), StoreError>;
    /// The last written state of a room.
    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError>;
    /// Raw readings of a room with `ts` in `range`, ordered by `(ts, sensor, seq)`.
    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
    ) -> Result<Vec<(SensorId, StoredReading)>, StoreError>;
    /// Rollups of a room at `resolution` with `bucket_start` in `range`, ordered by start.
    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError>;
}
