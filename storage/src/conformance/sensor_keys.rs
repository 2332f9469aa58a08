//! Sensor key behaviours: several keys per sensor, rotation with an overlap, expiry,
//! revocation, deletion of a sensor, and tenant isolation of all of them.

use tally_protocol::{SensorId, TenantId};

use super::support::{
    add_tenant, assert_already_exists, assert_not_found, fresh_room, sensor, unique,
    unique_key_hash,
};
use crate::{KeyHash, Sensor, SensorKey, Store};

/// A fixed clock, later than the machine's (a sensor's first key is stamped with the store's
/// clock, so it is the oldest): keys are checked against it.
const NOW: i64 = 4_000_000_000_000;

/// A fresh sensor with its first key.
async fn fresh_sensor(store: &dyn Store) -> (Sensor, KeyHash) {
    let room = fresh_room(store).await;
    let sensor = sensor(&room, &unique("s"));
    let first = unique_key_hash();
    store.create_sensor(&sensor, &first).await.unwrap();
    (sensor, first)
}

/// Whether `hash` authenticates `sensor` at `now`.
async fn accepted(store: &dyn Store, hash: &KeyHash, sensor: &Sensor, now: i64) -> bool {
    match store.sensor_by_key_hash(hash, now).await.unwrap() {
        Some(found) => {
            assert_eq!(&found, sensor);
            true
        }
        None => false,
    }
}

/// The hashes of a sensor's stored keys, oldest first.
async fn hashes(store: &dyn Store, tenant: &TenantId, sensor: &SensorId) -> Vec<KeyHash> {
    let keys = store.sensor_keys(tenant, sensor).await.unwrap();
    keys.iter().map(|key| key.hash).collect()
}

/// A rotation adds a key and gives the old one an expiry: both work during the overlap, only
/// the new one after it; a second rotation keeps an earlier expiry already set.
pub async fn sensor_key_rotation(store: &dyn Store) {
    let (sensor, first) = fresh_sensor(store).await;
    let (tenant, id) = (&sensor.tenant, &sensor.id);
    let second = unique_key_hash();
    store
        .add_sensor_key(tenant, id, &SensorKey::new(second, NOW), Some(NOW + 1_000))
        .await
        .unwrap();
    assert!(
        accepted(store, &first, &sensor, NOW + 999).await,
        "old key in the overlap"
    );
    assert!(
        accepted(store, &second, &sensor, NOW + 999).await,
        "new key in the overlap"
    );
    assert!(
        !accepted(store, &first, &sensor, NOW + 1_000).await,
        "old key after it"
    );
    assert!(accepted(store, &second, &sensor, NOW + 1_000).await);
    let keys = store.sensor_keys(tenant, id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].hash, first, "oldest first");
    assert_eq!(keys[0].expires_at, Some(NOW + 1_000));
    assert_eq!(keys[1], SensorKey::new(second, NOW));

    let third = unique_key_hash();
    store
        .add_sensor_key(
            tenant,
            id,
            &SensorKey::new(third, NOW + 1),
            Some(NOW + 5_000),
        )
        .await
        .unwrap();
    let keys = store.sensor_keys(tenant, id).await.unwrap();
    let expiries: Vec<_> = keys.iter().map(|key| key.expires_at).collect();
    assert_eq!(
        expiries,
        vec![Some(NOW + 1_000), Some(NOW + 5_000), None],
        "an earlier expiry is kept"
    );

    // A key added without rotation leaves the others alone; a taken hash is refused.
    let fourth = unique_key_hash();
    store
        .add_sensor_key(tenant, id, &SensorKey::new(fourth, NOW + 2), None)
        .await
        .unwrap();
    assert!(accepted(store, &third, &sensor, i64::MAX).await);
    assert_already_exists(
        store
            .add_sensor_key(tenant, id, &SensorKey::new(second, NOW + 3), None)
            .await,
        "sensor key",
    );
    let other = fresh_sensor(store).await.0;
    assert_already_exists(
        store
            .add_sensor_key(&other.tenant, &other.id, &SensorKey::new(first, NOW), None)
            .await,
        "sensor key",
    );
}

