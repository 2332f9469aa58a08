//! Shared fixture of the actor integration tests: a node over a fault-injecting embedded store
//! in a temporary directory, and the leak-checked stop every test ends with.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;

use tally_actors::{ActorSettings, NodeHandle};
use tally_protocol::{OfficeId, RoomId, TenantId};
use tally_storage::{CountMode, EmbeddedStore, FaultInjectingStore, Office, Room, Store, Tenant};

/// A running node and the store it runs on.
pub struct TestNode {
    _dir: tempfile::TempDir,
    pub disk: Arc<FaultInjectingStore>,
    pub node: NodeHandle,
}

impl TestNode {
    /// Registers `tenant` with `offices` (each with its rooms), then starts a node.
    pub async fn start(tenant: &TenantId, offices: &[(OfficeId, Vec<RoomId>)]) -> Self {
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
        let (node, _) = NodeHandle::start(disk.clone(), ActorSettings::default())
            .await
            .unwrap();
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
