//! A cluster node's routing, in process, against a real `redis-server` and the embedded store:
//! it activates only the offices placement gives it, each under a claim (lease, then token),
//! hands off those a new member takes (passivated, lease released), takes them back when that
//! member leaves, and drains to zero. The other member is registered in Redis but runs no
//! transport, so what it owns answers `unavailable` here (the multi-process tests cover
//! forwarding between live nodes).

use std::sync::Arc;

use tally_cluster::Node;
use tally_cluster::lease::LeaseManager;
use tally_cluster::membership::{MemberState, Membership};
use tally_cluster::placement::owner;
use tally_cluster::testkit::{AWAIT_LIMIT, RedisServer, fast_config, member};
use tally_config::Settings;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::conformance::support::{add_office, add_room, add_tenant, unique};
use tally_storage::{EmbeddedStore, SharedStore};
use tokio::sync::watch;

const REGION: &str = "eu";

/// Settings of cluster node `node-a` against `server`, with the test timings.
fn settings(server: &RedisServer, prefix: &str) -> Settings {
    let fast = fast_config(server, prefix);
    let mut settings = Settings::default();
    settings.node.node_id = "node-a".into();
    settings.node.region = REGION.into();
    let cluster = &mut settings.cluster;
    cluster.enabled = true;
    cluster.redis_url = Some(server.url());
    cluster.key_prefix = prefix.into();
    cluster.listen_addr = "127.0.0.1:0".parse().unwrap();
    cluster.http_advertise_addr = Some("127.0.0.1:1".into());
    cluster.cookie = Some("cluster-router-test-cookie".into());
    cluster.heartbeat_interval = fast.heartbeat_interval;
    cluster.heartbeat_ttl = fast.heartbeat_ttl;
    cluster.view_refresh_interval = fast.view_refresh_interval;
    cluster.lease_ttl = fast.lease_ttl;
    cluster.lease_renew_interval = fast.lease_renew_interval;
    cluster.redis_timeout = fast.redis_timeout;
    settings
}

async fn await_held(held: &mut watch::Receiver<usize>, expected: usize, what: &str) {
    let reached = tokio::time::timeout(AWAIT_LIMIT, held.wait_for(|held| *held == expected))
        .await
        .is_ok();
    assert!(
        reached,
        "{what}: holds {} offices, expected {expected}",
        *held.borrow()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_only_what_placement_gives_it_and_hands_the_rest_off() {
    let server = RedisServer::start().await.unwrap();
    let prefix = "router";
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let tenant = add_tenant(store.as_ref(), &unique("tenant")).await;
    let mut offices: Vec<(OfficeId, RoomId)> = Vec::new();
    for _ in 0..12 {
        let office = add_office(store.as_ref(), &tenant, &unique("office")).await;
        let room = add_room(store.as_ref(), &tenant, &office, &unique("room")).await;
        offices.push((office, room.id));
    }
    let node = Node::start(&settings(&server, prefix), store.clone())
        .await
        .unwrap();
    let cluster = node.cluster().expect("a cluster node");
    let router = node.router();
    let mut held = cluster.router().held();
    let coordination = fast_config(&server, prefix);
    let leases = LeaseManager::new(&coordination, "observer").unwrap();

    // Alone in its region, node-a owns every office: each is activated once, under a lease.
    // (`view` is the view node-a routes by.)
    let mut view = cluster.router().view();
    let _ = tokio::time::timeout(
        AWAIT_LIMIT,
        view.wait_for(|v| {
            v.member("node-a")
                .is_some_and(|m| m.state == MemberState::Active)
        }),
    )
    .await
    .expect("node-a turns active");
    for (office, room) in &offices {
        let handle = router.room(&tenant, office, room).await;
        assert!(handle.is_ok(), "{office}: {handle:?}");
        router.room(&tenant, office, room).await.unwrap();
    }
    await_held(&mut held, offices.len(), "alone").await;
    for (office, _) in &offices {
        let holder = leases.current_holder(&tenant, office).await.unwrap();
        assert!(holder.is_some_and(|h| h.starts_with("node-a/")), "{office}");
    }
    // Another tenant's office answers like a missing one, and nothing is claimed for it.
    let stranger = TenantId::new(unique("stranger")).unwrap();
    let refused = router.room(&stranger, &offices[0].0, &offices[0].1).await;
    assert!(
        matches!(refused, Err(ServiceError::NotFound { .. })),
        "{refused:?}"
    );

    // node-b joins the region: node-a hands off exactly the offices node-b now owns.
    let b = Membership::join(&coordination, member("node-b", REGION))
        .await
        .unwrap();
    b.set_state(MemberState::Active).await.unwrap();
    let view_ab = tokio::time::timeout(
        AWAIT_LIMIT,
        view.wait_for(|v| {
            v.member("node-b")
                .is_some_and(|m| m.state == MemberState::Active)
        }),
    )
    .await
    .unwrap()
    .unwrap()
    .clone();
    let owned_by = |id: &str| -> Vec<&(OfficeId, RoomId)> {
        offices
            .iter()
            .filter(|(office, _)| owner(&view_ab, REGION, &tenant, office).unwrap().id == id)
            .collect()
    };
    let (kept, moved) = (owned_by("node-a"), owned_by("node-b"));
    assert!(
        !kept.is_empty() && !moved.is_empty(),
        "12 offices split over two nodes"
    );
    await_held(&mut held, kept.len(), "after node-b joined").await;
    for (office, room) in &moved {
        // Released at once (not left to expire), and never activated here again.
        assert_eq!(leases.current_holder(&tenant, office).await.unwrap(), None);
        let forwarded = router.room(&tenant, office, room).await;
        assert!(
            matches!(&forwarded, Err(ServiceError::Unavailable(_))),
            "node-b runs no transport: {forwarded:?}"
        );
    }
    for (office, room) in &kept {
        router.room(&tenant, office, room).await.unwrap();
    }
    assert_eq!(
        *held.borrow(),
        kept.len(),
        "a request for a moved office claimed nothing"
    );

    // node-b leaves: its offices come back on their next request, each under a new claim.
    b.leave().await.unwrap();
    let _ = tokio::time::timeout(AWAIT_LIMIT, view.wait_for(|v| v.member("node-b").is_none()))
        .await
        .unwrap();
    for (office, room) in &moved {
        let handle = router.room(&tenant, office, room).await;
        assert!(handle.is_ok(), "{office}: {handle:?}");
    }
    await_held(&mut held, offices.len(), "after node-b left").await;

    // Drained: nothing held, every lease released, the member listed as draining.
    cluster.drain().await.unwrap();
    assert_eq!(*held.borrow(), 0);
    for (office, room) in &offices {
        assert_eq!(leases.current_holder(&tenant, office).await.unwrap(), None);
        let refused = router.room(&tenant, office, room).await;
        assert!(
            matches!(refused, Err(ServiceError::Unavailable(_))),
            "{refused:?}"
        );
    }
    let status = cluster.status().await.unwrap();
    let me = status
        .cluster
        .members
        .iter()
        .find(|m| m.member.id == "node-a")
        .unwrap();
    assert_eq!(me.member.state, MemberState::Draining);

    drop(router);
    node.shutdown().await;
    assert_eq!(node.live_actors(), 0, "every actor stopped");
    let left = tally_cluster::membership::cluster_status(&coordination)
        .await
        .unwrap();
    assert!(
        left.members.iter().all(|m| m.member.id != "node-a"),
        "node-a left"
    );
}
