//! [`OfficeHandle`]: subscribe displays to an office and read its occupancy.

use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{
    DisplaySink, FrameSlotReceiver, OfficeMsg, frame_slot, office_occupancy, subscribe_display,
};
use tally_protocol::{DisplayFrame, RoomId, ServiceError};

use crate::transport::{RelayLease, RemoteOffice};

/// Where an office's actor lives.
#[derive(Debug, Clone)]
enum OfficeTarget {
    /// On this node.
    Local(ActorRef<OfficeMsg>),
    /// On its owner node, reached through its endpoint; displays through this node's relay.
    Remote(RemoteOffice),
}

/// An active office: displays subscribe here, live reads ask here.
///
/// Cheap to clone. When the office stops (restart, passivation, handoff) its subscriptions end
/// and calls fail with [`ServiceError::Unavailable`]; the caller resolves the office again. So do
/// those of a remote office when the link to its owner goes down.
#[derive(Debug, Clone)]
pub struct OfficeHandle {
    target: OfficeTarget,
    timeout: Duration,
}

/// A display's subscription: a snapshot first, then deltas; ends when the office stops.
///
/// At most one frame waits for the display: a display that has not taken its frame when the
/// office publishes again finds one fresh snapshot in its place (conflation), so it never slows
/// the office and reads the present, not a backlog, whenever it reads. A display of a remote
/// office gets the same from this node's relay.
#[derive(Debug)]
pub struct DisplayStream {
    frames: FrameSlotReceiver,
    /// Told when the stream is dropped, so it releases the subscription at once.
    release: Release,
}

/// Who releases a display's subscription when its stream is dropped.
#[derive(Debug)]
enum Release {
    /// The local office.
    Office(ActorRef<OfficeMsg>),
    /// This node's relay of a remote office (the last display to leave ends the relay).
    Relay(#[allow(dead_code, reason = "held for its Drop")] RelayLease),
}

impl OfficeHandle {
    /// A handle on an office actor of this node.
    pub(crate) fn local(actor: ActorRef<OfficeMsg>, timeout: Duration) -> Self {
        Self {
            target: OfficeTarget::Local(actor),
            timeout,
        }
    }

    /// A handle on an office of another node (the remote side has its own call timeout).
    pub(crate) fn remote(office: RemoteOffice) -> Self {
        Self {
            target: OfficeTarget::Remote(office),
            timeout: Duration::ZERO,
        }
    }

    /// Subscribes a display to the office (or one of its rooms). Displays of a remote office share one relay per office and room filter: the
    /// owner sends each frame once to this node, which fans it out.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for a room not in the office; [`ServiceError::Unavailable`]
    /// if the office stopped or did not answer in time.
    pub async fn subscribe(&self, room: Option<RoomId>) -> Result<DisplayStream, ServiceError> {
        match &self.target {
            OfficeTarget::Local(actor) => {
                let (slot, frames) = frame_slot();
                subscribe_display(actor, room, DisplaySink::Local(slot), self.timeout).await?;
                Ok(DisplayStream {
                    frames,
                    release: Release::Office(actor.clone()),
                })
            }
            OfficeTarget::Remote(remote) => {
                let (frames, lease) = remote.subscribe(room).await?;
                Ok(DisplayStream {
                    frames,
                    release: Release::Relay(lease),
                })
            }
        }
    }

    /// The office's (or one room's) occupancy now, as a snapshot frame.
    ///
    /// # Errors
    /// As [`OfficeHandle::subscribe`].
    pub async fn occupancy(&self, room: Option<RoomId>) -> Result<DisplayFrame, ServiceError> {
        match &self.target {
            OfficeTarget::Local(actor) => office_occupancy(actor, room, self.timeout).await,
            OfficeTarget::Remote(remote) => remote.occupancy(room).await,
        }
    }
}

impl Drop for DisplayStream {
    fn drop(&mut self) {
        self.frames.close();
        if let Release::Office(actor) = &self.release {
            let _ = actor.cast(OfficeMsg::DisplayLeft);
        }
    }
}

impl DisplayStream {
    /// The next frame; `None` once the office stopped (subscribe again for a snapshot).
    ///
    /// # Cancel safety
    /// Cancel safe: a frame is taken only when it is returned.
    pub async fn next(&mut self) -> Option<DisplayFrame> {
        self.frames.recv().await
    }
}
