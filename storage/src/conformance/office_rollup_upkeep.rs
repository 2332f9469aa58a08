//! Office rollups beyond the round trip: paged and bounded reads, buckets replaced and the
//! frontier exactly what was last written, a fenced write that changes nothing, offices of the
//! same id in two tenants kept apart, retention per resolution, erasure's counts, and a local
//! day of every resolution written in the finaliser's steps.

use std::time::Duration;

use super::retention::NOW;
use super::support::{add_office, add_tenant, fresh_room, rollup, unique};
use crate::{
    AreaRollupWrite, MAX_PAGE_LIMIT, PageRequest, Resolution, RetentionPolicy, Rollup, RollupArea,
    RollupFrontier, Store, StoreError, TimeRange,
};
use tally_protocol::analytics::BucketStats;
use tally_protocol::{OfficeId, TenantId};

/// A minute in ms.
const MINUTE: i64 = 60_000;
/// A day in ms.
const DAY: i64 = 86_400_000;
/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};
/// Items per page the reads here ask for: small, so they page.
const PAGE: usize = 4;

/// Every office rollup of `resolution` in `range`, following pages of [`PAGE`].
async fn read_all(
    store: &dyn Store,
    area: (&TenantId, &OfficeId),
    resolution: Resolution,
    range: TimeRange,
) -> Vec<Rollup> {
    read_pages(store, area, resolution, range, PAGE).await
}

/// Every office rollup of `resolution` in `range`, following pages of `limit`.
async fn read_pages(
    store: &dyn Store,
    (tenant, office): (&TenantId, &OfficeId),
    resolution: Resolution,
    range: TimeRange,
    limit: usize,
) -> Vec<Rollup> {
    let mut all = Vec::new();
    let mut request = Some(PageRequest::first(limit));
    while let Some(page_request) = request {
        let page = store
            .area_rollups(
                tenant,
                &RollupArea::Office(office.clone()),
                resolution,
                range,
                page_request,
            )
            .await
            .unwrap();
        assert!(page.items.len() <= limit, "{} items", page.items.len());
        request = page.next_request(limit);
        all.extend(page.items);
    }
    all
}

/// The starts of `rollups`.
fn starts(rollups: &[Rollup]) -> Vec<i64> {
    rollups.iter().map(|r| r.bucket_start).collect()
}

/// A write of `rollups` reaching `to`, under `owner_token`.
fn write(
    (tenant, office): (&TenantId, &OfficeId),
    owner_token: u64,
    to: i64,
    rollups: Vec<Rollup>,
) -> AreaRollupWrite {
    AreaRollupWrite {
        tenant: tenant.clone(),
        area: RollupArea::Office(office.clone()),
        office: office.clone(),
        owner_token,
        frontier: RollupFrontier { from: 0, to },
        rollups,
    }
}

