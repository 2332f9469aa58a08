//! Data written to an [`EmbeddedStore`] is there after reopening its directory, both after a
//! clean drop and after the process aborts right after `write_batch` returns.

use std::sync::Arc;
use std::{
    path::Path,
    process::{Command, Stdio},
};

use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tally_storage::{
    CountMode, EmbeddedStore, KeyHash, Office, Resolution, Rollup, Room, RoomState, RoomWrite,
    Sensor, SensorState, Store, StoredReading, Tenant, TimeRange, WriteBatch, testkit::ReadAll,
};

/// Environment variable that turns `abort_child` into the writer of `survives_abort`.
const CHILD_DIR: &str = "TALLY_STORAGE_DURABILITY_CHILD_DIR";
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};
const KEY: KeyHash = KeyHash([7; 32]);

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

fn room() -> Room {
    Room {
        tenant: tenant(),
        office: OfficeId::new("hq").unwrap(),
        id: RoomId::new("atrium").unwrap(),
        name: "Atrium".into(),
        capacity: 40,
        count_mode: CountMode::Max,
    }
}

fn sensor() -> Sensor {
    Sensor {
        tenant: tenant(),
        office: room().office,
        room: room().id,
        id: SensorId::new("door-1").unwrap(),
    }
}

fn reading(seq: u64) -> StoredReading {
    StoredReading {
        seq,
        ts: -5_000 + seq as i64 * 1_000,
        count: seq as u32,
        received_at: 42,
    }
}

fn state() -> RoomState {
    let sensor_state = SensorState {
        last_seq: 3,
        count: 3,
        ts: -2_000,
        received_at: 1_000,
    };
    RoomState {
        count: 3,
        ts: -2_000,
        sensors: [(sensor().id, sensor_state)].into(),
        rollups: None,
    }
}

fn rollup() -> Rollup {
    Rollup {
        resolution: Resolution::Minute,
        bucket_start: -60_000,
        avg: 1.5,
        peak: 3,
        occupied_s: 30.0,
        samples: 3,
        stats: None,
    }
}

/// Writes the registry and one batch.
async fn write_all(store: &EmbeddedStore) {
    store
        .create_tenant(&Tenant {
            id: tenant(),
            name: "Acme".into(),
        })
        .await
        .unwrap();
    store
        .create_office(&Office {
            tenant: tenant(),
            id: room().office,
            name: "HQ".into(),
        })
        .await
        .unwrap();
    store.create_room(&room()).await.unwrap();
    store.create_sensor(&sensor(), &KEY).await.unwrap();
    let readings = (1..=3).map(|seq| (sensor().id, reading(seq))).collect();
    let write = RoomWrite {
        tenant: tenant(),
        office: room().office,
        room: room().id,
        owner_token: 0,
        readings,
        state: state(),
        rollups: vec![rollup()],
    };
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
}

/// Checks everything `write_all` wrote.
async fn assert_all(path: &Path) {
    let store = EmbeddedStore::open(path).unwrap();
    assert_eq!(store.tenants().await.unwrap().len(), 1);
    assert_eq!(
        store.rooms(&tenant(), &room().office).await.unwrap(),
        vec![room()]
    );
    assert_eq!(
        store
            .sensor_by_key_hash(&KEY, tally_protocol::now_ms())
            .await
            .unwrap(),
        Some(sensor())
    );
    let expected: Vec<_> = (1..=3).map(|seq| (sensor().id, reading(seq))).collect();
    assert_eq!(
        store
            .all_readings(&tenant(), &room().id, ALL)
            .await
            .unwrap(),
        expected
    );
    assert_eq!(
        store.room_state(&tenant(), &room().id).await.unwrap(),
        Some(state())
    );
    let rollups = store
        .all_rollups(&tenant(), &room().id, Resolution::Minute, ALL)
        .await
        .unwrap();
    assert_eq!(rollups, vec![rollup()]);
}

#[tokio::test]
async fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let clone = store.clone();
    write_all(&clone).await;
    drop(clone);
    drop(store);
    assert_all(dir.path()).await;
}

#[tokio::test]
async fn survives_abort() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "abort_child", "--test-threads=1"])
        .stdout(Stdio::null())
        .env(CHILD_DIR, dir.path())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must abort, not exit");
    assert_all(dir.path()).await;
}

/// In the child process: writes, then aborts without dropping anything (no flush on drop).
#[tokio::test]
async fn abort_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = EmbeddedStore::open(Path::new(&dir)).unwrap();
    write_all(&store).await;
    std::process::abort();
}
