//! Row-level security of the PostgreSQL schema, checked with raw SQL, not through the store: a
//! query that forgets its `WHERE tenant_id = …` still sees only the tenant of its transaction.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tally_storage::conformance::support::{
    add_office, add_room, add_tenant, reading, rollup, room_write, sensor,
};
use tally_storage::{
    AreaRollupWrite, KeyHash, OfficeCalendar, PostgresStore, Resolution, RetentionPolicy, Rollup,
    RollupArea, RollupFrontier, RoomState, RoomWrite, Store, StoredReading, WriteBatch,
    testkit::{APP_ROLE, OWNER_ROLE, PostgresServer, ReadAll, TestDatabase},
};
use tokio_postgres::{Client, error::SqlState};

/// Every tenant table, as the runtime role sees them.
const TABLES: &[&str] = &[
    "tenants",
    "offices",
    "rooms",
    "sensors",
    "sensor_keys",
    "room_state",
    "readings",
    "rollups",
    "office_owners",
    "retention_overrides",
    "office_calendars",
    "office_rollups",
    "office_rollup_frontiers",
];

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Creates tenant `id` with an office (and its calendar), a room, a sensor and one batch:
/// readings today (a day partition) and in 1970 (the default partition), its state and a rollup;
/// and an office rollup with its frontier.
async fn populate(store: &PostgresStore, id: &str, key: u8) {
    let tenant = add_tenant(store, id).await;
    let office = add_office(store, &tenant, "hq").await;
    let room = add_room(store, &tenant, &office, "atrium").await;
    let placed = sensor(&room, "door");
    store
        .create_sensor(&placed, &KeyHash([key; 32]))
        .await
        .unwrap();
    let readings = vec![
        (placed.id.clone(), reading(1, 1_000, 1)),
        (placed.id.clone(), reading(2, now_ms(), 1)),
    ];
    let rollups = vec![rollup(Resolution::Minute, 0, 1.0)];
    let write = room_write(&room, readings, RoomState::default(), rollups);
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    store
        .set_retention(&tenant, Some(&RetentionPolicy::default()))
        .await
        .unwrap();
    store
        .write_area_rollups(&AreaRollupWrite {
            tenant: tenant.clone(),
            area: RollupArea::Office(office.clone()),
            office: office.clone(),
            owner_token: 0,
            frontier: RollupFrontier {
                from: 0,
                to: 60_000,
            },
            rollups: vec![rollup(Resolution::Minute, 0, 1.0)],
        })
        .await
        .unwrap();
    let calendar = OfficeCalendar {
        time_zone: "Europe/Berlin".into(),
        work_days: vec![0, 1, 2, 3, 4],
        work_start: "08:00".into(),
        work_end: "18:00".into(),
    };
    store
        .set_office_calendar(&tenant, &office, &calendar)
        .await
        .unwrap();
}

/// The `tenant_id` of every row of `relation` that a transaction set to `tenant` (or to no
/// tenant) sees, or the SQLSTATE of the error.
async fn visible(
    client: &mut Client,
    relation: &str,
    tenant: Option<&str>,
) -> Result<Vec<String>, SqlState> {
    let tx = client.transaction().await.unwrap();
    if let Some(tenant) = tenant {
        tx.execute("SELECT set_config('app.tenant', $1, true)", &[&tenant])
            .await
            .unwrap();
    }
    let rows = tx
        .query(&format!("SELECT tenant_id::text FROM {relation}"), &[])
        .await;
    let result = rows
        .map(|rows| rows.iter().map(|row| row.get(0)).collect())
        .map_err(|e| e.code().cloned().unwrap());
    tx.rollback().await.unwrap();
    result
}

/// A connected store with tenants `a` and `b` populated, and its database.
async fn two_tenants() -> (PostgresStore, TestDatabase) {
    let database = PostgresServer::shared().await.create_database().await;
    let store = PostgresStore::connect(&database.config()).await.unwrap();
    populate(&store, "a", 1).await;
    populate(&store, "b", 2).await;
    (store, database)
}

/// The readings partitions, by qualified name.
async fn partitions(client: &Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT inhrelid::regclass::text FROM pg_inherits \
             WHERE inhparent = 'tally.readings'::regclass ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test]
