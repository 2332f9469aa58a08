//! A cluster node keeps a tenant's rollups advancing while only an office that is not the
//! tenant's anchor is asked for: that office's finaliser calls for the anchor, the cluster
//! router claims it where placement puts it (here: the only node) and activates it under its
//! lease and store token, and the anchor's finaliser moves the tenant's stored frontier past the
//! other office's reading (real `redis-server`, embedded store, one in-process node).

use std::sync::Arc;
use std::time::Duration;

use tally_cluster::Node;
use tally_cluster::lease::LeaseManager;
use tally_cluster::membership::MemberState;
use tally_cluster::testkit::{RedisServer, fast_config};
use tally_protocol::{Reading, SensorId, now_ms};
use tally_storage::conformance::support::{add_office, add_room, add_tenant, unique};
use tally_storage::testkit::await_area_frontier_past;
use tally_storage::{EmbeddedStore, RollupArea, SharedStore};

mod support;

use support::cluster::cluster_settings;

const MIN: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_activates_the_anchor_office_so_tenant_rollups_advance() {
    let server = RedisServer::start().await.unwrap();
    let prefix = "anchor";
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let tenant = add_tenant(store.as_ref(), &unique("tenant")).await;
    // `a` is the anchor (the smallest office id with rooms); only `b` is ever asked for.
    let anchor = add_office(store.as_ref(), &tenant, "a").await;
    let other = add_office(store.as_ref(), &tenant, "b").await;
    add_room(store.as_ref(), &tenant, &anchor, "ra").await;
    let room = add_room(store.as_ref(), &tenant, &other, "rb").await.id;
    // A short lateness, so that `rb`, quiet after its reading, seals its frontier past it
    // within seconds; finalisers step (and call for the anchor) every 100 ms.
    let mut settings = cluster_settings(&server, prefix);
    settings.rollup.lateness = Duration::from_secs(2);
    settings.rollup.finalise_every = Duration::from_millis(100);
    let node = Node::start(&settings, store.clone()).await.unwrap();
    let cluster = node.cluster().expect("a cluster node");
    let mut view = cluster.router().view();
    view.wait_for(|v| {
        v.member("node-a")
            .is_some_and(|m| m.state == MemberState::Active)
    })
    .await
    .unwrap();
    let mut held = cluster.router().held();
    let router = node.router();

    // `rb` hears 2 people three minutes ago, 30 s into a minute.
    let handle = router.room(&tenant, &other, &room).await.unwrap();
    let minute = (now_ms() - 3 * MIN) / MIN * MIN;
    let at = minute + 30_000;
    let reading = Reading {
        seq: 1,
        ts: at,
        count: 2,
    };
    let acked = handle.send(SensorId::new("s").unwrap(), vec![reading], now_ms());
    assert_eq!(acked.unwrap().durable().await.unwrap(), 1);

    // The anchor is claimed and activated here though nothing asked for it: two offices held,
    // the anchor's lease this node's.
    held.wait_for(|held| *held == 2).await.unwrap();
    let leases = LeaseManager::new(&fast_config(&server, prefix), "observer").unwrap();
    let holder = leases.current_holder(&tenant, &anchor).await.unwrap();
    assert!(holder.is_some_and(|h| h.starts_with("node-a/")));

    // The anchor's finaliser passes the reading, however long it takes (the run's own bound
    // fails a test that never sees it).
    let area = RollupArea::Tenant;
    let frontier = await_area_frontier_past(store.as_ref(), &tenant, &area, at).await;
    assert!(
        frontier.from <= minute,
        "{frontier:?} starts after {minute}"
    );

    drop((handle, router));
    node.shutdown().await;
    assert_eq!(node.live_actors(), 0, "every actor stopped");
}