/// Revoking one key leaves the others working; revoking all leaves none; a key of another
/// sensor is not revoked through this one.
pub async fn sensor_key_revocation(store: &dyn Store) {
    let (sensor, first) = fresh_sensor(store).await;
    let (tenant, id) = (&sensor.tenant, &sensor.id);
    let second = unique_key_hash();
    store
        .add_sensor_key(tenant, id, &SensorKey::new(second, NOW), None)
        .await
        .unwrap();
    let (other, other_key) = fresh_sensor(store).await;
    assert_eq!(
        store
            .revoke_sensor_keys(tenant, id, Some(&other_key))
            .await
            .unwrap(),
        0,
        "another sensor's key"
    );
    assert!(accepted(store, &other_key, &other, NOW).await);

    assert_eq!(
        store
            .revoke_sensor_keys(tenant, id, Some(&first))
            .await
            .unwrap(),
        1
    );
    assert!(!accepted(store, &first, &sensor, NOW).await);
    assert!(accepted(store, &second, &sensor, NOW).await);
    assert_eq!(hashes(store, tenant, id).await, vec![second]);

    let third = unique_key_hash();
    store
        .add_sensor_key(tenant, id, &SensorKey::new(third, NOW + 1), None)
        .await
        .unwrap();
    assert_eq!(store.revoke_sensor_keys(tenant, id, None).await.unwrap(), 2);
    assert!(!accepted(store, &second, &sensor, NOW).await);
    assert!(!accepted(store, &third, &sensor, NOW).await);
    assert!(hashes(store, tenant, id).await.is_empty());
    assert_eq!(
        store.sensor(tenant, id).await.unwrap(),
        Some(sensor.clone())
    );
    // A revoked hash is free again only as a new key; the sensor can get a fresh one.
    let fresh = unique_key_hash();
    store
        .add_sensor_key(tenant, id, &SensorKey::new(fresh, NOW + 2), None)
        .await
        .unwrap();
    assert!(accepted(store, &fresh, &sensor, NOW).await);
}

/// Deleting a sensor deletes its keys and its listing in the room; the sensor id is free again.
pub async fn sensor_deletion(store: &dyn Store) {
    let room = fresh_room(store).await;
    let sensor = sensor(&room, &unique("s"));
    let first = unique_key_hash();
    store.create_sensor(&sensor, &first).await.unwrap();
    let (tenant, id) = (&sensor.tenant, &sensor.id);
    let second = unique_key_hash();
    store
        .add_sensor_key(tenant, id, &SensorKey::new(second, NOW), None)
        .await
        .unwrap();
    let sibling = super::support::sensor(&room, &unique("s"));
    store
        .create_sensor(&sibling, &unique_key_hash())
        .await
        .unwrap();

    store.delete_sensor(tenant, id).await.unwrap();
    assert_eq!(store.sensor(tenant, id).await.unwrap(), None);
    assert_eq!(
        store.sensors(tenant, &sensor.room).await.unwrap(),
        vec![sibling],
        "the room's other sensor stays"
    );
    assert!(!accepted(store, &first, &sensor, NOW).await);
    assert!(!accepted(store, &second, &sensor, NOW).await);
    assert!(hashes(store, tenant, id).await.is_empty());
    assert_not_found(store.delete_sensor(tenant, id).await, "sensor");
    assert_not_found(
        store.revoke_sensor_keys(tenant, id, None).await.map(drop),
        "sensor",
    );
    assert_not_found(
        store
            .add_sensor_key(tenant, id, &SensorKey::new(unique_key_hash(), NOW), None)
            .await,
        "sensor",
    );
    // Created again with the same id, it works with a new key only.
    let again = unique_key_hash();
    store.create_sensor(&sensor, &again).await.unwrap();
    assert!(accepted(store, &again, &sensor, NOW).await);
    assert!(!accepted(store, &second, &sensor, NOW).await);
}

/// Another tenant cannot add, list, revoke or delete a sensor's keys: its calls find no such
/// sensor, and the sensor's keys keep working.
pub async fn sensor_keys_isolation(store: &dyn Store) {
    let (sensor, first) = fresh_sensor(store).await;
    let intruder = add_tenant(store, &unique("t")).await;
    let id = &sensor.id;
    assert_not_found(
        store
            .add_sensor_key(
                &intruder,
                id,
                &SensorKey::new(unique_key_hash(), NOW),
                Some(NOW),
            )
            .await,
        "sensor",
    );
    assert!(store.sensor_keys(&intruder, id).await.unwrap().is_empty());
    assert_not_found(
        store
            .revoke_sensor_keys(&intruder, id, Some(&first))
            .await
            .map(drop),
        "sensor",
    );
    assert_not_found(
        store
            .revoke_sensor_keys(&intruder, id, None)
            .await
            .map(drop),
        "sensor",
    );
    assert_not_found(store.delete_sensor(&intruder, id).await, "sensor");
    assert!(
        accepted(store, &first, &sensor, i64::MAX).await,
        "untouched"
    );
    assert_eq!(hashes(store, &sensor.tenant, id).await, vec![first]);
}
