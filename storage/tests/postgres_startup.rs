//! Start-up of the PostgreSQL store: concurrent migrations, role checks, the single-role mode,
//! partitions and error classification.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tally_storage::{
    Office, PostgresConfig, PostgresStore, RoomState, RoomWrite, Store, StoreError, StoredReading,
    Tenant, WriteBatch,
    testkit::{OWNER_ROLE, PostgresServer, SUPERUSER},
};

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: TenantId::new(id).unwrap(),
        name: id.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_starts_on_a_fresh_database_migrate_once() {
    let database = PostgresServer::shared().await.create_database().await;
    let config = database.config();
    let (first, second, third) = tokio::join!(
        PostgresStore::connect(&config),
        PostgresStore::connect(&config),
        PostgresStore::connect(&config)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    third.unwrap();
    first.create_tenant(&tenant("t")).await.unwrap();
    assert_eq!(second.tenants().await.unwrap(), vec![tenant("t")]);

    let owner = database.client(OWNER_ROLE).await;
    let versions: Vec<i32> = owner
        .query(
            "SELECT version FROM tally.schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8]);
    // A restart finds everything in place.
    PostgresStore::connect(&config).await.unwrap();
}

#[tokio::test]
async fn a_role_that_bypasses_rls_is_refused() {
    let database = PostgresServer::shared().await.create_database().await;
    // Over TCP with a password, as a deployment connects.
    let config = PostgresConfig {
        url: database.tcp_url(SUPERUSER),
        migrate_url: Some(database.tcp_url(OWNER_ROLE)),
        ..database.config()
    };
    let error = PostgresStore::connect(&config).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Backend(m) if m.contains("bypasses row-level security")),
        "{error}"
    );
}

#[tokio::test]
async fn one_role_for_everything_still_isolates_tenant_rows() {
    let database = PostgresServer::shared().await.create_database().await;
    let store = PostgresStore::connect(&PostgresConfig::new(database.url(OWNER_ROLE)))
        .await
        .unwrap();
    store.create_tenant(&tenant("a")).await.unwrap();
    let office = Office {
        tenant: TenantId::new("a").unwrap(),
        id: OfficeId::new("hq").unwrap(),
        name: "HQ".into(),
    };
    store.create_office(&office).await.unwrap();
    assert_eq!(store.offices(&office.tenant).await.unwrap(), vec![office]);
    // The owner is held to the policies (FORCE ROW LEVEL SECURITY).
    let owner = database.client(OWNER_ROLE).await;
    let rows = owner
        .query("SELECT * FROM tally.offices", &[])
        .await
        .unwrap();
    assert!(
        rows.is_empty(),
        "the owner read offices without a tenant set"
    );
}

#[tokio::test]
async fn readings_land_in_day_partitions_or_the_default_one() {
    let database = PostgresServer::shared().await.create_database().await;
    let store = PostgresStore::connect(&database.config()).await.unwrap();
    store.create_tenant(&tenant("a")).await.unwrap();
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let day = 86_400_000;
    let times = [
        i64::MIN,
        0,
        now - 400 * day,
        now - 3 * day,
        now,
        now + 2 * day,
    ];
    let sensor = SensorId::new("s").unwrap();
    let readings = times
        .iter()
        .zip(1..)
        .map(|(&ts, seq)| {
            let reading = StoredReading {
                seq,
                ts,
                count: 1,
                received_at: now,
            };
            (sensor.clone(), reading)
        })
        .collect();
    let write = RoomWrite {
        tenant: TenantId::new("a").unwrap(),
        office: OfficeId::new("o").unwrap(),
        room: RoomId::new("r").unwrap(),
        owner_token: 0,
        readings,
        state: RoomState::default(),
        rollups: vec![],
    };
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();

    let owner = database.client(OWNER_ROLE).await;
    owner
        .batch_execute("BEGIN; SELECT set_config('app.tenant', 'a', true)")
        .await
        .unwrap();
    let rows = owner
        .query(
            "SELECT ts, tableoid::regclass::text FROM tally.readings ORDER BY ts",
            &[],
        )
        .await
        .unwrap();
    let placed: Vec<(i64, String)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(placed.iter().map(|p| p.0).collect::<Vec<_>>(), times);
    let names: Vec<&str> = placed.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(&names[..3], ["tally.readings_default"; 3], "{placed:?}");
    for name in &names[3..] {
        assert!(name.starts_with("tally.readings_p"), "{placed:?}");
    }
    // Created ahead of time: today's and the next days' partitions exist.
    let ahead = owner
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'tally.readings'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert!(
        ahead >= 9,
        "only {ahead} partitions (default, yesterday, today and 7 ahead)"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = PostgresConfig {
        connect_timeout: std::time::Duration::from_secs(2),
        ..PostgresConfig::new(format!("postgres://nobody@127.0.0.1:{port}/none"))
    };
    let error = PostgresStore::connect(&config).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn a_stopped_server_is_a_retryable_error() {
    let server = PostgresServer::start().await.unwrap();
    let database = server.create_database().await;
    let store = PostgresStore::connect(&database.config()).await.unwrap();
    store.create_tenant(&tenant("a")).await.unwrap();
    drop(server);
    let error = store.tenants().await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let error = store.create_tenant(&tenant("b")).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
}
