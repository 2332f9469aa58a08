//! A tenant's stored rollups, finalised by the activation of its anchor office
//! (`OfficeRollups::tenant_step`): every room of every office summed at the same instants in
//! UTC, equal at every resolution to the buckets computed from the raw readings, the same after
//! a restart halfway, written by the anchor office only and only under its current owner token;
//! and, on a real node, advancing while only another office of the tenant is active (it asks
//! for the anchor, which the tenant supervisor activates).

mod support;

use std::time::Duration;

use support::rollups::{MIN, RollupStore, area_rollups, busy_readings, ms};
use support::{TestNode, TestOffice};
use tally_actors::{ActorSettings, FinaliseStep, MAX_TENANT_STEP, OfficeRollups, anchor_office};
use tally_protocol::analytics::{BucketStats, Calendar};
use tally_protocol::{OfficeId, Reading, RoomId, TenantId, TimestampMs, now_ms};
use tally_storage::testkit::await_area_frontier_past;
use tally_storage::{Resolution, RollupArea, RollupFrontier, Store, StoreError};

/// Offices (id, time zone, rooms): `aaa` has no room (so it is not the anchor), `berlin` and
/// `nyc` lie in different time zones.
const OFFICES: [(&str, &str, &[&str]); 3] = [
    ("aaa", "UTC", &[]),
    ("berlin", "Europe/Berlin", &["a", "b"]),
    ("nyc", "America/New_York", &["c"]),
];

/// Room `a` holds 3 people 09:00–10:00 UTC on 10 June, `b` 2 people 10:00–11:00 and `c` (in
/// New York) 4 people 09:30–10:30, each reporting 0 every 7 minutes from 22:00 the evening
/// before to 01:00 after the day: the tenant's peak is 7 (the sum at the same instants), not 9
/// (the sum of the rooms' peaks).
fn readings(room: &str) -> Vec<(TimestampMs, u32)> {
    let busy = match room {
        "a" => ("09:00", "10:00", 3),
        "b" => ("10:00", "11:00", 2),
        _ => ("09:30", "10:30", 4),
    };
    let span = (ms("2026-06-09T22:00:00Z"), ms("2026-06-11T01:00:00Z"));
    busy_readings(("2026-06-10", "Z"), busy, span)
}

/// Where every room's rollups start (its frontier's `from`), and so the tenant's.
fn first_rollup() -> TimestampMs {
    ms("2026-06-09T22:00:00Z")
}

/// A store with the tenant's offices, rooms, readings, and room rollup frontiers reaching
/// 03:30 UTC after the day.
async fn fixture() -> RollupStore {
    let f = RollupStore::new().await;
    let frontier = RollupFrontier {
        from: first_rollup(),
        to: ms("2026-06-11T03:30:00Z"),
    };
    for (office, zone, rooms) in OFFICES {
        let rooms: Vec<_> = rooms.iter().map(|room| (*room, readings(room))).collect();
        f.add_office(office, zone, &rooms, frontier).await;
    }
    f
}

impl RollupStore {
    /// Steps the tenant area until caught up at node time `now`; every step but the last
    /// finalises at most [`MAX_TENANT_STEP`].
    async fn finalise(&self, finaliser: &OfficeRollups, now: TimestampMs) -> RollupFrontier {
        let bound = i64::try_from(MAX_TENANT_STEP.as_millis()).unwrap();
        let mut before = self.frontier().await.map_or(first_rollup(), |f| f.to);
        loop {
            let step = finaliser.tenant_step(&self.store, now).await.unwrap();
            match step.expect("the anchor office finalises the tenant") {
                FinaliseStep::Behind(frontier) => {
                    assert!(frontier.to - before <= bound, "{frontier:?} after {before}");
                    before = frontier.to;
                }
                FinaliseStep::CaughtUp(frontier) => return frontier,
                FinaliseStep::Idle => panic!("nothing to finalise"),
            }
        }
    }