async fn a_transaction_sees_only_its_tenants_rows() {
    let (_store, database) = two_tenants().await;
    let mut app = database.client(APP_ROLE).await;
    for table in TABLES {
        let relation = format!("tally.{table}");
        let seen = visible(&mut app, &relation, Some("a")).await.unwrap();
        assert!(!seen.is_empty(), "{table}: tenant a sees none of its rows");
        assert!(seen.iter().all(|t| t == "a"), "{table}: {seen:?}");
        assert_eq!(
            visible(&mut app, &relation, None).await.unwrap(),
            Vec::<String>::new(),
            "{table} without a tenant"
        );
        assert_eq!(
            visible(&mut app, &relation, Some("nobody")).await.unwrap(),
            Vec::<String>::new(),
            "{table} as an unknown tenant"
        );
    }
}

#[tokio::test]
async fn partitions_by_name_are_closed_to_the_runtime_role_and_guarded_for_the_owner() {
    let (_store, database) = two_tenants().await;
    let mut app = database.client(APP_ROLE).await;
    let mut owner = database.client(OWNER_ROLE).await;
    let names = partitions(&app).await;
    assert!(
        names.contains(&"tally.readings_default".to_owned()),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("tally.readings_p")),
        "no day partition: {names:?}"
    );
    for name in &names {
        assert_eq!(
            visible(&mut app, name, Some("a")).await,
            Err(SqlState::INSUFFICIENT_PRIVILEGE),
            "the runtime role reads {name} by name"
        );
        // The owner has privileges on its partitions, but each carries the forced policy.
        let seen = visible(&mut owner, name, Some("a")).await.unwrap();
        assert!(seen.iter().all(|t| t == "a"), "{name}: {seen:?}");
        assert_eq!(
            visible(&mut owner, name, None).await.unwrap(),
            Vec::<String>::new()
        );
    }
    // Tenant a's two readings: one in the default partition, one in today's.
    let mut counted = 0;
    for name in &names {
        counted += visible(&mut owner, name, Some("a")).await.unwrap().len();
    }
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn rows_of_another_tenant_cannot_be_written() {
    let (_store, database) = two_tenants().await;
    let app = database.client(APP_ROLE).await;
    let inserts = [
        "INSERT INTO tally.tenants (tenant_id, name) VALUES ('b2', 'x')",
        "INSERT INTO tally.offices (tenant_id, office_id, name) VALUES ('b', 'o2', 'x')",
        "INSERT INTO tally.room_state (tenant_id, room_id, state) VALUES ('b', 'r2', '')",
        "INSERT INTO tally.readings (tenant_id, room_id, ts, sensor_id, seq, count, received_at) \
         VALUES ('b', 'atrium', 5, 'door', 9, 1, 5)",
        "INSERT INTO tally.rollups (tenant_id, room_id, resolution, bucket_start, avg, peak, \
         occupied_s, samples) VALUES ('b', 'atrium', 'hour', 0, 1, 1, 1, 1)",
        "INSERT INTO tally.office_rollups (tenant_id, area, resolution, bucket_start, avg, peak, \
         occupied_s, samples) VALUES ('b', 'hq', 'hour', 0, 1, 1, 1, 1)",
        "INSERT INTO tally.office_rollup_frontiers (tenant_id, area, from_ms, to_ms) \
         VALUES ('b', 'hq', 0, 1)",
    ];
    for sql in inserts {
        app.batch_execute("BEGIN; SELECT set_config('app.tenant', 'a', true)")
            .await
            .unwrap();
        let error = app.batch_execute(sql).await.unwrap_err();
        assert_eq!(
            error.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {error}"
        );
        app.batch_execute("ROLLBACK").await.unwrap();
    }
    // Nor can rows be moved to another tenant, nor another tenant's rows be touched.
    app.batch_execute("BEGIN; SELECT set_config('app.tenant', 'a', true)")
        .await
        .unwrap();
    let error = app
        .batch_execute("UPDATE tally.offices SET tenant_id = 'b'")
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some(&SqlState::INSUFFICIENT_PRIVILEGE),
        "{error}"
    );
    app.batch_execute("ROLLBACK").await.unwrap();
    let deleted = app
        .execute("DELETE FROM tally.readings WHERE tenant_id = 'b'", &[])
        .await
        .unwrap();
    assert_eq!(
        deleted, 0,
        "deleted another tenant's readings without a tenant set"
    );
}

#[tokio::test]
async fn the_runtime_role_cannot_lift_the_policies() {
    let (_store, database) = two_tenants().await;
    let app = database.client(APP_ROLE).await;
    for sql in [
        "ALTER TABLE tally.offices NO FORCE ROW LEVEL SECURITY",
        "ALTER TABLE tally.offices DISABLE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON tally.offices",
        "SET row_security = off; SELECT * FROM tally.offices",
    ] {
        let error = app.batch_execute(sql).await.unwrap_err();
        assert_eq!(
            error.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {error}"
        );
    }
}

