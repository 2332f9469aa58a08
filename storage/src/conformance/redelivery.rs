//! A batch that lands twice: a write that timed out at its caller but had landed, sent again
//! (by its node, or by the next owner after a takeover), as the cluster simulator's store model
//! assumes.

use std::sync::Arc;

use super::support::{fresh_room, reading, room_write, sensor_id, state, unique};
use crate::{Store, StoreError, TimeRange, WriteBatch, testkit::ReadAll};

/// The same batch written twice under one token, then again under the next owner's token,
/// stores each reading once; the first owner's copy arriving late after that is fenced.
pub async fn batch_landing_twice_stored_once(store: &dyn Store) {
    let room = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let batch = |token: u64| {
        let readings = (1..=3)
            .map(|seq| (sensor.clone(), reading(seq, 1_000 * seq as i64, 1)))
            .collect();
        let mut write = room_write(&room, readings, state(&sensor, 1, 3_000), vec![]);
        write.owner_token = token;
        Arc::new(WriteBatch { rooms: vec![write] })
    };
    let first = store
        .acquire_office(&room.tenant, &room.office)
        .await
        .unwrap();
    store.write_batch(batch(first)).await.unwrap();
    store.write_batch(batch(first)).await.unwrap();
    let next = store
        .acquire_office(&room.tenant, &room.office)
        .await
        .unwrap();
    store.write_batch(batch(next)).await.unwrap();
    let late = store.write_batch(batch(first)).await;
    assert!(
        matches!(late, Err(StoreError::Fenced { .. })),
        "the first owner's late copy: {late:?}"
    );
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let stored = store
        .all_readings(&room.tenant, &room.id, all)
        .await
        .unwrap();
    assert_eq!(
        stored.iter().map(|(_, r)| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "each reading once"
    );
}
