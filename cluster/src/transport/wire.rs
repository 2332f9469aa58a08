//! The inter-node protocol: tally's own messages inside ractor_cluster's serialized calls and
//! casts, each framed with the protocol version.
//!
//! ractor_cluster carries opaque bytes to a node's endpoint actor ([`EndpointMsg`]). Every
//! message and every reply is `[version: u32 big-endian][MessagePack body]`, so a node reads a
//! peer's version before it tries to decode anything else: a peer of another version is refused
//! (its requests are answered by a bare version header, which the peer reads as a refusal)
//! instead of being misread.

use ractor::RpcReplyPort;
use ractor::message::{BoxedDowncastErr, SerializedMessage};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tally_protocol::{
    DisplayFrame, OfficeId, Reading, RoomId, SensorId, ServiceError, TenantId, TimestampMs,
};
use tally_storage::Room;

use crate::TraceContext;

/// The inter-node protocol version this build speaks. Bump it on any change of [`Request`] or
/// [`Reply`]; nodes of different versions refuse each other.
pub const PROTOCOL_VERSION: u32 = 2;

/// What a node's endpoint actor receives: opaque framed bytes, from a peer or from this node.
#[derive(Debug)]
pub(crate) enum EndpointMsg {
    /// A framed [`Envelope`] whose [`Reply`] goes back through `reply`.
    Call {
        /// The framed envelope.
        request: Vec<u8>,
        /// Where the framed reply goes.
        reply: RpcReplyPort<Vec<u8>>,
    },
    /// A framed [`Envelope`] with no reply.
    Cast {
        /// The framed envelope.
        message: Vec<u8>,
    },
}

const CALL: &str = "call";
const CAST: &str = "cast";

// Serializable by hand: the endpoint is the only actor of a node that peers can reach.
impl ractor::Message for EndpointMsg {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        Ok(match self {
            Self::Call { request, reply } => SerializedMessage::Call {
                variant: CALL.into(),
                args: request,
                reply,
                metadata: None,
            },
            Self::Cast { message } => SerializedMessage::Cast {
                variant: CAST.into(),
                args: message,
                metadata: None,
            },
        })
    }

    fn deserialize(message: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        match message {
            SerializedMessage::Call {
                variant,
                args,
                reply,
                ..
            } if variant == CALL => Ok(Self::Call {
                request: args,
                reply,
            }),
            SerializedMessage::Cast { variant, args, .. } if variant == CAST => {
                Ok(Self::Cast { message: args })
            }
            _ => Err(BoxedDowncastErr),
        }
    }
}

/// A request and the node it comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Envelope {
    /// The sending node's id.
    pub(crate) from: String,
    /// What it asks.
    pub(crate) request: Request,
}

/// What one node asks of another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Request {
    /// First call on a new link: the caller's id is in the envelope; answered by
    /// [`Reply::Hello`].
    Hello,
    /// Heartbeat; answered by [`Reply::Pong`].
    Ping,
    /// Resolves (activating if needed) a room of the callee and binds it to the caller's
    /// `stream`, like `Router::room` does locally; answered by [`Reply::Done`].
    OpenRoom {
        /// The caller's id for this room handle.
        stream: u64,
        /// The tenant.
        tenant: TenantId,
        /// The office.
        office: OfficeId,
        /// The room.
        room: RoomId,
    },
    /// A sensor batch for the room bound to `stream`; answered by [`Reply::Seq`] once durable.
    Readings {
        /// The stream opened by [`Request::OpenRoom`].
        stream: u64,
        /// The sensor.
        sensor: SensorId,
        /// Its validated readings.
        items: Vec<Reading>,
        /// When the gateway received them.
        received_at: TimestampMs,
        /// The trace of the forwarding gateway's span, if it is traced: the owner's spans of the
        /// batch join it. Optional and left out when unset, so peers of this protocol version
        /// that predate it still read the message (and ignore it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trace: Option<TraceContext>,
    },
    /// The last durable seq of a sensor of the room bound to `stream`; answered by
    /// [`Reply::Seq`].
    LastDurableSeq {
        /// The stream.
        stream: u64,
        /// The sensor.
        sensor: SensorId,
    },
    /// Cast: the caller dropped its handle on `stream`.
    CloseRoom {
        /// The stream.
        stream: u64,
    },
    /// Resolves (activating if needed) an office of the callee, like `Router::office` does
    /// locally; answered by [`Reply::Done`].
    OpenOffice {
        /// The tenant.
        tenant: TenantId,
        /// The office.
        office: OfficeId,
    },
    /// An office's (or room's) occupancy now; answered by [`Reply::Frame`].
    Occupancy {
        /// The tenant.
        tenant: TenantId,
        /// The office.
        office: OfficeId,
        /// One room only, if set.
        room: Option<RoomId>,
    },
    /// The caller has displays on an office of the callee: relay its frames to the caller as
    /// [`Request::Frame`] casts tagged `relay`; answered by [`Reply::Done`] once subscribed.
    Subscribe {
        /// The caller's id for this relay.
        relay: u64,
        /// The tenant.
        tenant: TenantId,
        /// The office.
        office: OfficeId,
        /// One room only, if set.
        room: Option<RoomId>,
    },
    /// Cast: the caller's last display of `relay` left.
    Unsubscribe {
        /// The relay.
        relay: u64,
    },
    /// Cast from an office's owner: a frame of `relay`.
    Frame {
        /// The relay.
        relay: u64,
        /// The frame.
        frame: DisplayFrame,
    },
    /// Cast from an office's owner: the office stopped; `relay` ends.
    RelayEnded {
        /// The relay.
        relay: u64,
    },
    /// Cast to an office's owner: `room` was added to the registry through the caller; the
    /// owner's office starts it now, if it runs (else it finds it when it starts).
    RoomCreated {
        /// The new room's record.
        room: Room,
    },
}

