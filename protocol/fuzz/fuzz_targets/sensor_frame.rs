//! Sensor frames as `GET /v1/sensors/connect` decodes them: the first byte picks the codec
//! (MessagePack or JSON), the rest is the frame. A frame that decodes must encode back to the same
//! frame: the node acknowledges what it understood, nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_protocol::{Codec, Limits, SensorFrame};

/// A fixed clock, so that a finding replays the same way.
const NOW_MS: i64 = 1_764_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let codec = if selector & 1 == 0 {
        Codec::MsgPack
    } else {
        Codec::Json
    };
    let limits = Limits::default();
    if let Ok(decoded) = codec.decode_sensor_frame(frame, &limits, NOW_MS) {
        let again: SensorFrame = codec
            .decode_sensor_frame(&codec.encode(&decoded), &limits, NOW_MS)
            .expect("an accepted frame decodes again once encoded");
        assert_eq!(again, decoded);
    }
});
