//! The persister acknowledges only durable writes; a failed write answers an error and the room
//! restarts from storage, so nothing unacknowledged is ever reported as applied.

use tally_actors::{ActorSettings, ServiceError, ingest_readings};
use tally_storage::{Resolution, Store, StoreError, TimeRange, testkit::ReadAll};

mod support;

use support::{OneRoom, T0, reading};

/// Settings under which a transiently failing write is not retried.
fn no_retry() -> ActorSettings {
    let mut settings = ActorSettings::default();
    settings.write_retry.retry_for = std::time::Duration::ZERO;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_write_is_not_acknowledged_and_the_room_restarts_from_storage() {
    let f = OneRoom::start(no_retry()).await;
    assert_eq!(f.ingest(vec![reading(1, 3)]).await, Ok(1));

    f.test.disk.fail_next_writes(
        1,
        StoreError::Unavailable("injected: connection reset".into()),
    );
    let failed = f.ingest(vec![reading(2, 9)]).await;
    assert!(
        matches!(&failed, Err(ServiceError::Unavailable(m)) if m.contains("injected")),
        "{failed:?}"
    );

    // The room restarted from what is durable: seq 2 was never applied, so it is accepted now.
    assert_eq!(
        f.durable_mark().await,
        1,
        "the dedup mark is the durable one"
    );
    assert_eq!(f.ingest(vec![reading(2, 9)]).await, Ok(2));
    let state = f
        .test
        .disk
        .room_state(&f.tenant, &f.room)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.count, state.sensors[&f.sensor].last_seq), (9, 2));
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_batches_are_acknowledged_in_order_and_all_are_durable() {
    let f = OneRoom::start(ActorSettings::default()).await;
    let room = f.room_actor().await.unwrap();
    // One sensor pipelines 200 batches in seq order (join_all sends them in order).
    let calls = (1..=200u64).map(|seq| {
        ingest_readings(
            &room,
            f.sensor.clone(),
            vec![reading(seq, (seq % 5) as i64)],
            T0,
            ActorSettings::default().call_timeout,
        )
    });
    let acks = futures::future::join_all(calls).await;
    assert!(
        acks.iter()
            .enumerate()
            .all(|(i, ack)| *ack == Ok(i as u64 + 1)),
        "{acks:?}"
    );
    let stored = f
        .test
        .disk
        .all_readings(
            &f.tenant,
            &f.room,
            TimeRange {
                from: 0,
                to: i64::MAX,
            },
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 200, "every acknowledged reading is stored");
    let minutes = f
        .test
        .disk
        .all_rollups(
            &f.tenant,
            &f.room,
            Resolution::Minute,
            TimeRange {
                from: 0,
                to: i64::MAX,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        minutes.len(),
        3,
        "200 s of readings close three full minutes"
    );
    f.test.stop_checked().await;
}
