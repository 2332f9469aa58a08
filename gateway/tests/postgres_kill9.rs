//! Acknowledged ⇒ durable on PostgreSQL: the kill -9 scenario of `durability_kill9.rs` with the
//! node on a PostgreSQL server the test starts itself; the store is read back through
//! `PostgresStore`, as the runtime role (row-level security applies).

mod support;

use std::sync::Arc;

use support::{ChildNode, durability, postgres_env, temp_dir};
use tally_storage::testkit::PostgresServer;
use tally_storage::{PostgresStore, SharedStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_readings_survive_kill_9_on_postgres_and_replay_is_exactly_once() {
    let server = PostgresServer::start().await.unwrap();
    let db = server.create_database().await;
    let env = postgres_env(&db);
    let (_dir, data) = temp_dir();
    durability::acknowledged_readings_survive_kill_9(
        || ChildNode::start_with(&data, &env),
        async || {
            let store: SharedStore = Arc::new(PostgresStore::connect(&db.config()).await.unwrap());
            store
        },
    )
    .await;
}
