//! Registry behaviours: round trips, ordering, uniqueness, parents, isolation, key hashes.

use std::sync::Arc;

use tally_protocol::now_ms;

use super::support::{
    add_office, add_room, add_tenant, assert_already_exists, assert_not_found, fresh_room,
    office_id, reading, rollup, room, room_id, sensor, sensor_id, state, tenant_id, unique,
    unique_key_hash,
};
use crate::{
    CountMode, Office, Resolution, Room, RoomWrite, Sensor, Store, Tenant, TimeRange, WriteBatch,
    testkit::ReadAll,
};

/// Created entries read back equal, and lists are ordered by id (`x-a` before `x-a-1`).
pub async fn registry_round_trip(store: &dyn Store) {
    let tenant = Tenant {
        id: tenant_id(&unique("t")),
        name: "Acme".into(),
    };
    store.create_tenant(&tenant).await.unwrap();
    assert_eq!(
        store.tenant(&tenant.id).await.unwrap(),
        Some(tenant.clone())
    );
    let tenants = store.tenants().await.unwrap();
    assert!(
        tenants.contains(&tenant),
        "tenants() misses {:?}",
        tenant.id
    );
    assert!(
        tenants.windows(2).all(|w| w[0].id < w[1].id),
        "tenants() not ordered by id"
    );

    let base = unique("o");
    let office = |suffix: &str| Office {
        tenant: tenant.id.clone(),
        id: office_id(&format!("{base}{suffix}")),
        name: format!("office{suffix}"),
    };
    let (office_b, office_a, office_a1) = (office("-b"), office("-a"), office("-a-1"));
    for office in [&office_b, &office_a1, &office_a] {
        store.create_office(office).await.unwrap();
    }
    let offices = store.offices(&tenant.id).await.unwrap();
    assert_eq!(
        offices,
        vec![office_a.clone(), office_a1.clone(), office_b.clone()]
    );
    assert_eq!(
        store.office(&tenant.id, &office_a1.id).await.unwrap(),
        Some(office_a1.clone())
    );

    let base = unique("r");
    let room_b = room(&tenant.id, &office_a.id, &format!("{base}-b"));
    let room_a = Room {
        capacity: 12,
        count_mode: CountMode::Max,
        ..room(&tenant.id, &office_a.id, &format!("{base}-a"))
    };
    let room_a1 = room(&tenant.id, &office_a.id, &format!("{base}-a-1"));
    let room_c = room(&tenant.id, &office_b.id, &format!("{base}-c"));
    for room in [&room_b, &room_a1, &room_c, &room_a] {
        store.create_room(room).await.unwrap();
    }
    let rooms = store.rooms(&tenant.id, &office_a.id).await.unwrap();
    assert_eq!(rooms, vec![room_a.clone(), room_a1.clone(), room_b.clone()]);
    assert_eq!(
        store.rooms(&tenant.id, &office_b.id).await.unwrap(),
        vec![room_c.clone()]
    );
    assert_eq!(
        store.rooms(&tenant.id, &office_a1.id).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store.room(&tenant.id, &room_a.id).await.unwrap(),
        Some(room_a.clone())
    );

    let base = unique("s");
    let sensors = ["-b", "-a-1", "-a"].map(|suffix| sensor(&room_a, &format!("{base}{suffix}")));
    for sensor in &sensors {
        store
            .create_sensor(sensor, &unique_key_hash())
            .await
            .unwrap();
    }
    let listed = store.sensors(&tenant.id, &room_a.id).await.unwrap();
    assert_eq!(
        listed,
        vec![sensors[2].clone(), sensors[1].clone(), sensors[0].clone()]
    );
    assert_eq!(store.sensors(&tenant.id, &room_b.id).await.unwrap(), vec![]);
    assert_eq!(
        store.sensor(&tenant.id, &sensors[1].id).await.unwrap(),
        Some(sensors[1].clone())
    );

    let missing = unique("x");
    assert_eq!(store.tenant(&tenant_id(&missing)).await.unwrap(), None);
    assert_eq!(store.offices(&tenant_id(&missing)).await.unwrap(), vec![]);
    assert_eq!(
        store
            .office(&tenant.id, &office_id(&missing))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.rooms(&tenant.id, &office_id(&missing)).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store.room(&tenant.id, &room_id(&missing)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .sensor(&tenant.id, &sensor_id(&missing))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.sensors(&tenant.id, &room_id(&missing)).await.unwrap(),
        vec![]
    );
}

/// A tenant id cannot be created twice, and the first stays as it was.
pub async fn duplicate_tenant(store: &dyn Store) {
    let first = Tenant {
        id: tenant_id(&unique("t")),
        name: "first".into(),
    };
    store.create_tenant(&first).await.unwrap();
    let second = Tenant {
        name: "second".into(),
        ..first.clone()
    };
    assert_already_exists(store.create_tenant(&second).await, "tenant");
    assert_eq!(store.tenant(&first.id).await.unwrap(), Some(first));
}

/// An office id is unique within its tenant, but may repeat in another tenant.
pub async fn duplicate_office(store: &dyn Store) {
    let tenant = add_tenant(store, &unique("t")).await;
    let first = Office {
        tenant: tenant.clone(),
        id: office_id(&unique("o")),
        name: "first".into(),
    };
    store.create_office(&first).await.unwrap();
    let second = Office {
        name: "second".into(),
        ..first.clone()
    };
    assert_already_exists(store.create_office(&second).await, "office");
    assert_eq!(store.offices(&tenant).await.unwrap(), vec![first.clone()]);

    let other = add_tenant(store, &unique("t")).await;
    store
        .create_office(&Office {
            tenant: other,
            ..first
        })
        .await
        .unwrap();
}

/// A room id is unique within its tenant, across its offices; another tenant may reuse it.
pub async fn duplicate_room(store: &dyn Store) {
    let first = fresh_room(store).await;
    let office_b = add_office(store, &first.tenant, &unique("o")).await;
    let same_office = Room {
        name: "again".into(),
        ..first.clone()
    };
    assert_already_exists(store.create_room(&same_office).await, "room");
    let other_office = Room {
        office: office_b.clone(),
        ..first.clone()
    };
    assert_already_exists(store.create_room(&other_office).await, "room");
    assert_eq!(
        store.room(&first.tenant, &first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.rooms(&first.tenant, &office_b).await.unwrap(), vec![]);

    let other = add_tenant(store, &unique("t")).await;
    let other_office = add_office(store, &other, first.office.as_str()).await;
    add_room(store, &other, &other_office, first.id.as_str()).await;
}

/// A sensor id is unique within its tenant, across its rooms; another tenant may reuse it.
pub async fn duplicate_sensor(store: &dyn Store) {
    let room_a = fresh_room(store).await;
    let room_b = add_room(store, &room_a.tenant, &room_a.office, &unique("r")).await;
    let first = sensor(&room_a, &unique("s"));
    store
        .create_sensor(&first, &unique_key_hash())
        .await
        .unwrap();

    let key_hash = unique_key_hash();
    let moved = sensor(&room_b, first.id.as_str());
    assert_already_exists(store.create_sensor(&moved, &key_hash).await, "sensor");
    assert_eq!(
        store.sensor(&room_a.tenant, &first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.sensors(&room_a.tenant, &room_b.id).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store.sensor_by_key_hash(&key_hash, now_ms()).await.unwrap(),
        None,
        "a failed create kept its key"
    );

    let other = fresh_room(store).await;
    store
        .create_sensor(&sensor(&other, first.id.as_str()), &key_hash)
        .await
        .unwrap();
}

/// A key hash is unique across every tenant; a rejected sensor is not created.
pub async fn duplicate_key_hash(store: &dyn Store) {
    let room = fresh_room(store).await;
    let key_hash = unique_key_hash();
    let first = sensor(&room, &unique("s"));
    store.create_sensor(&first, &key_hash).await.unwrap();

    let same_tenant = sensor(&room, &unique("s"));
    assert_already_exists(
        store.create_sensor(&same_tenant, &key_hash).await,
        "sensor key",
    );
    let other_room = fresh_room(store).await;
    let other_tenant = sensor(&other_room, &unique("s"));
    assert_already_exists(
        store.create_sensor(&other_tenant, &key_hash).await,
        "sensor key",
    );

    assert_eq!(
        store.sensor(&room.tenant, &same_tenant.id).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .sensor(&other_room.tenant, &other_tenant.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.sensors(&room.tenant, &room.id).await.unwrap(),
        vec![first.clone()]
    );
    assert_eq!(
        store.sensor_by_key_hash(&key_hash, now_ms()).await.unwrap(),
        Some(first)
    );
}

/// Creating under a missing parent fails with `NotFound` and creates nothing.
pub async fn missing_parent(store: &dyn Store) {
    let orphan_office = Office {
        tenant: tenant_id(&unique("t")),
        id: office_id(&unique("o")),
        name: "o".into(),
    };
    assert_not_found(store.create_office(&orphan_office).await, "tenant");
    assert_eq!(
        store
            .office(&orphan_office.tenant, &orphan_office.id)
            .await
            .unwrap(),
        None
    );

    let existing = fresh_room(store).await;
    let no_office = room(&existing.tenant, &office_id(&unique("o")), &unique("r"));
    assert_not_found(store.create_room(&no_office).await, "office");
    assert_eq!(
        store.room(&no_office.tenant, &no_office.id).await.unwrap(),
        None
    );

    let other_tenant = add_tenant(store, &unique("t")).await;
    let foreign_office = room(&other_tenant, &existing.office, &unique("r"));
    assert_not_found(store.create_room(&foreign_office).await, "office");

    let no_room = sensor(
        &room(&existing.tenant, &existing.office, &unique("r")),
        &unique("s"),
    );
    let key_hash = unique_key_hash();
    assert_not_found(store.create_sensor(&no_room, &key_hash).await, "room");
    let office_b = add_office(store, &existing.tenant, &unique("o")).await;
    let wrong_office = Sensor {
        office: office_b,
        ..sensor(&existing, &unique("s"))
    };
    assert_not_found(store.create_sensor(&wrong_office, &key_hash).await, "room");
    assert_eq!(
        store
            .sensor(&existing.tenant, &wrong_office.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.sensor_by_key_hash(&key_hash, now_ms()).await.unwrap(),
        None
    );
}

/// Concurrent creates of one id (or one key hash): exactly one succeeds.
pub async fn concurrent_creates(store: &dyn Store) {
    let tenant = Tenant {
        id: tenant_id(&unique("t")),
        name: "race".into(),
    };
    let create = || store.create_tenant(&tenant);
    let results = tokio::join!(
        create(),
        create(),
        create(),
        create(),
        create(),
        create(),
        create(),
        create()
    );
    let results = [
        results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
    ];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );

    let room = fresh_room(store).await;
    let key_hash = unique_key_hash();
    let sensors: Vec<_> = (0..8).map(|_| sensor(&room, &unique("s"))).collect();
    let create = |i: usize| store.create_sensor(&sensors[i], &key_hash);
    let results = tokio::join!(
        create(0),
        create(1),
        create(2),
        create(3),
        create(4),
        create(5),
        create(6),
        create(7)
    );
    let results = [
        results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
    ];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        store.sensors(&room.tenant, &room.id).await.unwrap().len(),
        1
    );
}

/// Tenant `a` sees nothing of tenant `ab`, even with the same office, room and sensor ids.
pub async fn tenant_isolation(store: &dyn Store) {
    let a = add_tenant(store, &unique("t")).await;
    let ab = add_tenant(store, &format!("{a}b")).await;
    let office = unique("o");
    let room_ab = add_room(
        store,
        &ab,
        &add_office(store, &ab, &office).await,
        &unique("r"),
    )
    .await;
    let sensor_ab = sensor(&room_ab, &unique("s"));
    store
        .create_sensor(&sensor_ab, &unique_key_hash())
        .await
        .unwrap();
    let office_a = add_office(store, &a, &office).await;

    assert_eq!(store.offices(&a).await.unwrap().len(), 1);
    assert_eq!(store.rooms(&a, &office_a).await.unwrap(), vec![]);
    assert_eq!(store.room(&a, &room_ab.id).await.unwrap(), None);
    assert_eq!(store.sensors(&a, &room_ab.id).await.unwrap(), vec![]);
    assert_eq!(store.sensor(&a, &sensor_ab.id).await.unwrap(), None);

    let write = RoomWrite {
        tenant: ab.clone(),
        office: room_ab.office.clone(),
        room: room_ab.id.clone(),
        owner_token: 0,
        readings: vec![(sensor_ab.id.clone(), reading(1, 1_000, 2))],
        state: state(&sensor_ab.id, 2, 1_000),
        rollups: vec![rollup(Resolution::Minute, 0, 1.0)],
    };
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    assert_eq!(store.room_state(&a, &room_ab.id).await.unwrap(), None);
    assert_eq!(
        store.all_readings(&a, &room_ab.id, all).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .all_rollups(&a, &room_ab.id, Resolution::Minute, all)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .all_readings(&ab, &room_ab.id, all)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A sensor is found by its key hash; an unknown hash finds nothing.
pub async fn sensor_by_key_hash(store: &dyn Store) {
    let room = fresh_room(store).await;
    let (first, second) = (sensor(&room, &unique("s")), sensor(&room, &unique("s")));
    let (hash_1, hash_2) = (unique_key_hash(), unique_key_hash());
    store.create_sensor(&first, &hash_1).await.unwrap();
    store.create_sensor(&second, &hash_2).await.unwrap();
    assert_eq!(
        store.sensor_by_key_hash(&hash_1, now_ms()).await.unwrap(),
        Some(first)
    );
    assert_eq!(
        store.sensor_by_key_hash(&hash_2, now_ms()).await.unwrap(),
        Some(second)
    );
    assert_eq!(
        store
            .sensor_by_key_hash(&unique_key_hash(), now_ms())
            .await
            .unwrap(),
        None
    );
}