/// Reads page through an office's buckets in order within the range asked; a later write
/// replaces buckets of the same start and the frontier whole (even backwards, and with no
/// bucket); a fenced write leaves buckets and frontier as they were; an office of the same id
/// in another tenant keeps its own.
pub async fn office_rollups_pages_and_replaces(store: &dyn Store) {
    let room = fresh_room(store).await;
    let area = (&room.tenant, &room.office);
    let token = store.acquire_office(area.0, area.1).await.unwrap();
    let minutes: Vec<Rollup> = (0..10)
        .rev()
        .map(|i| rollup(Resolution::Minute, i * MINUTE, 1.0))
        .collect();
    store
        .write_area_rollups(&write(area, token, 10 * MINUTE, minutes))
        .await
        .unwrap();
    let all = read_all(store, area, Resolution::Minute, ALL).await;
    assert_eq!(
        starts(&all),
        (0..10).map(|i| i * MINUTE).collect::<Vec<_>>()
    );
    assert_eq!(all[3], rollup(Resolution::Minute, 3 * MINUTE, 1.0));
    let range = TimeRange {
        from: 2 * MINUTE,
        to: 7 * MINUTE,
    };
    let within = read_all(store, area, Resolution::Minute, range).await;
    assert_eq!(starts(&within), [2, 3, 4, 5, 6].map(|i| i * MINUTE));

    // Same starts replaced, new ones added; the frontier is the last one written.
    let replaced = vec![
        rollup(Resolution::Minute, 3 * MINUTE, 2.5),
        rollup(Resolution::Minute, 10 * MINUTE, 2.5),
    ];
    store
        .write_area_rollups(&write(area, token, 11 * MINUTE, replaced))
        .await
        .unwrap();
    let all = read_all(store, area, Resolution::Minute, ALL).await;
    assert_eq!(all.len(), 11);
    assert_eq!(all[3], rollup(Resolution::Minute, 3 * MINUTE, 2.5));
    assert_eq!(all[2], rollup(Resolution::Minute, 2 * MINUTE, 1.0));
    store
        .write_area_rollups(&write(area, token, 5 * MINUTE, vec![]))
        .await
        .unwrap();
    let frontier = store
        .area_rollup_frontier(area.0, &RollupArea::Office(area.1.clone()))
        .await
        .unwrap();
    assert_eq!(
        frontier,
        Some(RollupFrontier {
            from: 0,
            to: 5 * MINUTE
        })
    );

    // A fenced write: neither its bucket nor its frontier lands.
    let newer = store.acquire_office(area.0, area.1).await.unwrap();
    let stale = write(
        area,
        token,
        20 * MINUTE,
        vec![
            rollup(Resolution::Minute, 3 * MINUTE, 9.0),
            rollup(Resolution::Minute, 15 * MINUTE, 9.0),
        ],
    );
    let result = store.write_area_rollups(&stale).await;
    assert!(
        matches!(result, Err(StoreError::Fenced { token: t, current, .. }) if t == token && current == newer),
        "{result:?}"
    );
    assert_eq!(read_all(store, area, Resolution::Minute, ALL).await, all);
    let frontier = store
        .area_rollup_frontier(area.0, &RollupArea::Office(area.1.clone()))
        .await
        .unwrap();
    assert_eq!(frontier.map(|f| f.to), Some(5 * MINUTE));

    // The same office id in another tenant is another office.
    let other = add_tenant(store, &unique("t")).await;
    let twin = add_office(store, &other, area.1.as_str()).await;
    assert_eq!(
        store
            .area_rollup_frontier(&other, &RollupArea::Office(twin.clone()))
            .await
            .unwrap(),
        None
    );
    assert!(
        read_all(store, (&other, &twin), Resolution::Minute, ALL)
            .await
            .is_empty()
    );
    let twin_token = store.acquire_office(&other, &twin).await.unwrap();
    let own = vec![rollup(Resolution::Hour, 0, 4.0)];
    store
        .write_area_rollups(&write((&other, &twin), twin_token, 3_600_000, own.clone()))
        .await
        .unwrap();
    assert_eq!(
        read_all(store, (&other, &twin), Resolution::Hour, ALL).await,
        own
    );
    assert!(
        read_all(store, (&other, &twin), Resolution::Minute, ALL)
            .await
            .is_empty()
    );
    assert!(
        read_all(store, area, Resolution::Hour, ALL)
            .await
            .is_empty()
    );
    assert_eq!(read_all(store, area, Resolution::Minute, ALL).await, all);
}

/// A sweep deletes an office's buckets older than each resolution's retention (the tenant's
/// own policy), keeps newer ones and the frontier; erasing the tenant then counts the buckets
/// left and the frontier as rollups.
pub async fn office_rollups_retention_and_erasure(store: &dyn Store) {
    let room = fresh_room(store).await;
    let area = (&room.tenant, &room.office);
    let policy = RetentionPolicy {
        minute: Duration::from_secs(30 * 86_400),
        hour: Duration::from_secs(2 * 365 * 86_400),
        ..RetentionPolicy::default()
    };
    store.set_retention(area.0, Some(&policy)).await.unwrap();
    let token = store.acquire_office(area.0, area.1).await.unwrap();
    let rollups = vec![
        rollup(Resolution::Minute, NOW - 40 * DAY, 1.0),
        rollup(Resolution::Minute, NOW - 10 * DAY, 1.0),
        rollup(Resolution::Hour, NOW - 400 * DAY, 1.0),
        rollup(Resolution::Hour, NOW - 800 * DAY, 1.0),
    ];
    store
        .write_area_rollups(&write(area, token, NOW - DAY, rollups))
        .await
        .unwrap();

    let report = store
        .apply_retention(&RetentionPolicy::default(), NOW)
        .await
        .unwrap();
    assert!(report.rollups >= 2, "{report:?}");
    let days = |rollups: Vec<Rollup>| {
        rollups
            .iter()
            .map(|r| (r.bucket_start - NOW) / DAY)
            .collect::<Vec<_>>()
    };
    let minutes = read_all(store, area, Resolution::Minute, ALL).await;
    assert_eq!(days(minutes), [-10]);
    let hours = read_all(store, area, Resolution::Hour, ALL).await;
    assert_eq!(days(hours), [-400]);
    let frontier = store
        .area_rollup_frontier(area.0, &RollupArea::Office(area.1.clone()))
        .await
        .unwrap();
    assert_eq!(frontier.map(|f| f.to), Some(NOW - DAY));

    let erased = store
        .erase_tenant(area.0, "conformance", NOW)
        .await
        .unwrap();
    // The two buckets left and the frontier.
    assert_eq!(erased.deleted.rollups, 3, "{erased:?}");
    assert_eq!(
        store
            .area_rollup_frontier(area.0, &RollupArea::Office(area.1.clone()))
            .await
            .unwrap(),
        None
    );
    assert!(
        read_all(store, area, Resolution::Minute, ALL)
            .await
            .is_empty()
    );
    assert!(
        read_all(store, area, Resolution::Hour, ALL)
            .await
            .is_empty()
    );
}

