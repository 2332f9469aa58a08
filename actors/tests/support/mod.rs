//! Shared fixture of the actor integration tests: a node over a fault-injecting embedded store
//! in a temporary directory, and the leak-checked stop every test ends with.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod rollups;

use std::sync::Arc;

use ractor::ActorRef;
use tally_actors::{ActorSettings, NodeHandle, RoomMsg, ServiceError, ingest_readings};
use tally_protocol::{OfficeId, Reading, RoomId, SensorId, TenantId, now_ms};
use tally_storage::{
    CountMode, EmbeddedStore, FaultInjectingStore, Office, RollupFrontier, Room, Store, Tenant,
};

/// A running node and the store it runs on.
pub struct TestNode {
    _dir: tempfile::TempDir,
    pub disk: Arc<FaultInjectingStore>,
    pub node: NodeHandle,
}

impl TestNode {
    /// Registers `tenant` with `offices` (each with its rooms), then starts a node.
    pub async fn start(tenant: &TenantId, offices: &[(OfficeId, Vec<RoomId>)]) -> Self {
        Self::start_with(ActorSettings::default(), tenant, offices).await
    }

    /// As [`TestNode::start`], with these tunables.
    pub async fn start_with(
        settings: ActorSettings,
        tenant: &TenantId,
        offices: &[(OfficeId, Vec<RoomId>)],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(FaultInjectingStore::new(Arc::new(
            EmbeddedStore::open(dir.path()).unwrap(),
        )));
        let name = String::new();
        let tenant_record = Tenant {
            id: tenant.clone(),
            name: name.clone(),
        };
        disk.create_tenant(&tenant_record).await.unwrap();
        for (office, rooms) in offices {
            let (tenant, id) = (tenant.clone(), office.clone());
            let office_record = Office {
                tenant,
                id,
                name: name.clone(),
            };
            disk.create_office(&office_record).await.unwrap();
            for room in rooms {
                let record = Room {
                    tenant: tenant_record.id.clone(),
                    office: office.clone(),
                    id: room.clone(),
                    name: name.clone(),
                    capacity: 10,
                    count_mode: CountMode::Sum,
                };
                disk.create_room(&record).await.unwrap();
            }
        }
        let (node, _) = NodeHandle::start(disk.clone(), settings).await.unwrap();
        Self {
            _dir: dir,
            disk,
            node,
        }
    }

    /// Shuts the node down and fails if any of its actors outlived it.
    pub async fn stop_checked(&self) {
        self.node.shutdown().await;
        assert_eq!(
            self.node.live_actors(),
            0,
            "actors still alive after shutdown"
        );
    }
}

/// One office of a running node, its rooms addressed by name.
pub struct TestOffice {
    pub test: TestNode,
    pub tenant: TenantId,
    pub office: OfficeId,
}

impl TestOffice {
    /// Sends one reading of `sensor` to `room`, received now, and waits until it is durable.
    pub async fn send(&self, room: &str, sensor: &str, reading: Reading) {
        let actor = self
            .test
            .node
            .room(&self.tenant, &self.office, &RoomId::new(room).unwrap())
            .await
            .unwrap();
        let sensor = SensorId::new(sensor).unwrap();
        let timeout = self.test.node.settings().call_timeout;
        let acked = ingest_readings(&actor, sensor, vec![reading], now_ms(), timeout)
            .await
            .unwrap();
        assert_eq!(acked, reading.seq);
    }

    /// Room `room`'s stored rollup frontier.
    pub async fn room_frontier(&self, room: &str) -> Option<RollupFrontier> {
        let room = RoomId::new(room).unwrap();
        let state = self.test.disk.room_state(&self.tenant, &room).await;
        state.unwrap().and_then(|state| state.rollups)
    }
}

/// Sensor time of the first reading.
pub const T0: i64 = 1_764_000_000_000;

/// A reading of `count` at `seq`, a second after the previous one.
pub fn reading(seq: u64, count: i64) -> Reading {
    Reading {
        seq,
        ts: T0 + seq as i64 * 1000,
        count,
    }
}

/// A node with one tenant `t`, one office `o`, one room `r` and its sensor `s`.
pub struct OneRoom {
    pub test: TestNode,
    pub tenant: TenantId,
    pub office: OfficeId,
    pub room: RoomId,
    pub sensor: SensorId,
}

impl OneRoom {
    /// Starts the node with `settings`.
    pub async fn start(settings: ActorSettings) -> Self {
        let (tenant, office, room, sensor) = (
            TenantId::new("t").unwrap(),
            OfficeId::new("o").unwrap(),
            RoomId::new("r").unwrap(),
            SensorId::new("s").unwrap(),
        );
        let offices = [(office.clone(), vec![room.clone()])];
        let test = TestNode::start_with(settings, &tenant, &offices).await;
        Self {
            test,
            tenant,
            office,
            room,
            sensor,
        }
    }

    /// The room's actor, as the node resolves it now.
    pub async fn room_actor(&self) -> Result<ActorRef<RoomMsg>, ServiceError> {
        self.test
            .node
            .room(&self.tenant, &self.office, &self.room)
            .await
    }

    /// Sends `items` to the room and waits for the answer.
    pub async fn ingest(&self, items: Vec<Reading>) -> Result<u64, ServiceError> {
        let room = self.room_actor().await?;
        ingest_readings(
            &room,
            self.sensor.clone(),
            items,
            T0,
            ActorSettings::default().call_timeout,
        )
        .await
    }

    /// The room's durable dedup mark, asking until a restarting room answers.
    pub async fn durable_mark(&self) -> u64 {
        loop {
            match self.ingest(vec![]).await {
                Ok(mark) => return mark,
                Err(ServiceError::Unavailable(_)) => tokio::task::yield_now().await,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
    }
}
