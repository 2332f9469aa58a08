//! A batch write interrupted part-way (the node died while it was in flight), then resent.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use super::support::{fresh_room, reading, room_write, sensor_id, unique};
use crate::{RoomState, SensorState, Store, StoreError, TimeRange, WriteBatch, testkit::ReadAll};
use tally_protocol::{SensorId, TimestampMs};

/// A day in ms: the interrupted batch spans two UTC days (two partitions where a backend
/// partitions by day).
const DAY: TimestampMs = 86_400_000;

/// A room state whose only sensor's dedup mark is `last_seq`.
fn marked(sensor: &SensorId, last_seq: u64, ts: TimestampMs) -> RoomState {
    RoomState {
        count: 1,
        ts,
        sensors: [(
            sensor.clone(),
            SensorState {
                last_seq,
                count: 1,
                ts,
                received_at: ts,
            },
        )]
        .into(),
        rollups: None,
    }
}

/// Polls `write` until it finishes (`true`) or until it has waited `waits` times, then drops it
/// (`false`): the node died with the write in flight. The first wait is always let through: a
/// store that hands its write to another thread (the embedded store's blocking pool) finishes
/// it there whatever becomes of the future, so dropping it then would not stop anything.
async fn interrupted(write: impl Future<Output = Result<(), StoreError>>, waits: usize) -> bool {
    let mut write = pin!(write);
    let mut waited = 0;
    poll_fn(|cx| match write.as_mut().poll(cx) {
        Poll::Ready(result) => {
            result.unwrap();
            Poll::Ready(true)
        }
        Poll::Pending if waited > 0 && waited >= waits => Poll::Ready(false),
        Poll::Pending => {
            waited += 1;
            Poll::Pending
        }
    })
    .await
}

/// A batch interrupted after each of its waits in turn, then the office taken over as a node
/// that reactivates it does (a new owner token first, so that whatever the dead owner still had
/// in flight is settled or fenced), the room restored from `room_state` and the sensor's readings
/// after the restored dedup mark resent with new timestamps (a sensor re-stamps what was not
/// acknowledged): every `(sensor, seq)` is stored exactly once, whatever part of the interrupted
/// batch had landed.
pub async fn interrupted_batch_restamped_resend(store: &dyn Store) {
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    for waits in 1.. {
        let room = fresh_room(store).await;
        let sensor = sensor_id(&unique("s"));
        let first_owner = store
            .acquire_office(&room.tenant, &room.office)
            .await
            .unwrap();
        let mut acknowledged = room_write(
            &room,
            vec![(sensor.clone(), reading(1, 1_000, 1))],
            marked(&sensor, 1, 1_000),
            vec![],
        );
        acknowledged.owner_token = first_owner;
        store
            .write_batch(Arc::new(WriteBatch {
                rooms: vec![acknowledged],
            }))
            .await
            .unwrap();
        let first_stamps = [2_000, 3_000, DAY + 4_000, DAY + 5_000];
        let mut unacknowledged = room_write(
            &room,
            (2..=5)
                .zip(first_stamps)
                .map(|(seq, ts)| (sensor.clone(), reading(seq, ts, 1)))
                .collect(),
            marked(&sensor, 5, DAY + 5_000),
            vec![],
        );
        unacknowledged.owner_token = first_owner;
        let batch = Arc::new(WriteBatch {
            rooms: vec![unacknowledged],
        });
        let finished = interrupted(store.write_batch(batch), waits).await;
        let next_owner = store
            .acquire_office(&room.tenant, &room.office)
            .await
            .unwrap();

        let restored = store.room_state(&room.tenant, &room.id).await.unwrap();
        let mark = restored
            .and_then(|state| state.sensors.get(&sensor).map(|s| s.last_seq))
            .unwrap_or(0);
        let resent: Vec<_> = (mark + 1..=5)
            .map(|seq| {
                let ts = 3 * DAY + i64::try_from(seq).unwrap() * 1_000;
                (sensor.clone(), reading(seq, ts, 1))
            })
            .collect();
        if !resent.is_empty() {
            let mut resend = room_write(&room, resent, marked(&sensor, 5, 3 * DAY + 5_000), vec![]);
            resend.owner_token = next_owner;
            store
                .write_batch(Arc::new(WriteBatch {
                    rooms: vec![resend],
                }))
                .await
                .unwrap();
        }

        let stored = store.all_readings(&room.tenant, &room.id, all).await;
        let mut seqs: Vec<u64> = stored.unwrap().iter().map(|(_, r)| r.seq).collect();
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            vec![1, 2, 3, 4, 5],
            "batch interrupted after {waits} waits, restored dedup mark {mark}"
        );
        if finished {
            break;
        }
    }
}
