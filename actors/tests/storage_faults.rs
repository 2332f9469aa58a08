//! A storage fault is a node fault, not a tenant fault: transient write failures are retried
//! with their acknowledgements held, the node's storage health says so meanwhile, restarts caused
//! by the store never quarantine a tenant, and a store that failed for good stops the node.

use std::time::Duration;

use tally_actors::{ActorSettings, RestartPolicy, ServiceError, StorageStatus, send_readings};
use tally_storage::{StoreError, TimeRange, testkit::ReadAll};

mod support;

use support::{OneRoom, T0, reading};

/// How long a test waits for something that must happen before it fails (never a pause).
const PATIENCE: Duration = Duration::from_secs(30);

fn connection_reset() -> StoreError {
    StoreError::Unavailable("injected: connection reset".into())
}

/// Readings of the room in the store, by seq.
async fn stored_seqs(f: &OneRoom) -> Vec<u64> {
    let all = TimeRange {
        from: 0,
        to: i64::MAX,
    };
    let rows = f
        .test
        .disk
        .all_readings(&f.tenant, &f.room, all)
        .await
        .unwrap();
    rows.into_iter().map(|(_, reading)| reading.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_and_acknowledged_only_after_the_write_succeeds() {
    let f = OneRoom::start(ActorSettings::default()).await;
    assert_eq!(f.ingest(vec![reading(1, 3)]).await, Ok(1));
    let room = f.room_actor().await.unwrap();

    f.test.disk.fail_next_writes(3, connection_reset());
    assert_eq!(f.ingest(vec![reading(2, 4)]).await, Ok(2));
    assert_eq!(
        f.test.disk.written_batches(),
        [1, 1],
        "the three failed attempts wrote nothing; the fourth wrote the reading"
    );
    assert_eq!(
        f.test.node.storage_health().status(),
        StorageStatus::Healthy
    );
    assert_eq!(
        f.room_actor().await.unwrap().get_id(),
        room.get_id(),
        "the room was not restarted"
    );
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_degrades_the_node_and_holds_acks_until_the_store_answers() {
    let f = OneRoom::start(ActorSettings::default()).await;
    assert_eq!(f.ingest(vec![reading(1, 3)]).await, Ok(1));
    let room = f.room_actor().await.unwrap();
    let health = f.test.node.storage_health().clone();

    f.test.disk.fail_next_writes(usize::MAX, connection_reset());
    let mut ack = send_readings(&room, f.sensor.clone(), vec![reading(2, 4)], T0).unwrap();
    let status = health
        .wait_for(|status| matches!(status, StorageStatus::Degraded(_)))
        .await;
    assert!(
        matches!(&status, StorageStatus::Degraded(reason) if reason.contains("connection reset")),
        "{status:?}"
    );
    assert!(health.check().is_err(), "a degraded node refuses readings");
    assert!(
        ack.try_recv().is_err(),
        "nothing is acknowledged while the write fails"
    );
    assert_eq!(stored_seqs(&f).await, [1]);

    f.test.disk.fail_next_writes(0, connection_reset());
    let answer = tokio::time::timeout(PATIENCE, ack).await.unwrap().unwrap();
    assert_eq!(
        answer,
        Ok(2),
        "acknowledged once the retried write succeeded"
    );
    assert_eq!(stored_seqs(&f).await, [1, 2]);
    assert_eq!(health.status(), StorageStatus::Healthy);
    assert_eq!(f.room_actor().await.unwrap().get_id(), room.get_id());
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_caused_by_the_store_never_quarantine_a_tenant() {
    let mut settings = ActorSettings::default();
    settings.write_retry.retry_for = Duration::ZERO;
    settings.restart = RestartPolicy {
        max_restarts: 1,
        window: Duration::from_secs(3600),
    };
    let f = OneRoom::start(settings).await;
    assert_eq!(f.ingest(vec![reading(1, 3)]).await, Ok(1));

    // Every write fails and is given up at once: the room is poisoned and restarts each time,
    // far more often than its restart intensity allows for failures of its own.
    f.test.disk.fail_next_writes(usize::MAX, connection_reset());
    let mut store_failures = 0;
    while store_failures < 5 {
        let Ok(room) = f.room_actor().await else {
            tokio::task::yield_now().await; // the office is restarting it
            continue;
        };
        let ack = send_readings(&room, f.sensor.clone(), vec![reading(2, 9)], T0);
        let Ok(ack) = ack else { continue };
        match tally_actors::await_ack(ack, PATIENCE).await {
            // The write failed, or an earlier one of this incarnation did (a restarted room
            // writes the minute it closed at once): either way the room is poisoned and stops.
            Err(ServiceError::Storage(_)) => {}
            Err(ServiceError::Unavailable(m)) if m.contains("injected") => {}
            Err(ServiceError::Unavailable(_)) => continue, // it stopped meanwhile
            other => panic!("unexpected {other:?}"),
        }
        room.get_cell().wait(Some(PATIENCE)).await.unwrap();
        store_failures += 1;
    }
    assert!(f.test.node.quarantined().await.unwrap().is_empty());

    f.test.disk.fail_next_writes(0, connection_reset());
    assert_eq!(f.durable_mark().await, 1, "nothing unwritten was kept");
    assert_eq!(f.ingest(vec![reading(2, 9)]).await, Ok(2));
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_for_good_stops_the_node() {
    let f = OneRoom::start(ActorSettings::default()).await;
    assert_eq!(f.ingest(vec![reading(1, 3)]).await, Ok(1));

    // A non-retryable error, as from an embedded store that poisoned itself after a failed fsync.
    f.test.disk.fail_writes(true);
    let failed = f.ingest(vec![reading(2, 9)]).await;
    assert!(
        matches!(failed, Err(ServiceError::Storage(_))),
        "{failed:?}"
    );
    assert!(matches!(
        f.test.node.storage_health().status(),
        StorageStatus::Failed(_)
    ));
    // The persister stopped, and with it the node supervisor (the binary exits non-zero).
    f.test.node.cell().wait(Some(PATIENCE)).await.unwrap();
    assert_eq!(
        stored_seqs(&f).await,
        [1],
        "nothing of the failed write is stored"
    );
    f.test.stop_checked().await;
}
