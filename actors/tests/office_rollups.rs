//! An office's stored rollups, finalised by `OfficeRollups`: equal at every resolution to the
//! buckets computed from its rooms' raw readings summed at the same instants (a DST day in the
//! office's time zone included), the same after a restart halfway, and written only under the
//! office's current owner token.

use std::sync::Arc;

mod support;

use support::rollups::{RollupStore, busy_readings, ms};
use tally_actors::{FinaliseStep, OfficeRollups};
use tally_protocol::analytics::{BucketStats, Calendar};
use tally_protocol::{OfficeId, RoomId, TimestampMs};
use tally_storage::{
    Resolution, RollupArea, RollupFrontier, RoomState, RoomWrite, Store, StoreError, WriteBatch,
};

const ZONE: &str = "Europe/Berlin";

/// Local midnight of 2026-03-29 (the 23-hour day: clocks go from 02:00 to 03:00).
fn dst_day() -> (TimestampMs, TimestampMs) {
    (
        ms("2026-03-29T00:00:00+01:00"),
        ms("2026-03-30T00:00:00+02:00"),
    )
}

/// Room `a` holds 3 people 09:00–10:00, room `b` 2 people 10:00–11:00 (local, 29 March), both
/// reporting 0 every 7 minutes from 22:00 the evening before to 01:00 after the day, and a
/// few readings off the minute edges: the office's peak is 3 (the sum at the same instants),
/// not 5 (the sum of the rooms' peaks).
fn readings(room: &str) -> Vec<(TimestampMs, u32)> {
    let busy = match room {
        "a" => ("09:00", "10:00", 3),
        _ => ("10:00", "11:00", 2),
    };
    let span = (
        ms("2026-03-28T22:00:00+01:00"),
        ms("2026-03-30T01:00:00+02:00"),
    );
    busy_readings(("2026-03-29", "+02:00"), busy, span)
}

/// Office `hq` of tenant `t`.
struct Fixture {
    rollups: RollupStore,
    office: OfficeId,
}

impl std::ops::Deref for Fixture {
    type Target = RollupStore;
    fn deref(&self) -> &RollupStore {
        &self.rollups
    }
}

/// A store with office `hq` in Berlin, rooms `a` and `b` with their readings and a rollup
/// frontier from the evening before the DST day.
async fn fixture() -> Fixture {
    let rollups = RollupStore::new().await;
    let frontier = RollupFrontier {
        from: ms("2026-03-28T22:00:00+01:00"),
        to: ms("2026-03-30T03:30:00+02:00"),
    };
    let rooms = [("a", readings("a")), ("b", readings("b"))];
    rollups.add_office("hq", ZONE, &rooms, frontier).await;
    Fixture {
        rollups,
        office: OfficeId::new("hq").unwrap(),
    }
}

impl Fixture {
    fn area(&self) -> RollupArea {
        RollupArea::Office(self.office.clone())
    }

    fn finaliser(&self, owner_token: u64) -> OfficeRollups {
        self.rollups.finaliser(self.office.as_str(), owner_token)
    }

    /// Steps until caught up at node time `now`.
    async fn finalise(&self, finaliser: &OfficeRollups, now: TimestampMs) -> RollupFrontier {
        loop {
            match finaliser.step(&self.store, now).await.unwrap() {
                FinaliseStep::Behind(_) => {}
                FinaliseStep::CaughtUp(frontier) => return frontier,
                FinaliseStep::Idle => panic!("nothing to finalise"),
            }
        }
    }

    /// Every stored office rollup of `resolution`.
    async fn stored(&self, resolution: Resolution) -> Vec<BucketStats> {
        self.area_stats(&self.area(), resolution).await
    }
}

/// The office's buckets of `resolution` inside `[from, to)` computed straight from the raw
/// readings (the rooms' series summed), those with something observed.
fn from_raw(resolution: Resolution, from: TimestampMs, to: TimestampMs) -> Vec<BucketStats> {
    let rooms = [readings("a"), readings("b")];
    let calendar = Calendar::new(ZONE).unwrap();
    support::rollups::from_raw(&rooms, &calendar, resolution, (from, to))
}

