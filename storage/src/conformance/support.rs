//! Fresh ids and small builders shared by the behaviours.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use tally_protocol::analytics::BucketStats;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use crate::{
    CountMode, KeyHash, Office, Resolution, Rollup, Room, RoomState, RoomWrite, Sensor,
    SensorState, Store, StoreError, StoredReading, Tenant,
};

/// Distinguishes this process's ids from those of earlier runs against a persistent store.
fn run_nonce() -> u64 {
    static NONCE: OnceLock<u64> = OnceLock::new();
    *NONCE.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        (nanos as u64) ^ (u64::from(std::process::id()) << 40)
    })
}

/// A counter unique within the process.
fn next() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A slug never used before: `<kind>-<run>-<n>`.
pub fn unique(kind: &str) -> String {
    format!("{kind}-{:x}-{}", run_nonce(), next())
}

/// A key hash never used before.
pub fn unique_key_hash() -> KeyHash {
    let mut hash = [0xa5; 32];
    hash[..8].copy_from_slice(&run_nonce().to_be_bytes());
    hash[8..16].copy_from_slice(&next().to_be_bytes());
    KeyHash(hash)
}

/// Parses a tenant id made by the suite.
pub fn tenant_id(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

/// Parses an office id made by the suite.
pub fn office_id(id: &str) -> OfficeId {
    OfficeId::new(id).unwrap()
}

/// Parses a room id made by the suite.
pub fn room_id(id: &str) -> RoomId {
    RoomId::new(id).unwrap()
}

/// Parses a sensor id made by the suite.
pub fn sensor_id(id: &str) -> SensorId {
    SensorId::new(id).unwrap()
}

/// Creates a tenant with the given id.
pub async fn add_tenant(store: &dyn Store, id: &str) -> TenantId {
    let tenant = Tenant {
        id: tenant_id(id),
        name: format!("tenant {id}"),
    };
    store.create_tenant(&tenant).await.unwrap();
    tenant.id
}

/// Creates an office with the given id.
pub async fn add_office(store: &dyn Store, tenant: &TenantId, id: &str) -> OfficeId {
    let office = Office {
        tenant: tenant.clone(),
        id: office_id(id),
        name: format!("office {id}"),
    };
    store.create_office(&office).await.unwrap();
    office.id
}

/// A room record (not created).
pub fn room(tenant: &TenantId, office: &OfficeId, id: &str) -> Room {
    Room {
        tenant: tenant.clone(),
        office: office.clone(),
        id: room_id(id),
        name: format!("room {id}"),
        capacity: 8,
        count_mode: CountMode::Sum,
    }
}

/// Creates a room with the given id.
pub async fn add_room(store: &dyn Store, tenant: &TenantId, office: &OfficeId, id: &str) -> Room {
    let room = room(tenant, office, id);
    store.create_room(&room).await.unwrap();
    room
}

/// A sensor record of `room` (not created).
pub fn sensor(room: &Room, id: &str) -> Sensor {
    Sensor {
        tenant: room.tenant.clone(),
        office: room.office.clone(),
        room: room.id.clone(),
        id: sensor_id(id),
    }
}

/// A fresh tenant with one office and one room, all created.
pub async fn fresh_room(store: &dyn Store) -> Room {
    let tenant = add_tenant(store, &unique("t")).await;
    let office = add_office(store, &tenant, &unique("o")).await;
    add_room(store, &tenant, &office, &unique("r")).await
}

/// A raw reading.
pub fn reading(seq: u64, ts: TimestampMs, count: u32) -> StoredReading {
    StoredReading {
        seq,
        ts,
        count,
        received_at: ts.saturating_add(5),
    }
}

/// A closed rollup bucket, with statistics that every backend must keep as they are (how long
/// each count was held, the bucket's end and span, its samples).
pub fn rollup(resolution: Resolution, bucket_start: TimestampMs, avg: f64) -> Rollup {
    let mut stats = BucketStats::empty(bucket_start, bucket_start + 60_000);
    stats.hold(0, 47_500);
    stats.hold(3, 12_500);
    stats.samples = 4;
    Rollup {
        resolution,
        bucket_start,
        avg,
        peak: 3,
        occupied_s: 12.5,
        samples: 4,
        stats: Some(stats),
    }
}

/// A room state whose count is `count`, set by `sensor` at `ts`.
pub fn state(sensor: &SensorId, count: u32, ts: TimestampMs) -> RoomState {
    RoomState {
        count,
        ts,
        sensors: [(
            sensor.clone(),
            SensorState {
                last_seq: u64::from(count) + 1,
                count,
                ts,
                received_at: ts,
            },
        )]
        .into(),
        rollups: None,
    }
}

/// The rows of one room with its readings and rollups.
pub fn room_write(
    room: &Room,
    readings: Vec<(SensorId, StoredReading)>,
    state: RoomState,
    rollups: Vec<Rollup>,
) -> RoomWrite {
    RoomWrite {
        tenant: room.tenant.clone(),
        office: room.office.clone(),
        room: room.id.clone(),
        owner_token: 0,
        readings,
        state,
        rollups,
    }
}

/// Asserts `result` is `AlreadyExists` of `kind`.
#[track_caller]
pub fn assert_already_exists(result: Result<(), StoreError>, kind: &str) {
    match result {
        Err(StoreError::AlreadyExists { kind: got, .. }) if got == kind => {}
        other => panic!("expected {kind} AlreadyExists, got {other:?}"),
    }
}

/// Asserts `result` is `NotFound` of `kind`.
#[track_caller]
pub fn assert_not_found(result: Result<(), StoreError>, kind: &str) {
    match result {
        Err(StoreError::NotFound { kind: got, .. }) if got == kind => {}
        other => panic!("expected {kind} NotFound, got {other:?}"),
    }
}
