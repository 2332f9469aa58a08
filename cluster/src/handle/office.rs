//! [`OfficeHandle`]: subscribe displays to an office and read its occupancy.

use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{
    DisplaySink, FrameSlotReceiver, OfficeMsg, frame_slot, office_occupancy, subscribe_display,
};
use tally_protocol::{DisplayFrame, RoomId, ServiceError};

/// Where an office's actor lives.
#[derive(Debug, Clone)]
enum OfficeTarget {
    /// On this node.
    Local(ActorRef<OfficeMsg>),
}

/// An active office: displays subscribe here, live reads ask here.
///
/// Cheap to clone. When the office stops (restart, passivation, handoff) its subscriptions end
/// and calls fail with [`ServiceError::Unavailable`]; the caller resolves the office again.
#[derive(Debug, Clone)]
pub struct OfficeHandle {
    target: OfficeTarget,
    timeout: Duration,
}

/// A display's subscription: a snapshot first, then deltas; ends when the office stops.
///
/// At most one frame waits for the display: a display that has not taken its frame when the
/// office publishes again finds one fresh snapshot in its place (conflation), so it never slows
/// the office and reads the present, not a backlog, whenever it reads.
#[derive(Debug)]
pub struct DisplayStream {
    frames: FrameSlotReceiver,
    /// Told when the stream is dropped, so it releases the subscription at once.
    office: OfficeTarget,
}

impl OfficeHandle {
    /// A handle on an office actor of this node.
    pub(crate) fn local(actor: ActorRef<OfficeMsg>, timeout: Duration) -> Self {
        Self {
            target: OfficeTarget::Local(actor),
            timeout,
        }
    }

    /// Subscribes a display to the office (or one of its rooms).
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for a room not in the office; [`ServiceError::Unavailable`]
    /// if the office stopped or did not answer in time.
    pub async fn subscribe(&self, room: Option<RoomId>) -> Result<DisplayStream, ServiceError> {
        let OfficeTarget::Local(actor) = &self.target;
        let (slot, frames) = frame_slot();
        subscribe_display(actor, room, DisplaySink::Local(slot), self.timeout).await?;
        Ok(DisplayStream {
            frames,
            office: self.target.clone(),
        })
    }

    /// The office's (or one room's) occupancy now, as a snapshot frame.
    ///
    /// # Errors
    /// As [`OfficeHandle::subscribe`].
    pub async fn occupancy(&self, room: Option<RoomId>) -> Result<DisplayFrame, ServiceError> {
        let OfficeTarget::Local(actor) = &self.target;
        office_occupancy(actor, room, self.timeout).await
    }
}

impl Drop for DisplayStream {
    fn drop(&mut self) {
        self.frames.close();
        let OfficeTarget::Local(actor) = &self.office;
        let _ = actor.cast(OfficeMsg::DisplayLeft);
    }
}

impl DisplayStream {
    /// The next frame; `None` once the office stopped (subscribe again for a snapshot).
    ///
    /// # Cancel safety
    /// Cancel safe: a frame is either returned or stays pending.
    pub async fn next(&mut self) -> Option<DisplayFrame> {
        self.frames.recv().await
    }
}
