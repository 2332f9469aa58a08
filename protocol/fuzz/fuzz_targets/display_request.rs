//! Display requests as `GET /v1/live` decodes them: the first byte picks the codec, the rest is
//! the request; an accepted request round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_protocol::{Codec, DisplayRequest, Limits};

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
    if let Ok(decoded) = codec.decode::<DisplayRequest>(frame, &limits) {
        let again: DisplayRequest = codec
            .decode(&codec.encode(&decoded), &limits)
            .expect("an accepted request decodes again once encoded");
        assert_eq!(again, decoded);
    }
});
