//! Area rollups (an office's, and the tenant's over every office): written with their frontier
//! under the owner token of the office that finalises them, read back by area and resolution,
//! apart from every other area and tenant, fenced like batches, swept by retention, erased with
//! the tenant; a backend that keeps none says so and answers with none.

use super::retention::NOW;
use super::support::{fresh_room, rollup, tenant_id, unique};
use crate::{
    AreaRollupWrite, MAX_PAGE_LIMIT, PageRequest, RetentionPolicy, Rollup, RollupArea,
    RollupFrontier, Room, Store, StoreError, TimeRange,
};

/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// A day in ms.
const DAY: i64 = 86_400_000;

/// An office's rollups and frontier round-trip under its owner token, stay the office's, are
/// refused under an older token, and go with the tenant's erasure.
pub async fn office_rollups_round_trip(store: &dyn Store) {
    area_round_trip(store, |room| RollupArea::Office(room.office.clone())).await;
}

/// The tenant area's rollups behave as an office's, under the owner token of the office that
/// finalises them, and stay apart from that office's own rollups.
pub async fn tenant_area_rollups_round_trip(store: &dyn Store) {
    area_round_trip(store, |_| RollupArea::Tenant).await;
}

/// A retention sweep deletes the tenant area's rollups older than the policy of each
/// resolution, as it does a room's.
pub async fn tenant_area_rollups_retention(store: &dyn Store) {
    if !store.keeps_area_rollups() {
        return;
    }
    let room = fresh_room(store).await;
    let area = RollupArea::Tenant;
    let rollups = vec![
        rollup(crate::Resolution::Minute, NOW - 40 * DAY, 1.0),
        rollup(crate::Resolution::Minute, NOW - 10 * DAY, 1.0),
        rollup(crate::Resolution::Hour, NOW - 400 * DAY, 1.0),
        rollup(crate::Resolution::Hour, NOW - 800 * DAY, 1.0),
    ];
    store
        .write_area_rollups(&AreaRollupWrite {
            tenant: room.tenant.clone(),
            area: area.clone(),
            office: room.office.clone(),
            owner_token: 0,
            frontier: RollupFrontier {
                from: NOW - 800 * DAY,
                to: NOW - 9 * DAY,
            },
            rollups,
        })
        .await
        .unwrap();
    let report = store
        .apply_retention(&RetentionPolicy::default(), NOW)
        .await
        .unwrap();
    assert!(report.rollups >= 2, "{report:?}");
    for (resolution, kept) in [
        (crate::Resolution::Minute, [-10]),
        (crate::Resolution::Hour, [-400]),
    ] {
        let days: Vec<i64> = read(store, &room, &area, resolution)
            .await
            .iter()
            .map(|r| (r.bucket_start - NOW) / DAY)
            .collect();
        assert_eq!(days, kept, "{resolution:?}");
    }
    // The frontier is not a rollup: it stays.
    let frontier = store.area_rollup_frontier(&room.tenant, &area).await;
    assert_eq!(frontier.unwrap().map(|f| f.to), Some(NOW - 9 * DAY));
}

/// Every stored rollup of `area` of the room's tenant at `resolution`.
async fn read(
    store: &dyn Store,
    room: &Room,
    area: &RollupArea,
    resolution: crate::Resolution,
) -> Vec<Rollup> {
    store
        .area_rollups(
            &room.tenant,
            area,
            resolution,
            ALL,
            PageRequest::first(MAX_PAGE_LIMIT),
        )
        .await
        .unwrap()
        .items
}

/// The round trip of the area `area_of` a fresh room, finalised under its office's token.
async fn area_round_trip(store: &dyn Store, area_of: fn(&Room) -> RollupArea) {
    use crate::Resolution::{FifteenMinutes, Hour, Minute};
    let room = fresh_room(store).await;
    let (tenant, office, area) = (room.tenant.clone(), room.office.clone(), area_of(&room));
    // The other kind of area of the same room: its office, or its tenant.
    let other = match &area {
        RollupArea::Tenant => RollupArea::Office(office.clone()),
        RollupArea::Office(_) => RollupArea::Tenant,
    };
    let write = |owner_token: u64, to: i64| AreaRollupWrite {
        tenant: tenant.clone(),
        area: area.clone(),
        office: office.clone(),
        owner_token,
        frontier: RollupFrontier { from: 0, to },
        rollups: vec![
            rollup(Minute, 60_000, 0.625),
            rollup(Minute, 0, 0.625),
            rollup(FifteenMinutes, 0, 0.625),
        ],
    };
    let frontier = |area: RollupArea| {
        let tenant = tenant.clone();
        async move { store.area_rollup_frontier(&tenant, &area).await.unwrap() }
    };
    assert_eq!(frontier(area.clone()).await, None);
    if !store.keeps_area_rollups() {
        let result = store.write_area_rollups(&write(0, 120_000)).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        assert!(read(store, &room, &area, Minute).await.is_empty());
        return;
    }

    let token = store.acquire_office(&tenant, &office).await.unwrap();
    store
        .write_area_rollups(&write(token, 120_000))
        .await
        .unwrap();
    assert_eq!(
        frontier(area.clone()).await,
        Some(RollupFrontier {
            from: 0,
            to: 120_000
        })
    );
    let minutes = read(store, &room, &area, Minute).await;
    let starts: Vec<i64> = minutes.iter().map(|r| r.bucket_start).collect();
    assert_eq!(starts, [0, 60_000]);
    assert_eq!(minutes[0], rollup(Minute, 0, 0.625));
    assert_eq!(read(store, &room, &area, FifteenMinutes).await.len(), 1);
    assert!(read(store, &room, &area, Hour).await.is_empty());
    // Not the room's rollups, nor the other area's, nor another tenant's same area.
    let room_rollups = store
        .rollups(
            &tenant,
            &room.id,
            Minute,
            ALL,
            PageRequest::first(MAX_PAGE_LIMIT),
        )
        .await
        .unwrap();
    assert!(room_rollups.items.is_empty());
    assert_eq!(frontier(other.clone()).await, None);
    assert!(read(store, &room, &other, Minute).await.is_empty());
    let stranger = tenant_id(&unique("t"));
    let strangers = store.area_rollup_frontier(&stranger, &area).await.unwrap();
    assert_eq!(strangers, None);

    // A newer owner of the office fences the old token off: nothing of its write lands.
    let newer = store.acquire_office(&tenant, &office).await.unwrap();
    let result = store.write_area_rollups(&write(token, 180_000)).await;
    assert!(
        matches!(result, Err(StoreError::Fenced { current, .. }) if current == newer),
        "{result:?}"
    );
    assert_eq!(frontier(area.clone()).await.map(|f| f.to), Some(120_000));

    // Erasing the tenant erases them.
    store.erase_tenant(&tenant, "conformance", 1).await.unwrap();
    assert_eq!(frontier(area.clone()).await, None);
    assert!(read(store, &room, &area, Minute).await.is_empty());
    let result = store.write_area_rollups(&write(newer, 180_000)).await;
    assert!(matches!(result, Err(StoreError::Erased(_))), "{result:?}");
}
