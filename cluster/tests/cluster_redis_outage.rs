//! A Redis outage does not stop a cluster node from serving the offices it holds: their leases
//! run out locally while Redis is down, yet they keep acknowledging durable readings under
//! their store tokens; no office is activated until Redis is back; then the node takes the
//! leases again (real `redis-server`, killed and restarted empty; embedded store).

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tally_cluster::Node;
use tally_cluster::lease::LeaseManager;
use tally_cluster::testkit::{RedisServer, fast_config};
use tally_protocol::{SensorId, ServiceError, now_ms};
use tally_storage::conformance::support::{add_office, add_room, add_tenant, unique};
use tally_storage::{EmbeddedStore, SharedStore};

mod support;

use support::cluster::{await_held, cluster_settings};
use support::{metrics, readings};

/// The value of counter `name{labels}` in `handle`'s rendering, 0 if absent.
fn counter(handle: &PrometheusHandle, name_and_labels: &str) -> f64 {
    handle
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Checks `condition` every 20 ms until it holds (what it waits for has no event to await),
/// logging `what` it waits for; a condition that never holds hangs the test, and the run's time
/// limit fails it.
async fn await_true(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    tracing::debug!(what, "waiting");
    while !condition().await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_offices_keep_acknowledging_through_a_redis_outage() {
    let metrics = metrics();
    let mut server = RedisServer::start().await.unwrap();
    let prefix = "outage";
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let tenant = add_tenant(store.as_ref(), &unique("tenant")).await;
    let mut rooms = Vec::new();
    for _ in 0..4 {
        let office = add_office(store.as_ref(), &tenant, &unique("office")).await;
        let room = add_room(store.as_ref(), &tenant, &office, &unique("room")).await;
        rooms.push((office, room.id));
    }
    let (idle_office, idle_room) = rooms.pop().unwrap();
    let node = Node::start(&cluster_settings(&server, prefix), store.clone())
        .await
        .unwrap();
    let cluster = node.cluster().unwrap();
    let mut held = cluster.router().held();
    let router = node.router();
    let sensor = SensorId::new("s-1").unwrap();
    let mut handles = Vec::new();
    for (office, room) in &rooms {
        let handle = router.room(&tenant, office, room).await.unwrap();
        let acked = handle.send(sensor.clone(), readings(1, 1, 2), now_ms());
        assert_eq!(acked.unwrap().durable().await.unwrap(), 1);
        handles.push(handle);
    }
    await_held(&mut held, rooms.len(), "before the outage").await;

    // Redis goes away for longer than a lease: every held lease runs out locally.
    let expired = "tally_cluster_leases_lost_total{reason=\"expired\"}";
    let before = counter(metrics, expired);
    server.kill();
    let wanted = before + rooms.len() as f64;
    await_true("every lease runs out while redis is down", async || {
        counter(metrics, expired) >= wanted
    })
    .await;

    // Still held, still acknowledging durably; nothing new is activated.
    assert_eq!(*held.borrow(), rooms.len(), "nothing was passivated");
    for handle in &handles {
        let acked = handle.send(sensor.clone(), readings(2, 1, 3), now_ms());
        assert_eq!(acked.unwrap().durable().await.unwrap(), 2);
    }
    let refused = router.room(&tenant, &idle_office, &idle_room).await;
    assert!(
        matches!(refused, Err(ServiceError::Unavailable(_))),
        "{refused:?}"
    );

    // Redis is back (empty): the node takes its leases again and activates again.
    server.restart().await.unwrap();
    let leases = LeaseManager::new(&fast_config(&server, prefix), "observer").unwrap();
    for (office, _) in &rooms {
        await_true("the lease is taken again", async || {
            leases
                .current_holder(&tenant, office)
                .await
                .is_ok_and(|holder| holder.is_some_and(|h| h.starts_with("node-a/")))
        })
        .await;
    }
    await_true("a new office is activated again", async || {
        router.room(&tenant, &idle_office, &idle_room).await.is_ok()
    })
    .await;
    assert_eq!(*held.borrow(), rooms.len() + 1);

    drop((handles, router));
    node.shutdown().await;
    assert_eq!(node.live_actors(), 0, "every actor stopped");
}
