//! A ScyllaDB node that stops answering under load (the test's Cassandra node `SIGSTOP`ped) is a
//! node fault, not a tenant fault: sensors are refused, never acknowledged for what was not
//! written, `/readyz` says not ready, no tenant is quarantined, and after `SIGCONT` the node
//! serves again with nothing acknowledged lost (the scenario is `support/outage.rs`).

mod support;

use std::sync::Arc;

use support::{outage, scylla_env};
use tally_storage::testkit::CassandraNode;
use tally_storage::{ScyllaStore, SharedStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scylla_outage_under_load_is_a_node_fault_and_loses_nothing_acknowledged() {
    let node = CassandraNode::shared().await;
    let keyspace = node.fresh_keyspace();
    let mut env = scylla_env(node, &keyspace);
    env.push(("TALLY_STORAGE__SCYLLA__REQUEST_TIMEOUT".into(), "1s".into()));
    outage::store_outage_under_load(
        env,
        async || node.pause(),
        async || node.resume(),
        async || {
            let store: SharedStore =
                Arc::new(ScyllaStore::connect(&node.config(&keyspace)).await.unwrap());
            store
        },
    )
    .await;
}
