//! Batch behaviours: round trips, replacement, ranges (including negative time), atomic width.

use std::sync::Arc;

use super::support::{add_room, fresh_room, reading, rollup, room_write, sensor_id, state, unique};
use crate::{
    Resolution, RollupFrontier, RoomState, Store, StoredReading, TimeRange, WriteBatch,
    testkit::ReadAll,
};
use tally_protocol::{SensorId, TimestampMs};

/// The whole time axis usable by a half-open range.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// The timestamps of readings, in returned order.
fn timestamps(readings: &[(SensorId, StoredReading)]) -> Vec<TimestampMs> {
    readings.iter().map(|(_, r)| r.ts).collect()
}

/// A written batch reads back: state, readings (ordered) and rollups.
pub async fn batch_round_trip(store: &dyn Store) {
    let room = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let readings = vec![
        (sensor.clone(), reading(2, 2_000, 1)),
        (sensor.clone(), reading(1, 1_000, 3)),
    ];
    let mut room_state = state(&sensor, 1, 2_000);
    room_state.rollups = Some(RollupFrontier {
        from: 0,
        to: 60_000,
    });
    let rollups = vec![
        rollup(Resolution::Minute, 60_000, 2.5),
        rollup(Resolution::Hour, 0, 1.5),
    ];
    let write = room_write(&room, readings.clone(), room_state.clone(), rollups.clone());
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();

    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        Some(room_state)
    );
    let read = store
        .all_readings(&room.tenant, &room.id, ALL)
        .await
        .unwrap();
    assert_eq!(read, vec![readings[1].clone(), readings[0].clone()]);
    let minute = store
        .all_rollups(&room.tenant, &room.id, Resolution::Minute, ALL)
        .await
        .unwrap();
    assert_eq!(minute, vec![rollups[0].clone()]);
    assert_eq!(
        store
            .all_rollups(&room.tenant, &room.id, Resolution::Hour, ALL)
            .await
            .unwrap(),
        vec![rollups[1].clone()]
    );
    assert_eq!(
        store
            .all_rollups(&room.tenant, &room.id, Resolution::Day, ALL)
            .await
            .unwrap(),
        vec![]
    );
}

/// A later batch replaces the room state and a rollup of the same resolution and start.
pub async fn later_batch_replaces(store: &dyn Store) {
    let room = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let first = room_write(
        &room,
        vec![(sensor.clone(), reading(1, 10_000, 1))],
        state(&sensor, 1, 10_000),
        vec![
            rollup(Resolution::Minute, 0, 1.0),
            rollup(Resolution::Hour, 0, 1.0),
        ],
    );
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![first] }))
        .await
        .unwrap();
    let second = room_write(
        &room,
        vec![(sensor.clone(), reading(2, 70_000, 4))],
        state(&sensor, 4, 70_000),
        vec![
            rollup(Resolution::Minute, 0, 2.0),
            rollup(Resolution::Minute, 60_000, 4.0),
        ],
    );
    store
        .write_batch(Arc::new(WriteBatch {
            rooms: vec![second],
        }))
        .await
        .unwrap();

    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        Some(state(&sensor, 4, 70_000))
    );
    let minute = store
        .all_rollups(&room.tenant, &room.id, Resolution::Minute, ALL)
        .await
        .unwrap();
    assert_eq!(
        minute,
        vec![
            rollup(Resolution::Minute, 0, 2.0),
            rollup(Resolution::Minute, 60_000, 4.0)
        ]
    );
    let hour = store
        .all_rollups(&room.tenant, &room.id, Resolution::Hour, ALL)
        .await
        .unwrap();
    assert_eq!(hour, vec![rollup(Resolution::Hour, 0, 1.0)]);
    assert_eq!(
        timestamps(
            &store
                .all_readings(&room.tenant, &room.id, ALL)
                .await
                .unwrap()
        ),
        vec![10_000, 70_000]
    );
}