/// A bucket of `resolution` over `[start, end)` whose count (`start` in minutes, mod 7) held
/// for the whole bucket, with its summary columns derived as the finaliser derives them.
fn bucket(resolution: Resolution, start: i64, end: i64) -> Rollup {
    let mut stats = BucketStats::empty(start, end);
    let count = u32::try_from(start.div_euclid(MINUTE).rem_euclid(7)).unwrap_or(0);
    stats.hold(count, u64::try_from(end - start).unwrap_or(0));
    stats.samples = 1;
    Rollup::of(resolution, stats)
}

/// The buckets of `resolution` (every `width` ms) from `from` to `to`.
fn buckets(resolution: Resolution, width: i64, from: i64, to: i64) -> Vec<Rollup> {
    (from..to)
        .step_by(usize::try_from(width).unwrap_or(usize::MAX))
        .map(|start| bucket(resolution, start, (start + width).min(to)))
        .collect()
}

/// An office finalised as its owner does, a step at a time, over a 25-hour local day (the end
/// of summer time in Berlin, 2026-10-25, 22:00Z to 23:00Z the next day): the first step writes
/// the night's minutes, quarter hours and hours with the frontier at 06:00 local, the second the
/// rest of the day with the day's bucket. Every bucket of every resolution reads back exactly
/// (its statistics too), across the UTC days the local day spans.
pub async fn office_rollups_day_steps(store: &dyn Store) {
    let room = fresh_room(store).await;
    let area = (&room.tenant, &room.office);
    let token = store.acquire_office(area.0, area.1).await.unwrap();
    let (day_start, day_end) = (1_792_879_200_000, 1_792_969_200_000);
    assert_eq!(day_end - day_start, 25 * 3_600_000);
    let six = day_start + 7 * 3_600_000; // 06:00 local after the clocks went back.
    let widths = [
        (Resolution::Minute, MINUTE),
        (Resolution::FifteenMinutes, 15 * MINUTE),
        (Resolution::Hour, 60 * MINUTE),
    ];
    let step = |from: i64, to: i64| -> Vec<Rollup> {
        widths
            .iter()
            .flat_map(|&(resolution, width)| buckets(resolution, width, from, to))
            .collect()
    };
    // A step: its buckets and the frontier from the day's start to `to`.
    let finalise = |to: i64, rollups: Vec<Rollup>| {
        let step = AreaRollupWrite {
            frontier: RollupFrontier {
                from: day_start,
                to,
            },
            ..write(area, token, to, rollups)
        };
        async move { store.write_area_rollups(&step).await.unwrap() }
    };
    finalise(six, step(day_start, six)).await;
    let mut second = step(six, day_end);
    second.push(bucket(Resolution::Day, day_start, day_end));
    finalise(day_end, second).await;

    let frontier = store
        .area_rollup_frontier(area.0, &RollupArea::Office(area.1.clone()))
        .await
        .unwrap();
    assert_eq!(
        frontier,
        Some(RollupFrontier {
            from: day_start,
            to: day_end
        })
    );
    for (resolution, width) in widths {
        let stored = read_pages(store, area, resolution, ALL, MAX_PAGE_LIMIT).await;
        assert_eq!(stored, buckets(resolution, width, day_start, day_end));
    }
    let days = read_pages(store, area, Resolution::Day, ALL, MAX_PAGE_LIMIT).await;
    assert_eq!(days, [bucket(Resolution::Day, day_start, day_end)]);
    assert_eq!(days[0].stats.as_ref().map(|s| s.end), Some(day_end));
}