#[tokio::test]
async fn office_rollups_equal_the_raw_sums_on_a_dst_day() {
    let f = fixture().await;
    let now = ms("2026-03-30T03:00:00+02:00");
    let frontier = f.finalise(&f.finaliser(0), now).await;
    // Finalised up to the minute `lateness` (30 min) before now, from the rooms' first rollup.
    assert_eq!(
        frontier,
        RollupFrontier {
            from: ms("2026-03-28T22:00:00+01:00"),
            to: ms("2026-03-30T02:30:00+02:00"),
        }
    );
    for resolution in Resolution::ALL {
        let stored = f.stored(resolution).await;
        assert_eq!(
            stored,
            from_raw(resolution, frontier.from, frontier.to),
            "{resolution:?}"
        );
    }
    // The DST day: one 23-hour bucket, peak 3 (the sum at the same instants, not 3 + 2),
    // 2 h with someone in.
    let (start, end) = dst_day();
    let days = f.stored(Resolution::Day).await;
    let [day] = days.as_slice() else {
        panic!("one whole day inside the frontier: {days:?}")
    };
    assert_eq!((day.start, day.end), (start, end));
    assert_eq!(end - start, 23 * 3_600_000);
    assert_eq!(day.peak(), Some(3));
    assert_eq!(day.occupied_ms(), 2 * 3_600_000);
    assert_eq!(day.covered_ms(), 23 * 3_600_000);
    // 23 local hours of the day are stored, none for the skipped 02:00.
    let hours = f.stored(Resolution::Hour).await;
    let in_day = hours.iter().filter(|h| start <= h.start && h.end <= end);
    assert_eq!(in_day.count(), 23);
}

#[tokio::test]
async fn office_rollups_are_the_same_after_a_restart_halfway() {
    let once = fixture().await;
    let end = ms("2026-03-30T03:00:00+02:00");
    once.finalise(&once.finaliser(0), end).await;

    let twice = fixture().await;
    // First activation: up to the middle of the DST day (mid quarter hour, mid hour).
    let first = twice
        .finalise(&twice.finaliser(0), ms("2026-03-29T10:37:00+02:00"))
        .await;
    assert_eq!(first.to, ms("2026-03-29T10:07:00+02:00"));
    // A restart: a new finaliser resumes from the stored frontier; asking again when caught up
    // changes nothing.
    let restarted = twice.finaliser(0);
    twice.finalise(&restarted, end).await;
    assert_eq!(
        restarted.step(&twice.store, end).await.unwrap(),
        FinaliseStep::CaughtUp(RollupFrontier {
            from: ms("2026-03-28T22:00:00+01:00"),
            to: ms("2026-03-30T02:30:00+02:00"),
        })
    );
    for resolution in Resolution::ALL {
        assert_eq!(
            twice.stored(resolution).await,
            once.stored(resolution).await,
            "{resolution:?}"
        );
    }
}

#[tokio::test]
async fn a_fenced_finaliser_writes_nothing() {
    let f = fixture().await;
    let old = f.store.acquire_office(&f.tenant, &f.office).await.unwrap();
    let new = f.store.acquire_office(&f.tenant, &f.office).await.unwrap();
    assert!(old < new);
    let err = f
        .finaliser(old)
        .step(&f.store, ms("2026-03-30T03:00:00+02:00"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert_eq!(f.area_frontier(&f.area()).await, None);
    assert!(f.stored(Resolution::Minute).await.is_empty());
    // The new owner finalises.
    f.finalise(&f.finaliser(new), ms("2026-03-30T03:00:00+02:00"))
        .await;
    assert!(!f.stored(Resolution::Day).await.is_empty());
}

#[tokio::test]
async fn a_room_behind_holds_the_office_back() {
    let f = fixture().await;
    // Room `b` rolled up only to noon (its sensor went quiet): it may still correct the
    // buckets within the lateness before that, so the office stops there.
    let write = RoomWrite {
        tenant: f.tenant.clone(),
        office: f.office.clone(),
        room: RoomId::new("b").unwrap(),
        owner_token: 0,
        readings: Vec::new(),
        state: RoomState {
            rollups: Some(RollupFrontier {
                from: ms("2026-03-28T22:00:00+01:00"),
                to: ms("2026-03-29T12:00:00+02:00"),
            }),
            ..RoomState::default()
        },
        rollups: Vec::new(),
    };
    f.store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    let frontier = f
        .finalise(&f.finaliser(0), ms("2026-03-30T03:00:00+02:00"))
        .await;
    assert_eq!(frontier.to, ms("2026-03-29T11:30:00+02:00"));
    assert!(f.stored(Resolution::Day).await.is_empty());
    assert_eq!(
        f.stored(Resolution::Hour).await,
        from_raw(Resolution::Hour, frontier.from, frontier.to)
    );
}
