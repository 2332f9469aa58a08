//! The REST API's own query strings (`tally_protocol::api`), decoded as the gateway's `Query`
//! extractors do (serde_urlencoded) and checked with the same code the handlers run: an audit
//! log read (`AuditQuery`) and every analytics query (`WindowQuery`, checked against an office
//! calendar in UTC, Europe/Berlin (DST) or Australia/Lord_Howe (half-hour DST)). The first byte
//! picks the query, the calendar and whether the answer lists every bucket; the rest is the
//! query string. What a check accepts must keep the rule it states.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_protocol::analytics::Calendar;
use tally_protocol::api::{
    AuditQuery, MAX_AUDIT_CURSOR, MAX_AUDIT_LIMIT, MAX_BUCKETS, MAX_RANGE_DAYS, WindowQuery,
};

/// Time zones with no, whole-hour and half-hour DST changes.
const ZONES: [&str; 3] = ["UTC", "Europe/Berlin", "Australia/Lord_Howe"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, query)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        if let Ok(audit) = serde_urlencoded::from_bytes::<AuditQuery>(query)
            && let Ok(page) = audit.page()
        {
            assert!(page.from <= page.to, "{page:?}");
            assert!((1..=MAX_AUDIT_LIMIT).contains(&page.limit), "{page:?}");
            if let Some(cursor) = &page.cursor {
                assert!(cursor.len() <= MAX_AUDIT_CURSOR, "{cursor:?}");
            }
        }
        return;
    }
    let Ok(window_query) = serde_urlencoded::from_bytes::<WindowQuery>(query) else {
        return;
    };
    let zone = ZONES[usize::from(selector >> 2) % ZONES.len()];
    let calendar = Calendar::new(zone).expect("a bundled zone");
    let per_bucket = selector & 2 != 0;
    if let Ok((window, buckets)) = window_query.check(&calendar, per_bucket) {
        assert!(window.from < window.to, "{window:?}");
        assert!((0.0..=1.0).contains(&window.target) && (0.0..=1.0).contains(&window.below));
        assert_eq!(buckets.first().map(|b| b.start), Some(window.from));
        assert_eq!(buckets.last().map(|b| b.end), Some(window.to));
        for pair in buckets.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "buckets tile the window");
        }
        // Widened to whole buckets: a day of slack on each side of the longest range.
        assert!(window.to - window.from <= (MAX_RANGE_DAYS + 2) * 86_400_000);
        if per_bucket {
            // The bound counts the widest buckets of the resolution; widening to whole buckets
            // and the cuts of a DST change add a few.
            assert!(buckets.len() <= MAX_BUCKETS + 8, "{} buckets", buckets.len());
        }
    }
});
