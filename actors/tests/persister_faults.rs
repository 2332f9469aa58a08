//! The persister acknowledges only durable writes; a failed write answers an error and the room
//! restarts from storage, so nothing unacknowledged is ever reported as applied.

use tally_actors::{ActorSettings, ServiceError, ingest_readings};
use tally_protocol::{OfficeId, Reading, RoomId, SensorId, TenantId};
use tally_storage::{Resolution, Store, TimeRange, testkit::ReadAll};

mod support;

use support::TestNode;

const T0: i64 = 1_764_000_000_000;

struct Fixture {
    test: TestNode,
    tenant: TenantId,
    office: OfficeId,
    room: RoomId,
    sensor: SensorId,
}

async fn fixture() -> Fixture {
    let (tenant, office, room, sensor) = (
        TenantId::new("t").unwrap(),
        OfficeId::new("o").unwrap(),
        RoomId::new("r").unwrap(),
        SensorId::new("s").unwrap(),
    );
    let test = TestNode::start(&tenant, &[(office.clone(), vec![room.clone()])]).await;
    Fixture {
        test,
        tenant,
        office,
        room,
        sensor,
    }
}

fn reading(seq: u64, count: i64) -> Reading {
    Reading {
        seq,
        ts: T0 + seq as i64 * 1000,
        count,
    }
}

impl Fixture {
    async fn ingest(&self, items: Vec<Reading>) -> Result<u64, ServiceError> {
        let room = self
            .test
            .node
            .room(&self.tenant, &self.office, &self.room)
            .await?;
        ingest_readings(
            &room,
            self.sensor.clone(),
            items,
            T0,
            ActorSettings::default().call_timeout,
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_write_is_not_acknowledged_and_the_room_restarts_from_storage() {
    let f = fixture().await;
    assert_eq!(f.ingest(vec![reading(1, 3)]).await, Ok(1));

    f.test.disk.fail_writes(true);
    let failed = f.ingest(vec![reading(2, 9)]).await;
    assert!(
        matches!(failed, Err(ServiceError::Storage(_))),
        "{failed:?}"
    );
    f.test.disk.fail_writes(false);

    // The room restarted from what is durable: seq 2 was never applied, so it is accepted now.
    let mut answer = f.ingest(vec![]).await;
    while matches!(answer, Err(ServiceError::Unavailable(_))) {
        answer = f.ingest(vec![]).await; // the old room is still being replaced
    }
    assert_eq!(answer, Ok(1), "the dedup mark is the durable one");
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
    let f = fixture().await;
    let room = f
        .test
        .node
        .room(&f.tenant, &f.office, &f.room)
        .await
        .unwrap();
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
