//! The cluster's failover test on the ScyllaDB backend: three `tally` processes sharing a
//! keyspace of a real Cassandra 5.0 node this test starts itself, one of them killed
//! (`kill -9`) under load, with the exact accounting of `cluster_kill9.rs` (every acknowledged
//! reading stored once, nothing resent stored twice, live counts the last stored ones).

mod support;

use support::cluster::{Cluster, SharedStoreServer, kill_9_of_one_of_three_under_load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_node_on_scylla_loses_no_acknowledged_reading_and_stores_none_twice() {
    let cluster = Cluster::start_on(SharedStoreServer::cassandra().await, 3).await;
    kill_9_of_one_of_three_under_load(cluster).await;
}
