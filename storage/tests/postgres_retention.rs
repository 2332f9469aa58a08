//! PostgreSQL retention beyond the conformance suite: whole day partitions are dropped only
//! where every tenant's retention has passed; elsewhere rows are deleted per tenant.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tally_protocol::{RoomId, TenantId};
use tally_storage::conformance::support::{
    add_office, add_tenant, reading, room, room_write, sensor_id,
};
use tally_storage::{
    PostgresStore, RetentionPolicy, RoomState, Store, TimeRange, WriteBatch,
    testkit::{OWNER_ROLE, PostgresServer, ReadAll},
};

const DAY: i64 = 86_400_000;

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Tenant `id` with readings three days ago and now.
async fn populate(store: &PostgresStore, id: &str, now: i64) -> (TenantId, RoomId) {
    let tenant = add_tenant(store, id).await;
    let office = add_office(store, &tenant, "hq").await;
    let room = room(&tenant, &office, "atrium");
    let sensor = sensor_id("door");
    let readings = [now - 3 * DAY, now]
        .into_iter()
        .zip(1..)
        .map(|(ts, seq)| (sensor.clone(), reading(seq, ts, 1)))
        .collect();
    let write = room_write(&room, readings, RoomState::default(), vec![]);
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    (tenant, room.id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_partition_is_dropped_once_every_tenants_retention_passed() {
    let database = PostgresServer::shared().await.create_database().await;
    let store = PostgresStore::connect(&database.config()).await.unwrap();
    let now = now_ms();
    let (a, room) = populate(&store, "a", now).await;
    let (b, _) = populate(&store, "b", now).await;
    let owner = database.client(OWNER_ROLE).await;
    let day = (now - 3 * DAY) - (now - 3 * DAY).rem_euclid(DAY);
    let partition_exists = || async {
        let days: Vec<i64> = owner
            .query("SELECT tally.readings_partition_days()", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        days.contains(&day)
    };
    assert!(
        partition_exists().await,
        "the write made the day's partition"
    );

    let two_days = RetentionPolicy {
        readings: Duration::from_secs(2 * 86_400),
        ..RetentionPolicy::default()
    };
    let ten_days = RetentionPolicy {
        readings: Duration::from_secs(10 * 86_400),
        ..two_days
    };
    store.set_retention(&b, Some(&ten_days)).await.unwrap();
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let count = |tenant: TenantId| {
        let (store, room) = (&store, &room);
        async move { store.all_readings(&tenant, room, all).await.unwrap().len() }
    };

    let report = store.apply_retention(&two_days, now).await.unwrap();
    assert_eq!(report.partitions_dropped, 0, "b keeps 10 days: {report:?}");
    assert_eq!(report.readings, 1, "{report:?}");
    assert_eq!((count(a.clone()).await, count(b.clone()).await), (1, 2));
    assert!(partition_exists().await);

    store.set_retention(&b, None).await.unwrap();
    let report = store.apply_retention(&two_days, now).await.unwrap();
    assert_eq!(report.partitions_dropped, 1, "{report:?}");
    assert_eq!(
        report.readings, 1,
        "b's old reading went with the partition: {report:?}"
    );
    assert_eq!((count(a).await, count(b).await), (1, 1));
    assert!(!partition_exists().await);

    let late = populate(&store, "c", now).await;
    assert_eq!(
        count(late.0).await,
        2,
        "a reading of the dropped day still lands"
    );
}
