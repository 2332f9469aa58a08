//! [`RoomHandle`]: send a room a batch of readings and get its durable ack.

use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{AckReceiver, RoomMsg, await_ack, send_readings};
use tally_protocol::{Reading, RoomId, SensorId, ServiceError, TenantId, TimestampMs};
use tally_storage::SharedStore;

use crate::retired::RetiredTenants;

/// Where a room's actor lives.
#[derive(Debug, Clone)]
enum RoomTarget {
    /// On this node.
    Local(ActorRef<RoomMsg>),
}

/// A room of an active office: sensors' batches go here, acks come back once durable.
///
/// Cheap to clone. A handle stays valid while its room actor runs; when the room stops (restart,
/// quarantine, handoff), sends fail with [`ServiceError::Unavailable`] and the caller resolves the
/// room again through the router.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    target: RoomTarget,
    tenant: TenantId,
    room: RoomId,
    store: SharedStore,
    retired: RetiredTenants,
    timeout: Duration,
}

/// The answer to [`RoomHandle::send`]: resolves to the sensor's highest durable seq.
#[derive(Debug)]
pub struct PendingAck {
    answer: AckReceiver,
    timeout: Duration,
}

impl RoomHandle {
    /// A handle on a room actor of this node.
    pub(crate) fn local(
        actor: ActorRef<RoomMsg>,
        tenant: TenantId,
        room: RoomId,
        store: SharedStore,
        retired: RetiredTenants,
        timeout: Duration,
    ) -> Self {
        Self {
            target: RoomTarget::Local(actor),
            tenant,
            room,
            store,
            retired,
            timeout,
        }
    }

    /// The room.
    pub fn room(&self) -> &RoomId {
        &self.room
    }

    /// Enqueues a batch of one sensor's validated readings at the room now, and returns its
    /// pending ack. Batches sent one after another are applied in that order, so a connection
    /// that pipelines batches sends them in seq order before awaiting any ack.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the room is not running, [`ServiceError::NotFound`]
    /// once its tenant's erasure has begun.
    pub fn send(
        &self,
        sensor: SensorId,
        items: Vec<Reading>,
        received_at: TimestampMs,
    ) -> Result<PendingAck, ServiceError> {
        self.retired.check(&self.tenant)?;
        let RoomTarget::Local(actor) = &self.target;
        Ok(PendingAck {
            answer: send_readings(actor, sensor, items, received_at)?,
            timeout: self.timeout,
        })
    }

    /// Resolves once the room's tenant is being erased ([`crate::Router::retire_tenant`]),
    /// with the error (`not_found` for the tenant) to close the connection with; never before.
    pub async fn retired(&self) -> ServiceError {
        self.retired.retired(&self.tenant).await
    }

    /// The highest seq of `sensor` that is durable: a sensor resends what comes after it. Read
    /// from the store, so it is never ahead of what storage holds (readings the room applied but
    /// has not written yet are resent and deduplicated).
    ///
    /// # Errors
    /// [`ServiceError::Storage`] if the store cannot be read.
    pub async fn last_durable_seq(&self, sensor: &SensorId) -> Result<u64, ServiceError> {
        let state = self.store.room_state(&self.tenant, &self.room).await?;
        Ok(state
            .and_then(|state| state.sensors.get(sensor).map(|s| s.last_seq))
            .unwrap_or(0))
    }
}

impl PendingAck {
    /// Waits until the batch is durable: the sensor's highest durable seq.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the room stopped or did not answer within the node's call
    /// timeout, [`ServiceError::Storage`] if the write failed. Nothing of the batch is
    /// acknowledged then; the sensor resends after its last acknowledged seq.
    pub async fn durable(self) -> Result<u64, ServiceError> {
        await_ack(self.answer, self.timeout).await
    }
}
