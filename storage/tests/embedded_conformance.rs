//! The conformance suite against [`EmbeddedStore`], one fresh store in a temporary directory per
//! behaviour, plus every behaviour in sequence on one shared store.

use tally_storage::{EmbeddedStore, conformance::Fixture};

/// A store in a temporary directory that is removed after the store is dropped.
fn temp_store() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    Fixture::with_guard(store, dir)
}

tally_storage::conformance_tests!(|| async { temp_store() });

#[tokio::test(flavor = "multi_thread")]
async fn all_behaviours_share_one_store() {
    let fixture = temp_store();
    tally_storage::conformance::run_all(fixture.store()).await;
}
