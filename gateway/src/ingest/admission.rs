//! Admission of readings into the actors, one place for the WebSocket and HTTP paths.
//!
//! ractor mailboxes are unbounded, so work is bounded here: every batch first takes one permit
//! per reading from the node-wide [`NodeAdmission`] (`ingest.node_inflight`), and gives them back
//! when its room answers. A WebSocket connection also keeps at most `ingest.inflight_window`
//! readings unacknowledged ([`InflightWindow`]); an HTTP request holds one batch. Past either
//! bound the caller waits: the socket is not read, and TCP pushes back.

use std::future::Future;
use std::sync::Arc;

use tally_cluster::RoomHandle;
use tally_protocol::{Reading, SensorId, ServiceError, now_ms};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The node-wide bound on readings admitted and not yet acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct NodeAdmission {
    permits: Arc<Semaphore>,
}

/// Readings admitted into the node; their share of the bound returns when this is dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    _permits: OwnedSemaphorePermit,
}

impl NodeAdmission {
    /// A bound of `readings` in flight across the node.
    pub(crate) fn new(readings: u32) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(readings as usize)),
        }
    }

    /// Waits until `readings` more may enter the node.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is admitted unless this returns.
    pub(crate) async fn admit(&self, readings: usize) -> Admitted {
        let wanted = u32::try_from(readings).unwrap_or(u32::MAX);
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(wanted)
            .await
            .expect("the admission semaphore is never closed");
        Admitted { _permits: permit }
    }
}

/// Readings one connection has sent and not yet had acknowledged, against its window.
#[derive(Debug)]
pub(crate) struct InflightWindow {
    limit: usize,
    inflight: usize,
}

impl InflightWindow {
    /// A window of `limit` readings.
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit: limit as usize,
            inflight: 0,
        }
    }

    /// Whether the connection may read another frame.
    pub(crate) fn is_open(&self) -> bool {
        self.inflight < self.limit
    }

    /// `readings` were sent to the room.
    pub(crate) fn sent(&mut self, readings: usize) {
        self.inflight += readings;
    }

    /// `readings` were answered (acknowledged or failed).
    pub(crate) fn answered(&mut self, readings: usize) {
        self.inflight -= readings;
    }
}

/// Sends an admitted batch to its room now (so one connection's batches keep their order) and
/// returns the future of its ack, which holds the batch's admission until the room answers.
///
/// # Errors
/// [`ServiceError::Unavailable`] if the room is not running.
pub(crate) fn dispatch(
    room: &RoomHandle,
    sensor: SensorId,
    items: Vec<Reading>,
    admitted: Admitted,
) -> Result<impl Future<Output = Result<u64, ServiceError>> + Send + 'static, ServiceError> {
    let pending = room.send(sensor, items, now_ms())?;
    Ok(async move {
        let answer = pending.durable().await;
        drop(admitted);
        answer
    })
}
