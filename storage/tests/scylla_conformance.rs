//! The conformance suite against [`ScyllaStore`] on a real Apache Cassandra 5.0 node this test
//! binary starts itself: every behaviour on its own session over one shared keyspace (the
//! behaviours use fresh ids), several sessions migrating it at once as nodes starting together
//! would, plus every behaviour in sequence on one store.

use tally_storage::{ScyllaStore, conformance::Fixture, testkit::CassandraNode};

/// The keyspace every test of this binary shares.
const KEYSPACE: &str = "tally_conformance";

/// A store on the shared node and keyspace (connected and migrated by each test).
async fn fresh_store() -> Fixture {
    let node = CassandraNode::shared().await;
    match ScyllaStore::connect(&node.config(KEYSPACE)).await {
        Ok(store) => Fixture::new(store),
        Err(error) => panic!(
            "cannot connect to the test Cassandra node: {error}\nnode log:\n{}",
            node.log_tail(40)
        ),
    }
}

tally_storage::conformance_tests!(fresh_store);

#[tokio::test(flavor = "multi_thread")]
async fn all_behaviours_share_one_store() {
    let fixture = fresh_store().await;
    tally_storage::conformance::run_all(fixture.store()).await;
}
