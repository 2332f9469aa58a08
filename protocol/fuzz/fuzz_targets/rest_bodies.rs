//! The parts of REST bodies that tally-protocol decodes and checks: `POST /v1/readings` (JSON or
//! MessagePack `ReadingBatch`, validated like a sensor's batch), an office calendar (`PUT
//! .../calendar`: `CalendarView`, an IANA zone and working hours, checked as the gateway does), and
//! the ids every registry body and path carries. The first byte picks the body, the rest is its
//! bytes. The API's other bodies are in `api_bodies`, its query strings in `api_queries`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_protocol::api::CalendarView;
use tally_protocol::{
    Codec, Limits, OfficeId, ReadingBatch, RoomId, SensorId, TenantId, validate_batch,
};

/// A fixed clock, so that a finding replays the same way.
const NOW_MS: i64 = 1_764_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    match selector % 5 {
        0 | 1 => {
            let codec = if selector % 5 == 0 {
                Codec::Json
            } else {
                Codec::MsgPack
            };
            if let Ok(batch) = codec.decode::<ReadingBatch>(body, &limits) {
                let _ = validate_batch(&batch.items, &limits, NOW_MS);
            }
        }
        2 => {
            if let Ok(view) = serde_json::from_slice::<CalendarView>(body)
                && let Ok(calendar) = view.calendar()
            {
                let _ = calendar.weekday_and_minute(NOW_MS);
                let _ = calendar.local_date(NOW_MS);
                let (start, end) = view.working_hours.window().expect("checked hours");
                assert!(start < end && end <= 24 * 60, "{start}..{end}");
            }
        }
        3 => {
            let _ = serde_json::from_slice::<(TenantId, OfficeId, RoomId, SensorId)>(body);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(body) {
                if let Ok(id) = TenantId::new(text) {
                    let json = serde_json::to_string(&id).expect("an id serializes");
                    let again: TenantId = serde_json::from_str(&json).expect("an id round-trips");
                    assert_eq!(again, id);
                }
            }
        }
    }
});
