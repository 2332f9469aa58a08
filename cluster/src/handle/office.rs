//! [`OfficeHandle`]: subscribe displays to an office and read its occupancy.

use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{DisplaySink, OfficeMsg, office_occupancy, subscribe_display};
use tally_protocol::{DisplayFrame, RoomId, ServiceError};
use tokio::sync::mpsc;

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
/// The queue behind it is bounded; a display that does not keep up skips deltas and gets a
/// fresh snapshot once it reads again (conflation), so it never slows the office.
#[derive(Debug)]
pub struct DisplayStream {
    frames: mpsc::Receiver<DisplayFrame>,
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

    /// Subscribes a display to the office (or one of its rooms), with a queue of `queue`
    /// frames.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for a room not in the office; [`ServiceError::Unavailable`]
    /// if the office stopped or did not answer in time.
    pub async fn subscribe(
        &self,
        room: Option<RoomId>,
        queue: usize,
    ) -> Result<DisplayStream, ServiceError> {
        let OfficeTarget::Local(actor) = &self.target;
        let (sender, frames) = mpsc::channel(queue.max(1));
        subscribe_display(actor, room, DisplaySink::Local(sender), self.timeout).await?;
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
    /// Cancel safe: a frame is either returned or stays queued.
    pub async fn next(&mut self) -> Option<DisplayFrame> {
        self.frames.recv().await
    }
}