    /// The tenant area's stored frontier.
    async fn frontier(&self) -> Option<RollupFrontier> {
        self.area_frontier(&RollupArea::Tenant).await
    }

    /// Every stored rollup of the tenant area at `resolution`.
    async fn stored(&self, resolution: Resolution) -> Vec<BucketStats> {
        self.area_stats(&RollupArea::Tenant, resolution).await
    }
}

/// The tenant's UTC buckets of `resolution` inside `[from, to)` computed straight from the raw
/// readings (every room's series summed), those with something observed.
fn from_raw(resolution: Resolution, from: TimestampMs, to: TimestampMs) -> Vec<BucketStats> {
    let rooms = [readings("a"), readings("b"), readings("c")];
    support::rollups::from_raw(&rooms, &Calendar::utc(), resolution, (from, to))
}

#[tokio::test]
async fn tenant_rollups_equal_the_raw_sums_in_utc() {
    let f = fixture().await;
    let anchor = anchor_office(&f.store, &f.tenant).await.unwrap();
    assert_eq!(anchor.as_ref().map(OfficeId::as_str), Some("berlin"));
    let frontier = f
        .finalise(&f.finaliser("berlin", 0), ms("2026-06-11T03:00:00Z"))
        .await;
    assert_eq!(
        frontier,
        RollupFrontier {
            from: first_rollup(),
            to: ms("2026-06-11T02:30:00Z"),
        }
    );
    for resolution in Resolution::ALL {
        let stored = f.stored(resolution).await;
        assert!(!stored.is_empty(), "{resolution:?}");
        let raw = from_raw(resolution, frontier.from, frontier.to);
        assert_eq!(stored, raw, "{resolution:?}");
    }
    // One whole UTC day: peak 7 (the sum at the same instants, not 3 + 2 + 4), someone in
    // from 09:00 to 11:00.
    let days = f.stored(Resolution::Day).await;
    let [day] = days.as_slice() else {
        panic!("one whole day inside the frontier: {days:?}")
    };
    let utc_day = (ms("2026-06-10T00:00:00Z"), ms("2026-06-11T00:00:00Z"));
    assert_eq!((day.start, day.end), utc_day);
    assert_eq!(day.peak(), Some(7));
    assert_eq!(day.occupied_ms(), 2 * 3_600_000);
    // The office's own rollups are not the tenant's.
    let berlin = RollupArea::Office(OfficeId::new("berlin").unwrap());
    assert_eq!(f.area_frontier(&berlin).await, None);
}

#[tokio::test]
async fn a_non_anchor_office_writes_nothing_for_the_tenant() {
    let f = fixture().await;
    let now = ms("2026-06-11T03:00:00Z");
    for office in ["nyc", "aaa"] {
        let finaliser = f.finaliser(office, 0);
        assert_eq!(finaliser.tenant_step(&f.store, now).await.unwrap(), None);
    }
    // New York still finalises its own rollups.
    let nyc = f.finaliser("nyc", 0).step(&f.store, now).await.unwrap();
    assert!(matches!(nyc, FinaliseStep::Behind(_)), "{nyc:?}");
    assert_eq!(f.frontier().await, None);
    assert!(f.stored(Resolution::Minute).await.is_empty());
}

