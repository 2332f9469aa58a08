//! Acknowledged ⇒ durable on ScyllaDB: the kill -9 scenario of `durability_kill9.rs` with the
//! node on a real Cassandra 5.0 node the test starts itself (the same CQL through the same
//! driver); the store is read back through `ScyllaStore`.

mod support;

use std::sync::Arc;

use support::{ChildNode, durability, scylla_env, temp_dir};
use tally_storage::testkit::CassandraNode;
use tally_storage::{ScyllaStore, SharedStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_readings_survive_kill_9_on_scylla_and_replay_is_exactly_once() {
    let node = CassandraNode::shared().await;
    let keyspace = node.fresh_keyspace();
    let env = scylla_env(node, &keyspace);
    let (_dir, data) = temp_dir();
    durability::acknowledged_readings_survive_kill_9(
        || ChildNode::start_with(&data, &env),
        async || {
            let store: SharedStore =
                Arc::new(ScyllaStore::connect(&node.config(&keyspace)).await.unwrap());
            store
        },
    )
    .await;
}
