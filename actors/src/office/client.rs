//! Calls into an office actor, with a timeout, for the gateway and the router.

use std::time::Duration;

use ractor::ActorRef;
use tally_protocol::{DisplayFrame, RoomId};

use super::OfficeMsg;
use crate::display_fanout::DisplaySink;
use crate::error::flatten_call;
use crate::{RoomMsg, ServiceError};

/// Subscribes a display sink to an office (or one of its rooms).
///
/// # Errors
/// [`ServiceError::NotFound`] for a room not in the office; [`ServiceError::Unavailable`] if the
/// office stopped or did not answer within `timeout`.
pub async fn subscribe_display(
    office: &ActorRef<OfficeMsg>,
    room: Option<RoomId>,
    sender: DisplaySink,
    timeout: Duration,
) -> Result<(), ServiceError> {
    flatten_call(
        "office",
        office
            .call(
                |reply| OfficeMsg::Subscribe {
                    room,
                    sender,
                    reply,
                },
                Some(timeout),
            )
            .await,
    )
}

/// The occupancy of an office (or one of its rooms) now, as a snapshot frame.
///
/// # Errors
/// As [`subscribe_display`].
pub async fn office_occupancy(
    office: &ActorRef<OfficeMsg>,
    room: Option<RoomId>,
    timeout: Duration,
) -> Result<DisplayFrame, ServiceError> {
    flatten_call(
        "office",
        office
            .call(|reply| OfficeMsg::Occupancy { room, reply }, Some(timeout))
            .await,
    )
}

/// The actor of a room of an office.
///
/// # Errors
/// As [`subscribe_display`].
pub(crate) async fn room_actor(
    office: &ActorRef<OfficeMsg>,
    room: RoomId,
    timeout: Duration,
) -> Result<ActorRef<RoomMsg>, ServiceError> {
    flatten_call(
        "office",
        office
            .call(|reply| OfficeMsg::GetRoom { room, reply }, Some(timeout))
            .await,
    )
}