#[tokio::test]
async fn a_fenced_anchor_writes_nothing_for_the_tenant() {
    let f = fixture().await;
    let berlin = OfficeId::new("berlin").unwrap();
    let old = f.store.acquire_office(&f.tenant, &berlin).await.unwrap();
    let new = f.store.acquire_office(&f.tenant, &berlin).await.unwrap();
    let now = ms("2026-06-11T03:00:00Z");
    let err = f
        .finaliser("berlin", old)
        .tenant_step(&f.store, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert_eq!(f.frontier().await, None);
    assert!(f.stored(Resolution::Minute).await.is_empty());
    // The new owner finalises.
    f.finalise(&f.finaliser("berlin", new), now).await;
    assert_eq!(f.stored(Resolution::Day).await.len(), 1);
}

#[tokio::test]
async fn tenant_rollups_are_the_same_after_a_restart_halfway() {
    let end = ms("2026-06-11T03:00:00Z");
    let once = fixture().await;
    once.finalise(&once.finaliser("berlin", 0), end).await;

    let twice = fixture().await;
    // First activation: up to the middle of the busy hours (mid quarter hour, mid hour).
    let first = twice
        .finalise(&twice.finaliser("berlin", 0), ms("2026-06-10T10:37:00Z"))
        .await;
    assert_eq!(first.to, ms("2026-06-10T10:07:00Z"));
    // A restart under a newer token resumes from the stored frontier; asking again when
    // caught up changes nothing.
    let berlin = OfficeId::new("berlin").unwrap();
    let token = twice.store.acquire_office(&twice.tenant, &berlin).await;
    let restarted = twice.finaliser("berlin", token.unwrap());
    let last = twice.finalise(&restarted, end).await;
    let again = restarted.tenant_step(&twice.store, end).await.unwrap();
    assert_eq!(again, Some(FinaliseStep::CaughtUp(last)));
    for resolution in Resolution::ALL {
        assert_eq!(
            twice.stored(resolution).await,
            once.stored(resolution).await,
            "{resolution:?}"
        );
    }
}

/// On a real node, the tenant's rollups advance while only an office that is not its anchor is
/// active: anchor `a` has a room no sensor ever reports to, and only office `b`'s room gets a
/// reading. `b`'s activation asks its tenant for the anchor, the tenant supervisor activates it,
/// and the anchor's finaliser moves the tenant's stored frontier past `b`'s reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_rollups_advance_while_only_a_non_anchor_office_is_active() {
    let tenant = TenantId::new("t").unwrap();
    let (a, b) = (OfficeId::new("a").unwrap(), OfficeId::new("b").unwrap());
    let offices = [
        (a.clone(), vec![RoomId::new("ra").unwrap()]),
        (b.clone(), vec![RoomId::new("rb").unwrap()]),
    ];
    // A short lateness, so that `rb`, quiet after its reading, seals its frontier past it
    // within seconds; finalisers step every 100 ms once caught up.
    let settings = ActorSettings {
        rollup_lateness: Duration::from_secs(2),
        finalise_every: Duration::from_millis(100),
        ..ActorSettings::default()
    };
    let test = TestNode::start_with(settings, &tenant, &offices).await;
    let anchor = anchor_office(test.disk.as_ref(), &tenant).await.unwrap();
    assert_eq!(anchor, Some(a));
    let f = TestOffice {
        test,
        tenant,
        office: b,
    };
    // `rb` hears 2 people three minutes ago, 30 s into a minute; nothing ever asks for `a`.
    let minute = (now_ms() - 3 * MIN) / MIN * MIN;
    let at = minute + 30_000;
    let reading = Reading {
        seq: 1,
        ts: at,
        count: 2,
    };
    f.send("rb", "s", reading).await;

    // The anchor's finaliser passes the reading, however long it takes (without the anchor
    // active it never does, and the run's own bound fails the test).
    let disk = f.test.disk.as_ref();
    let frontier = await_area_frontier_past(disk, &f.tenant, &RollupArea::Tenant, at).await;
    assert!(
        frontier.from <= minute,
        "{frontier:?} starts after {minute}"
    );
    // The tenant's minute of the reading holds `rb`'s 2 people (`ra` never counted anyone).
    let minutes = area_rollups(disk, &f.tenant, &RollupArea::Tenant, Resolution::Minute).await;
    let of_reading = (minutes.iter())
        .filter_map(|rollup| rollup.stats.as_ref())
        .find(|stats| stats.start == minute);
    assert_eq!(of_reading.and_then(|s| s.peak()), Some(2), "{minutes:?}");
    f.test.stop_checked().await;
}
