//! [`OfficeHandle`]: subscribe displays to an office and read its occupancy.

use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{DisplaySink, OfficeMsg, office_occupancy, subscribe_display};
use tally_protocol::{DisplayFrame, RoomId, ServiceError};
use tokio::sync::mpsc;

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
/// The queue behind it is bounded; a display that does not keep up skips deltas and gets a
/// fresh snapshot once it reads again (conflation), so it never slows the office.
#[derive(Debug)]
pub struct DisplayStream {
    frames: mpsc::Receiver<DisplayFrame>,
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

    /// Subscribes a display to the office (or one of its rooms), with a queue of `queue`
    /// frames. Displays of a remote office share one relay per office and room filter: the
    /// owner sends each frame once to this node, which fans it out.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for a room not in the office; [`ServiceError::Unavailable`]
    /// if the office stopped or did not answer in time.
    pub async fn subscribe(
        &self,
        room: Option<RoomId>,
        queue: usize,
    ) -> Result<DisplayStream, ServiceError> {
        match &self.target {
            OfficeTarget::Local(actor) => {
                let (sender, frames) = mpsc::channel(queue.max(1));
                subscribe_display(actor, room, DisplaySink::Local(sender), self.timeout).await?;
                Ok(DisplayStream {
                    frames,
                    release: Release::Office(actor.clone()),
                })
            }
            OfficeTarget::Remote(remote) => {
                let (frames, lease) = remote.subscribe(room, queue).await?;
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
    /// Cancel safe: a frame is either returned or stays queued.
    pub async fn next(&mut self) -> Option<DisplayFrame> {
        self.frames.recv().await
    }
}
