//! A cluster node whose office is fenced off by a newer owner token (as after a stall past its
//! lease, when another node claimed the office) stops acknowledging for it, forgets it and
//! releases its lease; a later request claims it again under a still newer token (real
//! `redis-server`, embedded store).

use std::sync::Arc;

use tally_cluster::Node;
use tally_cluster::lease::LeaseManager;
use tally_cluster::testkit::{RedisServer, fast_config};
use tally_protocol::{SensorId, ServiceError, now_ms};
use tally_storage::conformance::support::{add_office, add_room, add_tenant, unique};
use tally_storage::{EmbeddedStore, SharedStore};

mod support;

use support::cluster::{await_held, cluster_settings};
use support::readings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_office_is_forgotten_and_claimed_again() {
    let server = RedisServer::start().await.unwrap();
    let prefix = "fenced";
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let tenant = add_tenant(store.as_ref(), &unique("tenant")).await;
    let office = add_office(store.as_ref(), &tenant, &unique("office")).await;
    let room = add_room(store.as_ref(), &tenant, &office, &unique("room"))
        .await
        .id;
    let node = Node::start(&cluster_settings(&server, prefix), store.clone())
        .await
        .unwrap();
    let mut held = node.cluster().unwrap().router().held();
    let router = node.router();
    let sensor = SensorId::new("s-1").unwrap();
    let handle = router.room(&tenant, &office, &room).await.unwrap();
    let first = handle.send(sensor.clone(), readings(1, 1, 2), now_ms());
    assert_eq!(first.unwrap().durable().await.unwrap(), 1);
    await_held(&mut held, 1, "claimed").await;

    // Another owner takes a newer token: this node's next write is rejected by the store.
    let newer = store.acquire_office(&tenant, &office).await.unwrap();
    let fenced = match handle.send(sensor.clone(), readings(2, 1, 3), now_ms()) {
        Ok(pending) => pending.durable().await,
        Err(err) => Err(err),
    };
    assert!(
        matches!(fenced, Err(ServiceError::Unavailable(_))),
        "{fenced:?}"
    );
    await_held(&mut held, 0, "the fenced office is forgotten").await;
    let leases = LeaseManager::new(&fast_config(&server, prefix), "observer").unwrap();
    assert_eq!(
        leases.current_holder(&tenant, &office).await.unwrap(),
        None,
        "lease released"
    );

    // The next request claims it again, above the newer token, and reading 2 lands once.
    let again = router.room(&tenant, &office, &room).await.unwrap();
    let resent = again.send(sensor.clone(), readings(2, 1, 3), now_ms());
    assert_eq!(resent.unwrap().durable().await.unwrap(), 2);
    await_held(&mut held, 1, "claimed again").await;
    let token = store.acquire_office(&tenant, &office).await.unwrap();
    assert!(
        token > newer + 1,
        "the reclaim took a token above {newer} (the next one minted is {token})"
    );

    drop((handle, again, router));
    node.shutdown().await;
    assert_eq!(node.live_actors(), 0, "every actor stopped");
}
