//! MessagePack and JSON codecs with a frame size limit.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Limits, ProtocolError, SensorFrame, TimestampMs, reading::validate_batch};

/// WebSocket subprotocol for MessagePack frames (binary messages).
pub const SUBPROTOCOL_MSGPACK: &str = "tally.v1.msgpack";
/// WebSocket subprotocol for JSON frames (text messages), for debugging and browsers.
pub const SUBPROTOCOL_JSON: &str = "tally.v1.json";

/// A wire encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// MessagePack with named fields (rmp-serde), self-describing like JSON.
    MsgPack,
    /// JSON.
    Json,
}

impl Codec {
    /// The codec of a WebSocket subprotocol name.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name {
            SUBPROTOCOL_MSGPACK => Some(Self::MsgPack),
            SUBPROTOCOL_JSON => Some(Self::Json),
            _ => None,
        }
    }

    /// The codec's WebSocket subprotocol name.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::MsgPack => SUBPROTOCOL_MSGPACK,
            Self::Json => SUBPROTOCOL_JSON,
        }
    }

    /// Encodes a value. Serializing tally's own frame types cannot fail.
    ///
    /// # Panics
    /// If `value`'s `Serialize` implementation fails, which tally's frame types never do.
    pub fn encode<T: Serialize>(self, value: &T) -> Vec<u8> {
        match self {
            Self::MsgPack => rmp_serde::to_vec_named(value).expect("frame types always serialize"),
            Self::Json => serde_json::to_vec(value).expect("frame types always serialize"),
        }
    }

    /// Decodes a value, rejecting frames over `limits.max_frame_bytes` before parsing.
    ///
    /// # Errors
    /// [`ProtocolError::FrameTooLarge`] or [`ProtocolError::Malformed`].
    pub fn decode<T: DeserializeOwned>(
        self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<T, ProtocolError> {
        if bytes.len() > limits.max_frame_bytes {
            return Err(ProtocolError::FrameTooLarge {
                size: bytes.len(),
                max: limits.max_frame_bytes,
            });
        }
        match self {
            Self::MsgPack => {
                rmp_serde::from_slice(bytes).map_err(|e| ProtocolError::Malformed(e.to_string()))
            }
            Self::Json => {
                serde_json::from_slice(bytes).map_err(|e| ProtocolError::Malformed(e.to_string()))
            }
        }
    }

    /// Decodes a sensor frame and validates its readings against `limits` and the clock `now_ms`.
    ///
    /// # Errors
    /// Any [`ProtocolError`].
    pub fn decode_sensor_frame(
        self,
        bytes: &[u8],
        limits: &Limits,
        now_ms: TimestampMs,
    ) -> Result<SensorFrame, ProtocolError> {
        let frame: SensorFrame = self.decode(bytes, limits)?;
        if let SensorFrame::Readings { items } = &frame {
            validate_batch(items, limits, now_ms)?;
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{ErrorCode, Reading, ServerFrame};

    const NOW: TimestampMs = 1_764_000_000_000;

    #[test]
    fn json_and_msgpack_agree() {
        let frame = SensorFrame::Readings {
            items: vec![Reading {
                seq: 1,
                ts: NOW,
                count: 3,
            }],
        };
        for codec in [Codec::Json, Codec::MsgPack] {
            let bytes = codec.encode(&frame);
            assert_eq!(
                codec
                    .decode_sensor_frame(&bytes, &Limits::default(), NOW)
                    .unwrap(),
                frame
            );
        }
        let json = String::from_utf8(Codec::Json.encode(&frame)).unwrap();
        assert_eq!(
            json,
            r#"{"type":"readings","items":[{"seq":1,"ts":1764000000000,"count":3}]}"#
        );
    }

    #[test]
    fn rejects_oversized_frame_before_parsing() {
        let limits = Limits {
            max_frame_bytes: 16,
            ..Limits::default()
        };
        let err = Codec::MsgPack
            .decode::<SensorFrame>(&[0u8; 17], &limits)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::FrameTooLarge);
    }

    #[test]
    fn rejects_malformed_and_unknown_frames() {
        let limits = Limits::default();
        let garbage = Codec::MsgPack
            .decode::<SensorFrame>(&[0xc1, 0xff, 0x00], &limits)
            .unwrap_err();
        assert_eq!(garbage.code(), ErrorCode::MalformedFrame);
        for json in [
            r#"{"type":"nope"}"#,
            r#"{"type":"hello"}"#,
            r#"{"type":"hello","key":"k","x":1}"#,
        ] {
            let err = Codec::Json
                .decode::<SensorFrame>(json.as_bytes(), &limits)
                .unwrap_err();
            assert_eq!(err.code(), ErrorCode::MalformedFrame, "{json}");
        }
    }

    #[test]
    fn validates_readings_on_decode() {
        let frame = br#"{"type":"readings","items":[{"seq":1,"ts":1764000000000,"count":-4}]}"#;
        let err = Codec::Json
            .decode_sensor_frame(frame, &Limits::default(), NOW)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::CountOutOfRange);
    }

    #[test]
    fn server_frame_error_omits_missing_seq() {
        let frame = ServerFrame::Error {
            code: ErrorCode::NotFound,
            message: "x".into(),
            seq: None,
        };
        assert_eq!(
            String::from_utf8(Codec::Json.encode(&frame)).unwrap(),
            r#"{"type":"error","code":"not_found","message":"x"}"#
        );
    }

    proptest! {
        #[test]
        fn readings_round_trip(items in proptest::collection::vec((1u64..=crate::MAX_SEQ, 946_684_800_000i64..NOW, 0i64..=100_000), 1..50)) {
            let items: Vec<Reading> = items.into_iter().map(|(seq, ts, count)| Reading { seq, ts, count }).collect();
            let frame = SensorFrame::Readings { items };
            for codec in [Codec::Json, Codec::MsgPack] {
                let bytes = codec.encode(&frame);
                prop_assert_eq!(codec.decode_sensor_frame(&bytes, &Limits::default(), NOW).unwrap(), frame.clone());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Codec::MsgPack.decode_sensor_frame(&bytes, &Limits::default(), NOW);
            let _ = Codec::Json.decode_sensor_frame(&bytes, &Limits::default(), NOW);
        }
    }
}
