//! Office rollups: written with their frontier under the office's owner token, read back by
//! office and resolution, fenced like batches, erased with the tenant; a backend that keeps
//! none says so and answers with none.

use super::support::{fresh_room, rollup, tenant_id};
use crate::{
    MAX_PAGE_LIMIT, OfficeRollupWrite, PageRequest, Resolution, RollupFrontier, Store, StoreError,
    TimeRange,
};

/// An office's rollups and frontier round-trip under its owner token, stay the office's, are
/// refused under an older token, and go with the tenant's erasure.
pub async fn office_rollups_round_trip(store: &dyn Store) {
    let room = fresh_room(store).await;
    let (tenant, office) = (room.tenant.clone(), room.office.clone());
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let read = |resolution: Resolution| {
        let (tenant, office) = (tenant.clone(), office.clone());
        async move {
            store
                .office_rollups(
                    &tenant,
                    &office,
                    resolution,
                    all,
                    PageRequest::first(MAX_PAGE_LIMIT),
                )
                .await
                .unwrap()
                .items
        }
    };
    let write = |owner_token: u64, to: i64| OfficeRollupWrite {
        tenant: tenant.clone(),
        office: office.clone(),
        owner_token,
        frontier: RollupFrontier { from: 0, to },
        rollups: vec![
            rollup(Resolution::Minute, 60_000, 0.625),
            rollup(Resolution::Minute, 0, 0.625),
            rollup(Resolution::FifteenMinutes, 0, 0.625),
        ],
    };
    let frontier = store
        .office_rollup_frontier(&tenant, &office)
        .await
        .unwrap();
    assert_eq!(frontier, None);
    if !store.keeps_office_rollups() {
        let result = store.write_office_rollups(&write(0, 120_000)).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        assert!(read(Resolution::Minute).await.is_empty());
        return;
    }

    let token = store.acquire_office(&tenant, &office).await.unwrap();
    store
        .write_office_rollups(&write(token, 120_000))
        .await
        .unwrap();
    let frontier = store
        .office_rollup_frontier(&tenant, &office)
        .await
        .unwrap();
    assert_eq!(
        frontier,
        Some(RollupFrontier {
            from: 0,
            to: 120_000
        })
    );
    let minutes = read(Resolution::Minute).await;
    let starts: Vec<i64> = minutes.iter().map(|r| r.bucket_start).collect();
    assert_eq!(starts, [0, 60_000]);
    assert_eq!(minutes[0], rollup(Resolution::Minute, 0, 0.625));
    assert_eq!(read(Resolution::FifteenMinutes).await.len(), 1);
    assert!(read(Resolution::Hour).await.is_empty());
    // Not the room's rollups, nor another tenant's office of the same id.
    let room_rollups = store
        .rollups(
            &tenant,
            &room.id,
            Resolution::Minute,
            all,
            PageRequest::first(MAX_PAGE_LIMIT),
        )
        .await
        .unwrap();
    assert!(room_rollups.items.is_empty());
    let stranger = tenant_id(&super::support::unique("t"));
    assert_eq!(
        store
            .office_rollup_frontier(&stranger, &office)
            .await
            .unwrap(),
        None
    );

    // A newer owner fences the old token off: nothing of its write lands.
    let newer = store.acquire_office(&tenant, &office).await.unwrap();
    let result = store.write_office_rollups(&write(token, 180_000)).await;
    assert!(
        matches!(result, Err(StoreError::Fenced { current, .. }) if current == newer),
        "{result:?}"
    );
    let frontier = store
        .office_rollup_frontier(&tenant, &office)
        .await
        .unwrap();
    assert_eq!(frontier.map(|f| f.to), Some(120_000));

    // Erasing the tenant erases them.
    store.erase_tenant(&tenant, "conformance", 1).await.unwrap();
    assert_eq!(
        store
            .office_rollup_frontier(&tenant, &office)
            .await
            .unwrap(),
        None
    );
    assert!(read(Resolution::Minute).await.is_empty());
    let result = store.write_office_rollups(&write(newer, 180_000)).await;
    assert!(matches!(result, Err(StoreError::Erased(_))), "{result:?}");
}
