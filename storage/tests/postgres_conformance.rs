//! The conformance suite against [`PostgresStore`] on a PostgreSQL server this test binary starts
//! itself: one fresh database per behaviour, plus every behaviour in sequence on one store.

use tally_storage::{PostgresStore, conformance::Fixture, testkit::PostgresServer};

/// A store on a fresh database of the shared server, connected as the runtime role.
async fn fresh_store() -> Fixture {
    let database = PostgresServer::shared().await.create_database().await;
    let store = PostgresStore::connect(&database.config()).await.unwrap();
    Fixture::with_guard(store, database)
}

tally_storage::conformance_tests!(fresh_store);

#[tokio::test(flavor = "multi_thread")]
async fn all_behaviours_share_one_store() {
    let fixture = fresh_store().await;
    tally_storage::conformance::run_all(fixture.store()).await;
}
