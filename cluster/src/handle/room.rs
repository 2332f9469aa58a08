//! [`RoomHandle`]: send a room a batch of readings and get its durable ack.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{AckReceiver, RoomMsg, await_ack, send_readings};
use tally_protocol::{Reading, RoomId, SensorId, ServiceError, TenantId, TimestampMs};
use tally_storage::SharedStore;

use crate::retired::RetiredTenants;
use crate::transport::{PendingReply, RemoteRoom, durable_seq};

/// Where a room's actor lives.
#[derive(Debug, Clone)]
enum RoomTarget {
    /// On this node.
    Local {
        actor: ActorRef<RoomMsg>,
        store: SharedStore,
        retired: RetiredTenants,
        timeout: Duration,
    },
    /// On the owner node of its office, reached through its endpoint.
    Remote(Arc<RemoteRoom>),
}

/// A room of an active office: sensors' batches go here, acks come back once durable.
///
/// Cheap to clone. A handle stays valid while its room actor runs; when the room stops (restart,
/// quarantine, handoff), sends fail with [`ServiceError::Unavailable`] and the caller resolves the
/// room again through the router. A remote handle (the room's office is owned by another node)
/// likewise stays valid while its link to the owner is up.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    target: RoomTarget,
    tenant: TenantId,
    room: RoomId,
}

/// The answer to [`RoomHandle::send`]: resolves to the sensor's highest durable seq.
#[derive(Debug)]
pub struct PendingAck {
    answer: Answer,
}

/// Where the answer to a batch comes from.
#[derive(Debug)]
enum Answer {
    /// The local room's reply.
    Local {
        answer: AckReceiver,
        timeout: Duration,
    },
    /// The owner's reply to the forwarded batch.
    Remote(PendingReply),
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
            target: RoomTarget::Local {
                actor,
                store,
                retired,
                timeout,
            },
            tenant,
            room,
        }
    }

    /// A handle on a room of another node.
    pub(crate) fn remote(remote: RemoteRoom, tenant: TenantId, room: RoomId) -> Self {
        Self {
            target: RoomTarget::Remote(Arc::new(remote)),
            tenant,
            room,
        }
    }

    /// The room's tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The room.
    pub fn room(&self) -> &RoomId {
        &self.room
    }

    /// Enqueues a batch of one sensor's validated readings at the room now, and returns its
    /// pending ack. Batches sent one after another are applied in that order, so a connection
    /// that pipelines batches sends them in seq order before awaiting any ack.
    ///
    /// A remote handle forwards the batch to the owner's room at once, in the same order.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the room is not running (or its owner is not linked),
    /// [`ServiceError::NotFound`] once its tenant's erasure has begun (the owner's handle
    /// answers that for a forwarded batch).
    pub fn send(
        &self,
        sensor: SensorId,
        items: Vec<Reading>,
        received_at: TimestampMs,
    ) -> Result<PendingAck, ServiceError> {
        let answer = match &self.target {
            RoomTarget::Local {
                actor,
                retired,
                timeout,
                ..
            } => {
                retired.check(&self.tenant)?;
                Answer::Local {
                    answer: send_readings(actor, sensor, items, received_at)?,
                    timeout: *timeout,
                }
            }
            RoomTarget::Remote(remote) => {
                Answer::Remote(remote.send(sensor, items, received_at)?)
            }
        };
        Ok(PendingAck { answer })
    }

    /// Resolves once the room's tenant is being erased on this node
    /// ([`crate::Router::retire_tenant`]), with the error (`not_found` for the tenant) to close
    /// the connection with; never before. A remote handle never resolves here: the owner refuses
    /// the tenant's forwarded batches instead.
    pub async fn retired(&self) -> ServiceError {
        match &self.target {
            RoomTarget::Local { retired, .. } => retired.retired(&self.tenant).await,
            RoomTarget::Remote(_) => std::future::pending().await,
        }
    }

    /// The highest seq of `sensor` that is durable: a sensor resends what comes after it. Read
    /// from the store, so it is never ahead of what storage holds (readings the room applied but
    /// has not written yet are resent and deduplicated).
    ///
    /// # Errors
    /// [`ServiceError::Storage`] if the store cannot be read; for a remote handle
    /// [`ServiceError::Unavailable`] if the owner did not answer.
    pub async fn last_durable_seq(&self, sensor: &SensorId) -> Result<u64, ServiceError> {
        let store = match &self.target {
            RoomTarget::Local { store, .. } => store,
            RoomTarget::Remote(remote) => return remote.last_durable_seq(sensor).await,
        };
        let state = store.room_state(&self.tenant, &self.room).await?;
        Ok(state
            .and_then(|state| state.sensors.get(sensor).map(|s| s.last_seq))
            .unwrap_or(0))
    }
}

impl PendingAck {
    /// Waits until the batch is durable: the sensor's highest durable seq.
    ///
    /// For a forwarded batch the answer means durable on the owner, exactly as locally.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the room stopped or did not answer within the node's call
    /// timeout (for a forwarded batch: the owner went down or did not answer within the
    /// transport's call timeout), [`ServiceError::Storage`] if the write failed. Nothing of the
    /// batch is acknowledged then; the sensor resends after its last acknowledged seq.
    pub async fn durable(self) -> Result<u64, ServiceError> {
        match self.answer {
            Answer::Local { answer, timeout } => await_ack(answer, timeout).await,
            Answer::Remote(pending) => durable_seq(pending).await,
        }
    }
}
