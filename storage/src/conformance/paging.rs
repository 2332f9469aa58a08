//! Paging behaviours: every row exactly once, in order, whatever the page size.

use std::sync::Arc;

use super::support::{fresh_room, reading, rollup, room_write, sensor_id, unique};
use crate::{PageRequest, ReadingCursor, Resolution, RoomState, Store, TimeRange, WriteBatch};

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
