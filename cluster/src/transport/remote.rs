//! The remote targets behind [`crate::RoomHandle`] and [`crate::OfficeHandle`]: a room or an
//! office of a peer, reached through its endpoint with calls that time out.

use std::sync::Arc;

use tally_actors::FrameSlotReceiver;
use tally_protocol::{DisplayFrame, Reading, RoomId, SensorId, ServiceError, TimestampMs};

use crate::TraceContext;
use crate::transport::link::{Link, PendingReply, unexpected};
use crate::transport::relay::{RelayLease, RelayTarget, Relays};
use crate::transport::telemetry;
use crate::transport::wire::{Reply, Request};

/// A room of a peer, opened on it under `stream` (closed when the last clone is dropped).
#[derive(Debug)]
pub(crate) struct RemoteRoom {
    link: Arc<Link>,
    stream: u64,
}

impl RemoteRoom {
    /// A room the peer behind `link` opened under `stream`.
    pub(crate) fn new(link: Arc<Link>, stream: u64) -> Self {
        Self { link, stream }
    }

    /// Forwards a batch now (batches sent one after another reach the room in that order).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the link is down.
    pub(crate) fn send(
        &self,
        sensor: SensorId,
        items: Vec<Reading>,
        received_at: TimestampMs,
    ) -> Result<PendingReply, ServiceError> {
        let readings = items.len() as u64;
        let pending = self.link.start(Request::Readings {
            stream: self.stream,
            sensor,
            items,
            received_at,
            // The caller's span (the gateway's) becomes the parent of the owner's spans.
            trace: TraceContext::current(),
        })?;
        metrics::counter!(telemetry::FORWARDED_READINGS).increment(readings);
        Ok(pending)
    }

    /// The sensor's last durable seq, read on the owner.
    ///
    /// # Errors
    /// The owner's error, or [`ServiceError::Unavailable`] if it did not answer.
    pub(crate) async fn last_durable_seq(&self, sensor: &SensorId) -> Result<u64, ServiceError> {
        let pending = self.link.start(Request::LastDurableSeq {
            stream: self.stream,
            sensor: sensor.clone(),
        })?;
        durable_seq(pending).await
    }
}

impl Drop for RemoteRoom {
    fn drop(&mut self) {
        let _ = self.link.cast(Request::CloseRoom {
            stream: self.stream,
        });
    }
}

/// The seq a forwarded batch (or a seq query) was answered with.
///
/// # Errors
/// The owner's error ([`ServiceError::Storage`]: nothing acknowledged), or
/// [`ServiceError::Unavailable`] if the owner went down or did not answer in time.
pub(crate) async fn durable_seq(pending: PendingReply) -> Result<u64, ServiceError> {
    match pending.reply().await? {
        Reply::Seq(seq) => Ok(seq),
        other => Err(unexpected(&other)),
    }
}

/// An office of a peer: displays subscribe through this node's relays.
#[derive(Debug, Clone)]
pub(crate) struct RemoteOffice {
    target: RelayTarget,
    relays: Arc<Relays>,
}

impl RemoteOffice {
    /// The office `target` names, its displays relayed through `relays`.
    pub(crate) fn new(target: RelayTarget, relays: Arc<Relays>) -> Self {
        Self { target, relays }
    }

    /// Subscribes a local display (see [`Relays::subscribe`]).
    ///
    /// # Errors
    /// As [`Relays::subscribe`].
    pub(crate) async fn subscribe(
        &self,
        room: Option<RoomId>,
    ) -> Result<(FrameSlotReceiver, RelayLease), ServiceError> {
        self.relays.subscribe(&self.target, room).await
    }

    /// The office's (or a room's) occupancy now, asked of the owner.
    ///
    /// # Errors
    /// The owner's error, or [`ServiceError::Unavailable`] if it did not answer.
    pub(crate) async fn occupancy(
        &self,
        room: Option<RoomId>,
    ) -> Result<DisplayFrame, ServiceError> {
        let request = Request::Occupancy {
            tenant: self.target.tenant.clone(),
            office: self.target.office.clone(),
            room,
        };
        match self.target.link.call(request).await? {
            Reply::Frame(frame) => Ok(frame),
            other => Err(unexpected(&other)),
        }
    }
}
