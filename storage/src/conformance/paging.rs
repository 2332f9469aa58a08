//! Paging behaviours: every row exactly once, in order, whatever the page size.

use std::sync::Arc;

use super::support::{fresh_room, reading, rollup, room_write, sensor_id, unique};
use crate::{
    AreaRollupWrite, MAX_PAGE_LIMIT, PageRequest, ReadingCursor, Resolution, RollupArea,
    RollupFrontier, RoomState, Store, TimeRange, WriteBatch,
};

/// Paging through more readings than a page (ties on `ts` across sensors, two batches) returns
/// each exactly once, in `(ts, sensor, seq)` order; the last page says so; ranges still bound.
pub async fn readings_paging(store: &dyn Store) {
    let room = fresh_room(store).await;
    let base = unique("s");
    let sensors = ["a", "b", "c"].map(|s| sensor_id(&format!("{base}-{s}")));
    let mut expected = Vec::new();
    for i in 0..48_u64 {
        let sensor = sensors[(i % 3) as usize].clone();
        expected.push((sensor, reading(i + 1, 1_000 * (i / 3) as i64, 1)));
    }
    expected.sort_by_key(ReadingCursor::of);
    let (first, second) = expected.split_at(20);
    for part in [second, first] {
        let write = room_write(&room, part.to_vec(), RoomState::default(), vec![]);
        store
            .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
            .await
            .unwrap();
    }

    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    for limit in [1, 4, 5, 48, 100] {
        let mut read = Vec::new();
        let mut request = PageRequest::first(limit);
        loop {
            let page = store
                .readings(&room.tenant, &room.id, all, request)
                .await
                .unwrap();
            assert!(page.items.len() <= limit, "limit {limit}");
            read.extend(page.items.iter().cloned());
            match page.next_request(limit) {
                Some(next) => {
                    assert_eq!(page.items.len(), limit, "only a full page has a next");
                    request = next;
                }
                None => break,
            }
        }
        assert_eq!(read, expected, "limit {limit}");
    }

    let range = TimeRange {
        from: 3_000,
        to: 6_000,
    };
    let page = store
        .readings(&room.tenant, &room.id, range, PageRequest::first(4))
        .await
        .unwrap();
    assert_eq!(page.items, expected[9..13].to_vec());
    let rest = store
        .readings(
            &room.tenant,
            &room.id,
            range,
            page.next_request(100).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rest.items, expected[13..18].to_vec());
    assert_eq!(rest.next, None);
    let clamped = store
        .readings(&room.tenant, &room.id, all, PageRequest::first(0))
        .await
        .unwrap();
    assert_eq!(
        clamped.items,
        expected[..1].to_vec(),
        "a limit of 0 reads one"
    );
}

/// Paging through rollups returns each bucket of the resolution exactly once, in order.
pub async fn rollups_paging(store: &dyn Store) {
    let room = fresh_room(store).await;
    let mut rollups: Vec<_> = (-10..20_i64)
        .map(|i| rollup(Resolution::Minute, i * 60_000, i as f64))
        .collect();
    rollups.push(rollup(Resolution::Hour, 0, 9.0));
    let write = room_write(&room, vec![], RoomState::default(), rollups.clone());
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    rollups.pop();

    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let mut read = Vec::new();
    let mut request = Some(PageRequest::first(4));
    let mut pages = 0;
    while let Some(next) = request {
        let page = store
            .rollups(&room.tenant, &room.id, Resolution::Minute, all, next)
            .await
            .unwrap();
        pages += 1;
        request = page.next_request(4);
        read.extend(page.items);
    }
    assert_eq!(read, rollups);
    assert_eq!(pages, 8);
    let tail = store
        .rollups(
            &room.tenant,
            &room.id,
            Resolution::Minute,
            all,
            PageRequest {
                after: Some(18 * 60_000),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(tail.items, rollups[29..].to_vec());
    assert_eq!(tail.next, None);
}

/// Reading rollups over several ranges at once returns, in order, exactly those of the
/// resolution whose start is in one of the ranges (more than a page of them, empty ranges
/// allowed), for a room and for an area.
pub async fn rollups_in_ranges(store: &dyn Store) {
    const MIN: i64 = 60_000;
    let room = fresh_room(store).await;
    let minutes: Vec<_> = (-10..MAX_PAGE_LIMIT as i64 + 30)
        .map(|i| rollup(Resolution::Minute, i * MIN, i as f64))
        .collect();
    let mut rollups = minutes.clone();
    rollups.push(rollup(Resolution::Hour, 0, 9.0));
    let write = room_write(&room, vec![], RoomState::default(), rollups.clone());
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    let range = |from: i64, to: i64| TimeRange {
        from: from * MIN,
        to: to * MIN,
    };
    let ranges = [
        range(-10, -8),
        range(3, 3),
        range(5, 7),
        range(20, MAX_PAGE_LIMIT as i64 + 25),
        range(MAX_PAGE_LIMIT as i64 + 40, MAX_PAGE_LIMIT as i64 + 50),
    ];
    let expected: Vec<_> = (minutes.iter())
        .filter(|r| {
            ranges
                .iter()
                .any(|g| g.from <= r.bucket_start && r.bucket_start < g.to)
        })
        .cloned()
        .collect();
    assert_eq!(expected.len(), 2 + 2 + MAX_PAGE_LIMIT + 5);
    let read = store
        .rollups_in_ranges(&room.tenant, &room.id, Resolution::Minute, &ranges)
        .await
        .unwrap();
    assert_eq!(read, expected);
    let hours = store
        .rollups_in_ranges(&room.tenant, &room.id, Resolution::Hour, &[range(-60, 60)])
        .await
        .unwrap();
    assert_eq!(hours, rollups[rollups.len() - 1..].to_vec());
    let other = fresh_room(store).await;
    let none = store
        .rollups_in_ranges(&other.tenant, &room.id, Resolution::Minute, &ranges)
        .await
        .unwrap();
    assert!(
        none.is_empty(),
        "another tenant reads none of the room's rollups"
    );

    if !store.keeps_area_rollups() {
        return;
    }
    let area = RollupArea::Office(room.office.clone());
    store
        .write_area_rollups(&AreaRollupWrite {
            tenant: room.tenant.clone(),
            area: area.clone(),
            office: room.office.clone(),
            owner_token: 0,
            frontier: RollupFrontier {
                from: -10 * MIN,
                to: (MAX_PAGE_LIMIT as i64 + 30) * MIN,
            },
            rollups: minutes,
        })
        .await
        .unwrap();
    let read = store
        .area_rollups_in_ranges(&room.tenant, &area, Resolution::Minute, &ranges)
        .await
        .unwrap();
    assert_eq!(read, expected);
}
