//! Erasure behaviours: nothing of the tenant is readable or accepted afterwards, a tenant with a
//! prefixed id is untouched, calling twice is fine, the audit record survives.

use std::sync::Arc;

use tally_protocol::now_ms;

use super::data::AFTER_SWEEPS;
use super::support::{
    add_office, add_room, add_tenant, reading, rollup, room_write, sensor, state, unique,
    unique_key_hash,
};
use crate::{
    KeyHash, Office, Resolution, RetentionPolicy, Room, Sensor, SensorKey, Store, StoreError,
    Tenant, TimeRange, WriteBatch, testkit::ReadAll,
};

/// A fixed erasure time.
const NOW: i64 = 1_750_000_000_000;

/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// A populated tenant: registry, sensor key, owner token, retention override and data rows.
struct Populated {
    room: Room,
    sensor: Sensor,
    key_hash: KeyHash,
    added_key: KeyHash,
}

/// Creates tenant `id` with one of everything.
async fn populate(store: &dyn Store, id: &str) -> Populated {
    let tenant = add_tenant(store, id).await;
    let office = add_office(store, &tenant, "hq").await;
    let room = add_room(store, &tenant, &office, "lobby").await;
    let sensor = sensor(&room, "door");
    let key_hash = unique_key_hash();
    store.create_sensor(&sensor, &key_hash).await.unwrap();
    let added_key = unique_key_hash();
    store
        .add_sensor_key(&tenant, &sensor.id, &SensorKey::new(added_key, 1), None)
        .await
        .unwrap();
    let token = store.acquire_office(&tenant, &office).await.unwrap();
    store
        .set_retention(&tenant, Some(&RetentionPolicy::default()))
        .await
        .unwrap();
    let readings = (1..=5)
        .map(|seq| {
            (
                sensor.id.clone(),
                reading(seq, AFTER_SWEEPS + seq as i64 * 1_000, 2),
            )
        })
        .collect();
    let rollups = vec![
        rollup(Resolution::Minute, AFTER_SWEEPS, 1.0),
        rollup(Resolution::Hour, AFTER_SWEEPS, 1.0),
    ];
    let mut write = room_write(
        &room,
        readings,
        state(&sensor.id, 2, AFTER_SWEEPS + 5_000),
        rollups,
    );
    write.owner_token = token;
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    Populated {
        room,
        sensor,
        key_hash,
        added_key,
    }
}

/// Every read method sees the populated tenant whole (`present`) or not at all.
async fn assert_readable(store: &dyn Store, p: &Populated, present: bool) {
    let (tenant, room) = (&p.room.tenant, &p.room);
    let who = format!("tenant {tenant} present={present}");
    assert_eq!(
        store.tenant(tenant).await.unwrap().is_some(),
        present,
        "{who}"
    );
    let listed = store.tenants().await.unwrap();
    assert_eq!(listed.iter().any(|t| &t.id == tenant), present, "{who}");
    assert_eq!(
        store.offices(tenant).await.unwrap().len(),
        usize::from(present),
        "{who}"
    );
    assert_eq!(
        store.office(tenant, &room.office).await.unwrap().is_some(),
        present
    );
    assert_eq!(
        store.rooms(tenant, &room.office).await.unwrap().len(),
        usize::from(present)
    );
    assert_eq!(
        store.room(tenant, &room.id).await.unwrap().is_some(),
        present
    );
    assert_eq!(
        store.sensors(tenant, &room.id).await.unwrap().len(),
        usize::from(present)
    );
    assert_eq!(
        store.sensor(tenant, &p.sensor.id).await.unwrap().is_some(),
        present
    );
    for key in [&p.key_hash, &p.added_key] {
        let by_key = store.sensor_by_key_hash(key, now_ms()).await.unwrap();
        assert_eq!(by_key.is_some(), present, "{who}");
    }
    let keys = store.sensor_keys(tenant, &p.sensor.id).await.unwrap();
    assert_eq!(keys.len(), if present { 2 } else { 0 }, "{who}");
    assert_eq!(store.retention(tenant).await.unwrap().is_some(), present);
    assert_eq!(
        store.room_state(tenant, &room.id).await.unwrap().is_some(),
        present
    );
    let readings = store.all_readings(tenant, &room.id, ALL).await.unwrap();
    assert_eq!(readings.len(), if present { 5 } else { 0 }, "{who}");
    for resolution in [Resolution::Minute, Resolution::Hour] {
        let rollups = store
            .all_rollups(tenant, &room.id, resolution, ALL)
            .await
            .unwrap();
        assert_eq!(rollups.len(), usize::from(present), "{who}");
    }
}

/// After erasure nothing of the tenant is readable or accepted, `acme-2` beside `acme` is
/// untouched, and the audit record counts what went.
pub async fn erasure_removes_everything(store: &dyn Store) {
    let id = unique("acme");
    let erased = populate(store, &id).await;
    let kept = populate(store, &format!("{id}-2")).await;
    let tenant = &erased.room.tenant;

    let report = store
        .erase_tenant(tenant, "ops@example.com", NOW)
        .await
        .unwrap();
    assert_eq!(&report.tenant, tenant);
    assert_eq!(report.requested_by, "ops@example.com");
    assert_eq!((report.requested_at, report.finished_at), (NOW, Some(NOW)));
    assert_eq!(report.deleted.readings, 5);
    assert_eq!(report.deleted.rollups, 2);
    assert_eq!(report.deleted.room_states, 1);
    // tenant, office, room, sensor, sensor key, owner token, retention override at least.
    assert!(report.deleted.registry >= 7, "{report:?}");
    assert_eq!(store.erasure(tenant).await.unwrap(), Some(report));

    assert_readable(store, &erased, false).await;
    assert_readable(store, &kept, true).await;
    assert_eq!(store.erasure(&kept.room.tenant).await.unwrap(), None);

    let refused = |result: Result<(), StoreError>| {
        assert_eq!(result, Err(StoreError::Erased(tenant.clone())));
    };
    refused(
        store
            .create_tenant(&Tenant {
                id: tenant.clone(),
                name: "again".into(),
            })
            .await,
    );
    refused(
        store
            .create_office(&Office {
                tenant: tenant.clone(),
                id: erased.room.office.clone(),
                name: "again".into(),
            })
            .await,
    );
    refused(store.set_retention(tenant, None).await);
    let write = room_write(&erased.room, vec![], state(&erased.sensor.id, 1, 0), vec![]);
    refused(
        store
            .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
            .await,
    );
    refused(
        store
            .acquire_office(tenant, &erased.room.office)
            .await
            .map(drop),
    );
    assert_readable(store, &erased, false).await;
}

/// Erasing twice (or erasing an unknown id) succeeds; the record keeps the first request.
pub async fn erasure_is_idempotent(store: &dyn Store) {
    let id = unique("acme");
    let populated = populate(store, &id).await;
    let tenant = &populated.room.tenant;
    let first = store.erase_tenant(tenant, "first", NOW).await.unwrap();
    let second = store.erase_tenant(tenant, "second", NOW + 1).await.unwrap();
    assert_eq!(second, first);
    assert_readable(store, &populated, false).await;

    let unknown = super::support::tenant_id(&unique("ghost"));
    let report = store.erase_tenant(&unknown, "ops", NOW).await.unwrap();
    assert_eq!(report.deleted.total(), 0);
    assert_eq!(report.finished_at, Some(NOW));
    assert_eq!(
        store
            .create_tenant(&Tenant {
                id: unknown.clone(),
                name: "late".into(),
            })
            .await,
        Err(StoreError::Erased(unknown))
    );
}