/// Readings come back ordered by `(ts, sensor, seq)` within the half-open `[from, to)`.
pub async fn readings_range(store: &dyn Store) {
    let room = fresh_room(store).await;
    let base = unique("s");
    let (a, a1, b) = (
        sensor_id(&format!("{base}-a")),
        sensor_id(&format!("{base}-a-1")),
        sensor_id(&format!("{base}-b")),
    );
    let expected = vec![
        (a.clone(), reading(2, 1_000, 1)),
        (a.clone(), reading(10, 1_000, 1)),
        (a.clone(), reading(256, 1_000, 1)),
        (a1.clone(), reading(1, 1_000, 1)),
        (b.clone(), reading(1, 1_000, 1)),
        (b.clone(), reading(3, 1_999, 1)),
        (a.clone(), reading(300, 2_000, 1)),
        (a.clone(), reading(301, 3_000, 1)),
    ];
    let mut shuffled = expected.clone();
    shuffled.reverse();
    shuffled.swap(0, 4);
    let write = room_write(&room, shuffled, RoomState::default(), vec![]);
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();

    let read = |from, to| store.all_readings(&room.tenant, &room.id, TimeRange { from, to });
    assert_eq!(read(i64::MIN, i64::MAX).await.unwrap(), expected);
    assert_eq!(
        read(1_000, 3_000).await.unwrap(),
        expected[..7].to_vec(),
        "to is exclusive"
    );
    assert_eq!(
        timestamps(&read(1_001, 2_001).await.unwrap()),
        vec![1_999, 2_000]
    );
    assert_eq!(
        timestamps(&read(2_000, 2_001).await.unwrap()),
        vec![2_000],
        "from is inclusive"
    );
    assert_eq!(read(1_001, 1_999).await.unwrap(), vec![]);
    assert_eq!(read(2_000, 2_000).await.unwrap(), vec![], "empty range");
    assert_eq!(read(3_000, 1_000).await.unwrap(), vec![], "inverted range");
    assert_eq!(read(3_001, i64::MAX).await.unwrap(), vec![]);
}

/// Negative timestamps sort before positive ones, for readings and rollups alike.
pub async fn negative_timestamps(store: &dyn Store) {
    let room = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let times = [i64::MIN, -86_400_000, -256, -1, 0, 1, 256, i64::MAX - 1];
    let readings = times
        .iter()
        .rev()
        .zip(1..)
        .map(|(&ts, seq)| (sensor.clone(), reading(seq, ts, 1)))
        .collect();
    let starts = [-120_000, -60_000, 0, 60_000];
    let rollups = starts
        .iter()
        .rev()
        .map(|&start| rollup(Resolution::Minute, start, 1.0))
        .collect();
    let write = room_write(&room, readings, RoomState::default(), rollups);
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();

    let read = |from, to| store.all_readings(&room.tenant, &room.id, TimeRange { from, to });
    assert_eq!(
        timestamps(&read(i64::MIN, i64::MAX).await.unwrap()),
        times.to_vec()
    );
    assert_eq!(timestamps(&read(-1, 1).await.unwrap()), vec![-1, 0]);
    assert_eq!(
        timestamps(&read(i64::MIN, 0).await.unwrap()),
        vec![i64::MIN, -86_400_000, -256, -1]
    );
    assert_eq!(
        timestamps(&read(i64::MIN, i64::MIN + 1).await.unwrap()),
        vec![i64::MIN]
    );
    assert_eq!(
        timestamps(&read(-86_400_000, -1).await.unwrap()),
        vec![-86_400_000, -256]
    );
    assert_eq!(timestamps(&read(-255, 256).await.unwrap()), vec![-1, 0, 1]);
    assert_eq!(
        timestamps(&read(0, i64::MAX).await.unwrap()),
        vec![0, 1, 256, i64::MAX - 1]
    );

    let room = &room;
    let buckets = |from, to| async move {
        let rollups = store
            .all_rollups(
                &room.tenant,
                &room.id,
                Resolution::Minute,
                TimeRange { from, to },
            )
            .await
            .unwrap();
        rollups.iter().map(|r| r.bucket_start).collect::<Vec<_>>()
    };
    assert_eq!(buckets(i64::MIN, i64::MAX).await, starts.to_vec());
    assert_eq!(buckets(-60_000, 60_000).await, vec![-60_000, 0]);
    assert_eq!(buckets(-119_999, 0).await, vec![-60_000]);
}

