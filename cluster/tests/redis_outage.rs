//! Redis killed (`SIGKILL`, no persistence) and restarted under a running cluster: members keep
//! their last view and report Redis unavailable, declare nobody dead, re-register when it is
//! back, and the view converges at a higher epoch; held leases stay held until their local
//! deadline, then are reported lost.

use std::sync::{Arc, Mutex};

use tally_cluster::lease::{LeaseLost, LeaseManager, Renewal};
use tally_cluster::membership::{ClusterView, MemberState, Membership, cluster_status};
use tally_cluster::testkit::{
    AWAIT_LIMIT, RedisServer, await_lost, await_view, fast_config, member,
};
use tally_protocol::{OfficeId, TenantId};
use tokio::sync::watch;
use tokio::time::Instant;

/// Waits until `redis_up` is `up`.
async fn await_redis(redis_up: &mut watch::Receiver<bool>, up: bool) {
    tokio::time::timeout(AWAIT_LIMIT, redis_up.wait_for(|now| *now == up))
        .await
        .unwrap_or_else(|_| panic!("redis_up never became {up}"))
        .unwrap();
}

/// Records every view a watcher publishes.
fn record_views(mut view: watch::Receiver<ClusterView>) -> Arc<Mutex<Vec<ClusterView>>> {
    let seen = Arc::new(Mutex::new(vec![view.borrow().clone()]));
    let sink = seen.clone();
    tokio::spawn(async move {
        while view.changed().await.is_ok() {
            let current = view.borrow_and_update().clone();
            sink.lock().unwrap().push(current);
        }
    });
    seen
}

#[tokio::test]
async fn members_keep_their_view_through_a_redis_restart_and_converge_after_it() {
    let mut server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "outage");
    let a = Membership::join(&config, member("node-a", "eu"))
        .await
        .unwrap();
    let b = Membership::join(&config, member("node-b", "eu"))
        .await
        .unwrap();
    for m in [&a, &b] {
        m.set_state(MemberState::Active).await.unwrap();
    }
    let before = cluster_status(&config).await.unwrap().epoch;
    for m in [&a, &b] {
        await_view(&mut m.view(), "both active", |v| v.epoch == before).await;
    }
    let views_of_a = record_views(a.view());

    server.kill();
    await_redis(&mut a.redis_up(), false).await;
    await_redis(&mut b.redis_up(), false).await;
    // Observe for longer than a heartbeat TTL: nobody may be declared dead meanwhile.
    tokio::time::sleep(2 * config.heartbeat_ttl).await;
    for m in [&a, &b] {
        let view = m.view().borrow().clone();
        assert_eq!(view.epoch, before);
        assert_eq!(view.members.len(), 2);
    }

    server.restart().await.unwrap();
    await_redis(&mut a.redis_up(), true).await;
    // The heartbeats re-create both records in the empty Redis, above the old epoch.
    for m in [&a, &b] {
        let view = await_view(&mut m.view(), "both re-registered", |v| v.epoch > before).await;
        assert_eq!(view.members.len(), 2, "{view:?}");
        assert!(
            view.members
                .values()
                .all(|m| m.state == MemberState::Active)
        );
    }
    let status = cluster_status(&config).await.unwrap();
    assert!(status.epoch > before);
    assert_eq!(status.members.len(), 2);

    // At no moment did node-a's view lose a member.
    let seen = views_of_a.lock().unwrap().clone();
    assert!(seen.iter().all(|v| v.members.len() == 2), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].epoch <= w[1].epoch),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_held_lease_stays_held_until_its_local_deadline_while_redis_is_down() {
    let mut server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "outage");
    let leases = LeaseManager::new(&config, "node-a").unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let (hq, annex) = (
        OfficeId::new("hq").unwrap(),
        OfficeId::new("annex").unwrap(),
    );
    let mut by_hand = leases.try_acquire(&tenant, &hq).await.unwrap().unwrap();
    let background = leases
        .try_acquire(&tenant, &annex)
        .await
        .unwrap()
        .unwrap()
        .keep_renewed();

    server.kill();
    let renewal = by_hand.renew().await;
    if Instant::now() < by_hand.valid_until() {
        assert_eq!(renewal, Renewal::Unconfirmed);
    }
    // No new lease without Redis.
    assert!(
        leases
            .try_acquire(&tenant, &OfficeId::new("new").unwrap())
            .await
            .is_err()
    );

    tokio::time::sleep_until(by_hand.valid_until()).await;
    assert_eq!(by_hand.renew().await, Renewal::Lost(LeaseLost::Expired));
    assert_eq!(await_lost(&background).await, LeaseLost::Expired);
}
