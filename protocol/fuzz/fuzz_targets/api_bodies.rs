//! The REST API's own JSON bodies (`tally_protocol::api`), decoded as the gateway's `ApiJson`
//! does (serde_json) and checked with the same code the handlers run: token minting and
//! revocation, sensor key rotation, tenant erasure, registry entries (tenants, offices, rooms,
//! sensors), retention, office calendars and the node's log filter (its directive parsed with
//! `tracing-subscriber`'s `EnvFilter`, as the gateway parses it). The first byte picks the body, the rest is its JSON. What a check accepts must
//! keep the rule it states; a calendar that checks round-trips through its serializer.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tally_protocol::TenantId;
use tally_protocol::api::{
    CalendarView, CountMode, ErasureConfirmation, ErasureRequest, LogFilter, MAX_NAME_LEN,
    MAX_OVERLAP, MAX_REQUESTED_BY, NewOffice, NewRoom, NewSensor, NewTenant, NewToken,
    RetentionPolicy, RevokeBefore, RevokeToken, Rotate, valid_token_id,
};

/// A fixed clock, so that a finding replays the same way.
const NOW_MS: u64 = 1_764_000_000_999;

/// The longest token lifetime the node would allow (`auth.token_ttl`'s default).
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// Decodes `body` as `T` like `ApiJson<T>`.
fn decode<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

/// An accepted id serializes and decodes to itself.
fn round_trips<T>(id: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(id).expect("an id serializes");
    let again: T = serde_json::from_str(&json).expect("an id decodes again");
    assert_eq!(&again, id);
}

fn name_fits(name: &str) {
    assert!(name.chars().count() <= MAX_NAME_LEN, "{name:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 13 {
        0 => {
            if let Some(revoke) = decode::<RevokeBefore>(body)
                && let Ok(secs) = revoke.issued_before_secs(NOW_MS)
            {
                assert!(secs <= NOW_MS.div_ceil(1000), "{revoke:?} → {secs}");
                assert_eq!(secs, revoke.before.unwrap_or(NOW_MS).div_ceil(1000));
            }
        }
        1 => {
            if let Some(revoke) = decode::<RevokeToken>(body)
                && revoke.expires_at_secs(NOW_MS / 1000).is_ok()
            {
                assert!(valid_token_id(&revoke.id), "{:?}", revoke.id);
            }
        }
        2 => {
            if let Some(token) = decode::<NewToken>(body) {
                if let Ok(ttl) = token.ttl(MAX_TTL) {
                    assert!(!ttl.is_zero() && ttl <= MAX_TTL, "{ttl:?}");
                }
                let tenant = TenantId::new("acme").expect("a tenant id");
                if let Ok(subject) = token.subject(&tenant) {
                    name_fits(&subject);
                }
            }
        }
        3 => {
            if let Some(rotate) = decode::<Rotate>(body)
                && let Ok(overlap) = rotate.overlap()
            {
                assert!(overlap <= MAX_OVERLAP, "{overlap:?}");
            }
        }
        4 => {
            if let Some(request) = decode::<ErasureRequest>(body)
                && let Ok(requested_by) = request.requested_by()
            {
                let chars = requested_by.chars().count();
                assert!((1..=MAX_REQUESTED_BY).contains(&chars), "{requested_by:?}");
                assert_eq!(requested_by, requested_by.trim());
            }
        }
        5 => {
            let _ = decode::<ErasureConfirmation>(body);
        }
        6 => {
            if let Some(Ok((id, name))) = decode::<NewTenant>(body).map(NewTenant::checked) {
                round_trips(&id);
                name_fits(&name);
            }
        }
        7 => {
            if let Some(Ok((id, name))) = decode::<NewOffice>(body).map(NewOffice::checked) {
                round_trips(&id);
                name_fits(&name);
            }
        }
        8 => {
            if let Some(Ok(id)) = decode::<NewSensor>(body).map(|sensor| sensor.checked()) {
                round_trips(&id);
            }
        }
        9 => {
            if let Some(retention) = decode::<RetentionPolicy>(body)
                && retention.check().is_ok()
            {
                for keep in [
                    retention.readings,
                    retention.minute,
                    retention.fifteen_minutes,
                    retention.hour,
                    retention.day,
                ] {
                    assert!(!keep.is_zero(), "{retention:?}");
                }
            }
        }
        10 => {
            if let Some(view) = decode::<CalendarView>(body)
                && let Ok(calendar) = view.calendar()
            {
                let _ = calendar.weekday_and_minute(NOW_MS as i64);
                let _ = calendar.local_date(NOW_MS as i64);
                let (start, end) = view.working_hours.window().expect("checked hours");
                assert!(start < end && end <= 24 * 60, "{start}..{end}");
                let json = serde_json::to_vec(&view).expect("a calendar serializes");
                let again: CalendarView = serde_json::from_slice(&json).expect("decodes again");
                assert_eq!(again, view);
            }
        }
        11 => {
            if let Some(room) = decode::<NewRoom>(body)
                && let Ok((id, name)) = room.checked_name()
            {
                round_trips(&id);
                name_fits(&name);
                assert_eq!(CountMode::from_name(room.count_mode.name()), Some(room.count_mode));
            }
        }
        _ => {
            if let Some(request) = decode::<LogFilter>(body)
                && !request.filter.trim().is_empty()
                && let Ok(filter) = tracing_subscriber::EnvFilter::builder().parse(&request.filter)
            {
                // What the node answers with: the filter in force, written back.
                let _ = filter.to_string();
            }
        }
    }
});
