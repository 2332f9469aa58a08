//! PostgreSQL stopped under load is a node fault, not a tenant fault: sensors are refused (never
//! acknowledged for what was not written), `/readyz` says not ready, no tenant is quarantined,
//! and once PostgreSQL is back the node serves again with nothing acknowledged lost (the
//! scenario is `support/outage.rs`).

mod support;

use std::sync::Arc;

use support::{outage, postgres_env};
use tally_storage::testkit::PostgresServer;
use tally_storage::{PostgresStore, SharedStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_under_load_is_a_node_fault_and_loses_nothing_acknowledged() {
    let server = Arc::new(PostgresServer::start().await.unwrap());
    let db = server.create_database().await;
    let mut env = postgres_env(&db);
    env.push((
        "TALLY_STORAGE__POSTGRES__CONNECT_TIMEOUT".into(),
        "1s".into(),
    ));
    outage::store_outage_under_load(
        env,
        async || {
            let stopping = server.clone();
            tokio::task::spawn_blocking(move || stopping.stop_keeping_data())
                .await
                .unwrap();
        },
        async || server.restart().await.unwrap(),
        async || {
            let store: SharedStore = Arc::new(PostgresStore::connect(&db.config()).await.unwrap());
            store
        },
    )
    .await;
}
