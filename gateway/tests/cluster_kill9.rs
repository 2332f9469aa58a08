//! `kill -9` one of three nodes under load on PostgreSQL: its offices move to the survivors, the
//! sensors reconnect to another node and resend after `welcome.last_seq`, and afterwards the
//! stored readings are exactly what the sensors had acknowledged plus what they resent (no loss,
//! no duplicate), and the live counts are the last stored ones. `scylla_cluster_kill9.rs` runs
//! the same on the ScyllaDB backend.

mod support;

use support::cluster::{Cluster, kill_9_of_one_of_three_under_load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_node_under_load_loses_no_acknowledged_reading_and_stores_none_twice() {
    kill_9_of_one_of_three_under_load(Cluster::start(3).await).await;
}
