//! A [`Store`] wrapper for tests that need storage to misbehave on purpose: writes that fail (a
//! full disk) or that are held until released (a slow disk), and registry/state reads that wait
//! on a test's hook (a slow read). Everything else, and every write that goes through, is the
//! wrapped real store.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tokio::sync::watch;

use crate::{
    KeyHash, Office, Resolution, Rollup, Room, RoomState, Sensor, SharedStore, Store, StoreError,
    StoredReading, Tenant, TimeRange, WriteBatch,
};

/// A future a read waits for.
type Delay = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Called before a read with the [`Store`] method's name and the id it reads.
type ReadHook = Arc<dyn Fn(&'static str, &str) -> Delay + Send + Sync>;

/// A real store whose writes can be made to fail or to wait, and whose reads to wait.
#[derive(Debug)]
pub struct FaultInjectingStore {
    inner: SharedStore,
    fail_writes: AtomicBool,
    /// The next writes to fail, and with what.
    fail_next: Mutex<Option<(usize, StoreError)>>,
    hold: watch::Sender<bool>,
    written: Mutex<Vec<usize>>,
    read_hook: Mutex<Option<DebugHook>>,
}

struct DebugHook(ReadHook);

impl std::fmt::Debug for DebugHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadHook")
    }
}

impl FaultInjectingStore {
    /// Wraps `inner`; writes go through until told otherwise.
    pub fn new(inner: SharedStore) -> Self {
        Self {
            inner,
            fail_writes: AtomicBool::new(false),
            fail_next: Mutex::new(None),
            hold: watch::Sender::new(false),
            written: Mutex::new(Vec::new()),
            read_hook: Mutex::new(None),
        }
    }

    /// Makes every following `tenant`, `office`, `rooms`, `room` and `room_state` read first
    /// await `hook(method, id)`, where `id` is the office, room or tenant read (replaces an
    /// earlier hook).
    pub fn delay_reads(
        &self,
        hook: impl Fn(&'static str, &str) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync
        + 'static,
    ) {
        if let Ok(mut slot) = self.read_hook.lock() {
            *slot = Some(DebugHook(Arc::new(hook)));
        }
    }

    async fn before_read(&self, method: &'static str, id: &str) {
        let hook = self
            .read_hook
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|hook| hook.0.clone()));
        if let Some(hook) = hook {
            hook(method, id).await;
        }
    }

    /// Makes every following write fail with [`StoreError::Backend`] (or stops doing so).
    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// Makes the next `count` writes fail with `error` (a retryable
    /// [`StoreError::Unavailable`], say), then lets writes through again; `usize::MAX` for
    /// "until told otherwise", `0` to stop.
    pub fn fail_next_writes(&self, count: usize, error: StoreError) {
        if let Ok(mut next) = self.fail_next.lock() {
            *next = (count > 0).then_some((count, error));
        }
    }

    /// The injected error for the write being made, if one is due (counting it down).
    fn next_failure(&self) -> Option<StoreError> {
        let mut next = self.fail_next.lock().ok()?;
        let (left, error) = next.as_mut()?;
        let error = error.clone();
        *left -= 1;
        if *left == 0 {
            *next = None;
        }
        Some(error)
    }

    /// Makes every following write wait until [`FaultInjectingStore::release_writes`].
    pub fn hold_writes(&self) {
        self.hold.send_replace(true);
    }

    /// Lets held and later writes through.
    pub fn release_writes(&self) {
        self.hold.send_replace(false);
    }

    /// Readings per successful write, in order.
    pub fn written_batches(&self) -> Vec<usize> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Store for FaultInjectingStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.inner.create_tenant(tenant).await
    }
    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.before_read("tenant", tenant.as_str()).await;
        self.inner.tenant(tenant).await
    }
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.inner.tenants().await
    }
    async fn create_office(&self, office: &Office) -> Result<(), StoreError> {
        self.inner.create_office(office).await
    }
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError> {
        self.before_read("office", office.as_str()).await;
        self.inner.office(tenant, office).await
    }
    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError> {
        self.inner.offices(tenant).await
    }
    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        self.inner.create_room(room).await
    }
    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError> {
        self.before_read("room", room.as_str()).await;
        self.inner.room(tenant, room).await
    }
    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError> {
        self.before_read("rooms", office.as_str()).await;
        self.inner.rooms(tenant, office).await
    }
    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError> {
        self.inner.create_sensor(sensor, key_hash).await
    }
    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError> {
        self.inner.sensor(tenant, sensor).await
    }
    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError> {
        self.inner.sensors(tenant, room).await
    }
    async fn sensor_by_key_hash(&self, key_hash: &KeyHash) -> Result<Option<Sensor>, StoreError> {
        self.inner.sensor_by_key_hash(key_hash).await
    }
    async fn write_batch(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut held = self.hold.subscribe();
        let _ = held.wait_for(|hold| !hold).await;
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Backend(
                "injected fault: no space left on device".into(),
            ));
        }
        if let Some(error) = self.next_failure() {
            return Err(error);
        }
        let readings = batch.rooms.iter().map(|room| room.readings.len()).sum();
        self.inner.write_batch(batch).await?;
        if let Ok(mut written) = self.written.lock() {
            written.push(readings);
        }
        Ok(())
    }
    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        self.before_read("room_state", room.as_str()).await;
        self.inner.room_state(tenant, room).await
    }
    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
    ) -> Result<Vec<(SensorId, StoredReading)>, StoreError> {
        self.inner.readings(tenant, room, range).await
    }
    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        self.inner.rollups(tenant, room, resolution, range).await
    }
}
