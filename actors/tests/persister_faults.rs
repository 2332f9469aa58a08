//! The persister acknowledges only durable writes; a failed write answers an error and the room
//! restarts from storage, so nothing unacknowledged is ever reported as applied.

use std::sync::Arc;

use tally_actors::{ActorSettings, NodeHandle, ServiceError, ingest_readings};
use tally_protocol::{OfficeId, Reading, RoomId, SensorId, TenantId};
use tally_storage::*;

const T0: i64 = 1_764_000_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    disk: Arc<FaultInjectingStore>,
    node: NodeHandle,
    tenant: TenantId,
    office: OfficeId,
    room: RoomId,
    sensor: SensorId,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultInjectingStore::new(Arc::new(
        EmbeddedStore::open(dir.path()).unwrap(),
    )));
    let (tenant, office, room, sensor) = (
        TenantId::new("t").unwrap(),
        OfficeId::new("o").unwrap(),
        RoomId::new("r").unwrap(),
        SensorId::new("s").unwrap(),
    );
    disk.create_tenant(&Tenant {
        id: tenant.clone(),
        name: String::new(),
    })
    .await
    .unwrap();
    disk.create_office(&Office {
        tenant: tenant.clone(),
        id: office.clone(),
        name: String::new(),
    })
    .await
    .unwrap();
    let record = Room {
        tenant: tenant.clone(),
        office: office.clone(),
        id: room.clone(),
        name: String::new(),
        capacity: 5,
        count_mode: CountMode::Sum,
    };
    disk.create_room(&record).await.unwrap();
    let (node, _) = NodeHandle::start(disk.clone(), ActorSettings::default())
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        disk,
        node,
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

    f.disk.fail_writes(true);
    let failed = f.ingest(vec![reading(2, 9)]).await;
    assert!(
        matches!(failed, Err(ServiceError::Storage(_))),
        "{failed:?}"
    );
    f.disk.fail_writes(false);

    // The room restarted from what is durable: seq 2 was never applied, so it is accepted now.
    let mut answer = f.ingest(vec![]).await;
    while matches!(answer, Err(ServiceError::Unavailable(_))) {
        answer = f.ingest(vec![]).await; // the old room is still being replaced
    }
    assert_eq!(answer, Ok(1), "the dedup mark is the durable one");
    assert_eq!(f.ingest(vec![reading(2, 9)]).await, Ok(2));
    let state = f
        .disk
        .room_state(&f.tenant, &f.room)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.count, state.sensors[&f.sensor].last_seq), (9, 2));
    f.node.shutdown().await;
    assert_eq!(f.node.live_actors(), 0, "actors still alive after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_batches_are_acknowledged_in_order_and_all_are_durable() {
    let f = fixture().await;
    let room = f.node.room(&f.tenant, &f.office, &f.room).await.unwrap();
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
        .disk
        .readings(
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
        .disk
        .rollups(
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
    f.node.shutdown().await;
    assert_eq!(f.node.live_actors(), 0, "actors still alive after shutdown");
}