#[tokio::test]
async fn platform_functions_answer_across_tenants_and_nothing_more() {
    let (store, database) = two_tenants().await;
    let app = database.client(APP_ROLE).await;
    let tenants: Vec<String> = app
        .query("SELECT tenant_id FROM tally.list_tenants()", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tenants, ["a", "b"]);
    let found = store
        .sensor_by_key_hash(&KeyHash([2; 32]), tally_protocol::now_ms())
        .await
        .unwrap();
    assert_eq!(found.map(|s| s.tenant.to_string()), Some("b".into()));
    let row = app
        .query_one(
            "SELECT count(*) FROM tally.sensor_by_key_hash($1)",
            &[&&[9_u8; 32][..]],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);
}

/// One room write of tenant `id` (populated) with a minute rollup whose average is `avg`.
fn hourly_write(id: &str, avg: f64) -> RoomWrite {
    RoomWrite {
        tenant: TenantId::new(id).unwrap(),
        office: OfficeId::new("hq").unwrap(),
        room: RoomId::new("atrium").unwrap(),
        owner_token: 0,
        readings: vec![(
            SensorId::new("door").unwrap(),
            StoredReading {
                seq: 7,
                ts: 7_000,
                count: 3,
                received_at: 7_000,
            },
        )],
        state: RoomState {
            count: 3,
            ..RoomState::default()
        },
        rollups: vec![Rollup {
            resolution: Resolution::Hour,
            bucket_start: 0,
            avg,
            peak: 3,
            occupied_s: 1.0,
            samples: 1,
            stats: None,
        }],
    }
}

#[tokio::test]
async fn a_batch_across_tenants_is_one_transaction() {
    let (store, database) = two_tenants().await;
    let all = tally_storage::TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
    let room = RoomId::new("atrium").unwrap();
    let batch = |avg_b| WriteBatch {
        rooms: vec![hourly_write("a", 1.0), hourly_write("b", avg_b)],
    };
    store.write_batch(Arc::new(batch(2.0))).await.unwrap();
    for (tenant, avg) in [(&a, 1.0), (&b, 2.0)] {
        let hours = store
            .all_rollups(tenant, &room, Resolution::Hour, all)
            .await
            .unwrap();
        assert_eq!(hours.iter().map(|r| r.avg).collect::<Vec<_>>(), [avg]);
        assert_eq!(
            store.all_readings(tenant, &room, all).await.unwrap().len(),
            3
        );
    }

    // Make tenant b's part fail inside the transaction: tenant a's part must not stay either.
    let admin = database.client(tally_storage::testkit::SUPERUSER).await;
    admin
        .batch_execute("ALTER TABLE tally.rollups ADD CONSTRAINT small_avg CHECK (avg < 100)")
        .await
        .unwrap();
    let mut failing = batch(500.0);
    failing.rooms[0].rollups[0].bucket_start = 3_600_000;
    failing.rooms[0].readings[0].1.seq = 8;
    store.write_batch(Arc::new(failing)).await.unwrap_err();
    let hours = store
        .all_rollups(&a, &room, Resolution::Hour, all)
        .await
        .unwrap();
    assert_eq!(
        hours.len(),
        1,
        "tenant a's rollup of the failed batch is there"
    );
    assert_eq!(store.all_readings(&a, &room, all).await.unwrap().len(), 3);
}

#[tokio::test]
async fn erasure_audit_records_are_platform_data() {
    let (store, database) = two_tenants().await;
    let a = TenantId::new("a").unwrap();
    let report = store.erase_tenant(&a, "ops", now_ms()).await.unwrap();
    assert_eq!(store.erasure(&a).await.unwrap(), Some(report));
    let mut app = database.client(APP_ROLE).await;
    for tenant in [None, Some("a")] {
        assert_eq!(
            visible(&mut app, "tally.erasures", tenant).await,
            Err(SqlState::INSUFFICIENT_PRIVILEGE),
            "the runtime role reads audit records only through erasure()"
        );
    }
    for table in TABLES {
        let relation = format!("tally.{table}");
        assert_eq!(
            visible(&mut app, &relation, Some("a")).await.unwrap(),
            Vec::<String>::new(),
            "{table} still holds rows of the erased tenant"
        );
        assert!(
            !visible(&mut app, &relation, Some("b"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