/// A node's answer to a [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// Answer to [`Request::Hello`]: the callee's id.
    Hello {
        /// The callee's node id.
        node: String,
    },
    /// Answer to [`Request::Ping`].
    Pong,
    /// Done.
    Done,
    /// A sensor's durable seq.
    Seq(u64),
    /// An occupancy snapshot.
    Frame(DisplayFrame),
    /// The request failed on the callee.
    Failed(ServiceError),
}

/// Why framed bytes could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// The peer speaks another protocol version.
    #[error("protocol version {theirs}, this node speaks {ours}")]
    Version {
        /// The peer's version.
        theirs: u32,
        /// Ours.
        ours: u32,
    },
    /// The bytes are not a message of this version.
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// `value` framed with `version`.
pub(crate) fn encode<T: Serialize>(version: u32, value: &T) -> Vec<u8> {
    let mut bytes = version.to_be_bytes().to_vec();
    rmp_serde::encode::write_named(&mut bytes, value).expect("wire types always serialize");
    bytes
}

/// A bare version header: the answer to a message of another version.
pub(crate) fn refusal(version: u32) -> Vec<u8> {
    version.to_be_bytes().to_vec()
}

/// Reads framed bytes of `version`.
///
/// # Errors
/// [`WireError::Version`] for another version, [`WireError::Malformed`] for bytes that do not
/// decode.
pub(crate) fn decode<T: DeserializeOwned>(version: u32, bytes: &[u8]) -> Result<T, WireError> {
    let (header, body) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| WireError::Malformed(format!("{} bytes, no version header", bytes.len())))?;
    let theirs = u32::from_be_bytes(*header);
    if theirs != version {
        return Err(WireError::Version {
            theirs,
            ours: version,
        });
    }
    rmp_serde::from_slice(body).map_err(|err| WireError::Malformed(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips() {
        let frame = DisplayFrame::Delta {
            office: OfficeId::new("hq").unwrap(),
            version: 3,
            total: 4,
            rooms: vec![],
        };
        let envelope = Envelope {
            from: "a".into(),
            request: Request::Frame { relay: 7, frame },
        };
        let bytes = encode(PROTOCOL_VERSION, &envelope);
        let back: Envelope = decode(PROTOCOL_VERSION, &bytes).unwrap();
        assert!(matches!(back.request, Request::Frame { relay: 7, .. }));
    }

    /// `Request::Readings` as peers of protocol version 2 wrote it before it carried a trace.
    #[derive(Debug, Serialize, Deserialize)]
    enum UntracedRequest {
        Readings {
            stream: u64,
            sensor: SensorId,
            items: Vec<Reading>,
            received_at: TimestampMs,
        },
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct UntracedEnvelope {
        from: String,
        request: UntracedRequest,
    }

    fn sample_readings() -> Vec<Reading> {
        vec![Reading {
            seq: 9,
            ts: 1_000,
            count: 3,
        }]
    }

    fn readings(trace: Option<TraceContext>) -> Envelope {
        Envelope {
            from: "a".into(),
            request: Request::Readings {
                stream: 4,
                sensor: SensorId::new("s1").unwrap(),
                items: sample_readings(),
                received_at: 2_000,
                trace,
            },
        }
    }

    fn untraced_readings() -> UntracedEnvelope {
        UntracedEnvelope {
            from: "a".into(),
            request: UntracedRequest::Readings {
                stream: 4,
                sensor: SensorId::new("s1").unwrap(),
                items: sample_readings(),
                received_at: 2_000,
            },
        }
    }

    #[test]
    fn forwarded_readings_with_a_trace_still_decode_on_a_peer_without_the_field() {
        let trace = TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: None,
        };
        let bytes = encode(PROTOCOL_VERSION, &readings(Some(trace.clone())));
        let old: UntracedEnvelope = decode(PROTOCOL_VERSION, &bytes).unwrap();
        let UntracedRequest::Readings {
            stream,
            sensor,
            items,
            received_at,
        } = old.request;
        assert_eq!(old.from, "a");
        assert_eq!(
            (stream, sensor.as_str(), items[0].seq, received_at),
            (4, "s1", 9, 2_000)
        );
        let new: Envelope = decode(PROTOCOL_VERSION, &bytes).unwrap();
        assert!(matches!(new.request, Request::Readings { trace: Some(t), .. } if t == trace));
    }

    #[test]
    fn forwarded_readings_from_a_peer_without_the_field_decode_untraced() {
        let bytes = encode(PROTOCOL_VERSION, &untraced_readings());
        let new: Envelope = decode(PROTOCOL_VERSION, &bytes).unwrap();
        assert!(matches!(
            new.request,
            Request::Readings {
                stream: 4,
                trace: None,
                ..
            }
        ));
        // An untraced batch is written byte for byte as such a peer writes it.
        assert_eq!(encode(PROTOCOL_VERSION, &readings(None)), bytes);
    }

    #[test]
    fn another_version_is_named_not_misread() {
        let bytes = encode(2, &Reply::Pong);
        let err = decode::<Reply>(1, &bytes).unwrap_err();
        assert!(matches!(err, WireError::Version { theirs: 2, ours: 1 }));
        let err = decode::<Reply>(1, &refusal(9)).unwrap_err();
        assert!(matches!(err, WireError::Version { theirs: 9, ours: 1 }));
        assert!(matches!(
            decode::<Reply>(1, &[0, 0]),
            Err(WireError::Malformed(_))
        ));
    }
}
