//! Retention behaviours: old rows go, newer rows and other tenants' rows stay, overrides count.

use std::sync::Arc;
use std::time::Duration;

use super::support::{add_tenant, fresh_room, reading, rollup, room_write, sensor_id, unique};
use crate::{
    Resolution, RetentionPolicy, RoomState, Store, StoreError, TimeRange, WriteBatch,
    testkit::ReadAll,
};

/// A fixed "now" (2025-06-15 UTC), before any wall-clock partition of a test run.
pub(super) const NOW: i64 = 1_749_945_600_000;
/// A day in ms.
const DAY: i64 = 86_400_000;

/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// A sweep deletes readings and rollups older than each tenant's policy (its own, or the
/// defaults) and audit entries past their `keep_until`, keeps newer ones, and leaves a tenant
/// with a longer policy alone.
pub async fn retention_deletes_old_rows(store: &dyn Store) {
    let short = fresh_room(store).await;
    let long = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let days = [-400, -61, -40, -31, -29, -1];
    let readings: Vec<_> = days
        .iter()
        .zip(1..)
        .map(|(&d, seq)| (sensor.clone(), reading(seq, NOW + d * DAY, 1)))
        .collect();
    let rollups = vec![
        rollup(Resolution::Minute, NOW - 40 * DAY, 1.0),
        rollup(Resolution::Minute, NOW - 10 * DAY, 1.0),
        rollup(Resolution::Hour, NOW - 400 * DAY, 1.0),
        rollup(Resolution::Hour, NOW - 800 * DAY, 1.0),
    ];
    let writes = [&short, &long].map(|room| {
        room_write(
            room,
            readings.clone(),
            RoomState::default(),
            rollups.clone(),
        )
    });
    store
        .write_batch(Arc::new(WriteBatch {
            rooms: writes.to_vec(),
        }))
        .await
        .unwrap();
    let longer = RetentionPolicy {
        readings: Duration::from_secs(60 * 86_400),
        ..RetentionPolicy::default()
    };
    store
        .set_retention(&long.tenant, Some(&longer))
        .await
        .unwrap();
    assert_eq!(store.retention(&long.tenant).await.unwrap(), Some(longer));
    assert_eq!(store.retention(&short.tenant).await.unwrap(), None);

    let (audit_scope, audit_kept) = super::audit::audit_due_at(store, NOW).await;

    let report = store
        .apply_retention(&RetentionPolicy::default(), NOW)
        .await
        .unwrap();
    super::audit::assert_audit_swept(store, &audit_scope, audit_kept, NOW).await;
    assert!(report.tenants >= 2, "{report:?}");
    assert!(report.readings >= 4 + 2, "{report:?}");
    assert!(report.rollups >= 2 + 2, "{report:?}");

    assert_eq!(kept_days(store, &short).await, vec![-29, -1]);
    assert_eq!(kept_days(store, &long).await, vec![-40, -31, -29, -1]);
    for room in [&short, &long] {
        let starts = |resolution| async move {
            let read = store
                .all_rollups(&room.tenant, &room.id, resolution, ALL)
                .await
                .unwrap();
            read.iter()
                .map(|r| (r.bucket_start - NOW) / DAY)
                .collect::<Vec<_>>()
        };
        assert_eq!(starts(Resolution::Minute).await, vec![-10]);
        assert_eq!(starts(Resolution::Hour).await, vec![-400]);
    }

    let again = store
        .apply_retention(&RetentionPolicy::default(), NOW)
        .await
        .unwrap();
    assert_eq!(kept_days(store, &short).await, vec![-29, -1], "{again:?}");
}

/// The days (relative to [`NOW`]) of a room's readings.
async fn kept_days(store: &dyn Store, room: &crate::Room) -> Vec<i64> {
    let read = store
        .all_readings(&room.tenant, &room.id, ALL)
        .await
        .unwrap();
    read.iter().map(|(_, r)| (r.ts - NOW) / DAY).collect()
}

/// Overrides are set, replaced and cleared per tenant; a missing tenant has none to set.
pub async fn retention_overrides(store: &dyn Store) {
    let tenant = add_tenant(store, &unique("t")).await;
    let prefixed = add_tenant(store, &format!("{tenant}-2")).await;
    let policy = RetentionPolicy {
        readings: Duration::from_secs(3_600),
        day: Duration::from_secs(10 * 365 * 86_400),
        ..RetentionPolicy::default()
    };
    store.set_retention(&tenant, Some(&policy)).await.unwrap();
    assert_eq!(store.retention(&tenant).await.unwrap(), Some(policy));
    assert_eq!(store.retention(&prefixed).await.unwrap(), None);
    let replaced = RetentionPolicy {
        minute: Duration::from_secs(86_400),
        ..policy
    };
    store.set_retention(&tenant, Some(&replaced)).await.unwrap();
    assert_eq!(store.retention(&tenant).await.unwrap(), Some(replaced));
    store.set_retention(&tenant, None).await.unwrap();
    assert_eq!(store.retention(&tenant).await.unwrap(), None);

    let missing = super::support::tenant_id(&unique("t"));
    assert!(matches!(
        store.set_retention(&missing, Some(&policy)).await,
        Err(StoreError::NotFound { kind: "tenant", .. })
    ));
}