/// Rooms whose ids share a prefix (`r`, `r-1`, `rb`) keep their rows apart.
pub async fn room_isolation(store: &dyn Store) {
    let r = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let mut rooms = vec![r.clone()];
    for suffix in ["-1", "b"] {
        rooms.push(add_room(store, &r.tenant, &r.office, &format!("{}{suffix}", r.id)).await);
    }
    let row = |n: u32| {
        let reading = (
            sensor.clone(),
            reading(u64::from(n), 1_000 * i64::from(n), n),
        );
        (
            vec![reading],
            state(&sensor, n, 0),
            vec![rollup(Resolution::Minute, 0, f64::from(n))],
        )
    };
    let writes = rooms
        .iter()
        .zip(1..)
        .map(|(room, n)| {
            let (readings, state, rollups) = row(n);
            room_write(room, readings, state, rollups)
        })
        .collect();
    store
        .write_batch(Arc::new(WriteBatch { rooms: writes }))
        .await
        .unwrap();

    for (room, n) in rooms.iter().zip(1..) {
        let (readings, state, rollups) = row(n);
        assert_eq!(
            store
                .all_readings(&room.tenant, &room.id, ALL)
                .await
                .unwrap(),
            readings,
            "room {}",
            room.id
        );
        assert_eq!(
            store.room_state(&room.tenant, &room.id).await.unwrap(),
            Some(state),
            "room {}",
            room.id
        );
        let read = store
            .all_rollups(&room.tenant, &room.id, Resolution::Minute, ALL)
            .await
            .unwrap();
        assert_eq!(read, rollups, "room {}", room.id);
    }
}

/// Newer than anything the retention cases' store-wide sweeps delete (their fixed "now"): where
/// every case shares one store (one Cassandra keyspace), rows of 1970 would be swept from under
/// a case that runs at the same time.
pub(super) const AFTER_SWEEPS: TimestampMs = super::retention::NOW;

/// A batch over many rooms is visible as a whole once it returns.
pub async fn many_rooms_batch(store: &dyn Store) {
    let first = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let mut rooms = vec![first.clone()];
    for _ in 1..64 {
        rooms.push(add_room(store, &first.tenant, &first.office, &unique("r")).await);
    }
    let writes = rooms
        .iter()
        .zip(1_u32..)
        .map(|(room, n)| {
            let readings = (1_u32..=4)
                .map(|seq| {
                    (
                        sensor.clone(),
                        reading(
                            u64::from(seq),
                            AFTER_SWEEPS + i64::from(n) * 100 + i64::from(seq),
                            n,
                        ),
                    )
                })
                .collect();
            room_write(
                room,
                readings,
                state(&sensor, n, 0),
                vec![rollup(Resolution::Minute, AFTER_SWEEPS, f64::from(n))],
            )
        })
        .collect();
    store
        .write_batch(Arc::new(WriteBatch { rooms: writes }))
        .await
        .unwrap();

    for (room, n) in rooms.iter().zip(1_u32..) {
        assert_eq!(
            store.room_state(&room.tenant, &room.id).await.unwrap(),
            Some(state(&sensor, n, 0))
        );
        assert_eq!(
            store
                .all_readings(&room.tenant, &room.id, ALL)
                .await
                .unwrap()
                .len(),
            4,
            "room {}",
            room.id
        );
        let rollups = store
            .all_rollups(&room.tenant, &room.id, Resolution::Minute, ALL)
            .await
            .unwrap();
        assert_eq!(
            rollups,
            vec![rollup(Resolution::Minute, AFTER_SWEEPS, f64::from(n))]
        );
    }
}

/// An empty batch succeeds and writes nothing; a room without readings still gets its state.
pub async fn empty_batch(store: &dyn Store) {
    store
        .write_batch(Arc::new(WriteBatch::default()))
        .await
        .unwrap();
    let room = fresh_room(store).await;
    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        None
    );

    let sensor = sensor_id(&unique("s"));
    let write = room_write(&room, vec![], state(&sensor, 0, 5), vec![]);
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        Some(state(&sensor, 0, 5))
    );
    assert_eq!(
        store
            .all_readings(&room.tenant, &room.id, ALL)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .all_rollups(&room.tenant, &room.id, Resolution::Minute, ALL)
            .await
            .unwrap(),
        vec![]
    );
}
