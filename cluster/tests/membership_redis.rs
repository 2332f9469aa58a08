//! Membership against a real `redis-server` started by the test: joining, state changes,
//! expiry of a member that stops heartbeating, graceful leave, and the operator's status.

use tally_cluster::membership::{ClusterView, MemberState, Membership, cluster_status};
use tally_cluster::testkit::{RedisServer, await_view, fast_config, member, states};
use tally_protocol::{OfficeId, TenantId};

fn all_active(view: &ClusterView, ids: &[&str]) -> bool {
    view.members.len() == ids.len()
        && ids.iter().all(|id| {
            view.member(id)
                .is_some_and(|m| m.state == MemberState::Active)
        })
}

/// Three members joined and active, with their views converged.
async fn three_active(server: &RedisServer, prefix: &str) -> [Membership; 3] {
    let config = fast_config(server, prefix);
    let mut joined = Vec::new();
    for id in ["node-a", "node-b", "node-c"] {
        let membership = Membership::join(&config, member(id, "eu")).await.unwrap();
        membership.set_state(MemberState::Active).await.unwrap();
        joined.push(membership);
    }
    let epoch = cluster_status(&config).await.unwrap().epoch;
    for membership in &joined {
        await_view(
            &mut membership.view(),
            "all three active at the last epoch",
            |v| v.epoch == epoch && all_active(v, &["node-a", "node-b", "node-c"]),
        )
        .await;
    }
    joined.try_into().unwrap()
}

#[tokio::test]
async fn joining_members_are_seen_by_every_watcher_at_the_same_epoch() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "join");
    let [a, b, c] = three_active(&server, "join").await;

    let status = cluster_status(&config).await.unwrap();
    let views: Vec<ClusterView> = [&a, &b, &c].map(|m| m.view().borrow().clone()).into();
    assert!(views.iter().all(|v| *v == views[0]), "{views:?}");
    // Three joins and three state changes, each raising the epoch once.
    assert_eq!(status.epoch, 6);
    let listed: Vec<_> = status
        .members
        .iter()
        .map(|s| (s.member.id.as_str(), s.member.state, s.heartbeating))
        .collect();
    assert_eq!(
        listed,
        [
            ("node-a", MemberState::Active, true),
            ("node-b", MemberState::Active, true),
            ("node-c", MemberState::Active, true)
        ]
    );
    assert_eq!(
        status.members[1].member,
        *views[0].member("node-b").unwrap()
    );
    assert_eq!(status.members[1].member.http_addr, "node-b.test:8080");
}

#[tokio::test]
async fn a_member_that_stops_heartbeating_is_expired_by_the_others() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "expiry");
    let [a, b, c] = three_active(&server, "expiry").await;
    let before = a.view().borrow().epoch;

    // Like kill -9: no deregistration, the heartbeat just stops.
    drop(c);
    let mut redis = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for survivor in [&a, &b] {
        let view = await_view(&mut survivor.view(), "node-c expired", |v| {
            v.member("node-c").is_none()
        })
        .await;
        // Removed only once its heartbeat key had expired in Redis: a member whose heartbeat
        // is alive is never expired (keys do not come back, so the check cannot pass by luck
        // of timing the other way round).
        let alive: bool = redis::cmd("EXISTS")
            .arg(format!("{}:alive:node-c", config.key_prefix))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(!alive, "node-c was expired while its heartbeat key existed");
        assert_eq!(
            states(&view),
            [
                ("node-a".to_string(), MemberState::Active),
                ("node-b".to_string(), MemberState::Active)
            ]
        );
        assert!(view.epoch > before);
    }
    let epochs = [a.view().borrow().epoch, b.view().borrow().epoch];
    let status = cluster_status(&config).await.unwrap();
    assert_eq!(epochs, [status.epoch; 2]);
}

#[tokio::test]
async fn a_draining_member_stays_listed_but_is_no_placement_target_and_leaving_removes_it() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "drain");
    let [a, b, c] = three_active(&server, "drain").await;
    let tenant = TenantId::new("acme").unwrap();
    let offices: Vec<OfficeId> = (0..60)
        .map(|i| OfficeId::new(format!("office-{i}")).unwrap())
        .collect();
    let owners = |view: &ClusterView| -> Vec<String> {
        offices
            .iter()
            .map(|office| {
                tally_cluster::placement::owner(view, "eu", &tenant, office)
                    .unwrap()
                    .id
                    .clone()
            })
            .collect()
    };
    assert!(owners(&a.view().borrow()).iter().any(|o| o == "node-c"));

    c.set_state(MemberState::Draining).await.unwrap();
    let draining = await_view(&mut a.view(), "node-c draining", |v| {
        v.member("node-c")
            .is_some_and(|m| m.state == MemberState::Draining)
    })
    .await;
    assert_eq!(draining.members.len(), 3);
    assert!(!owners(&draining).iter().any(|o| o == "node-c"));

    c.leave().await.unwrap();
    // Gone from Redis as soon as leave returns, not after a heartbeat TTL.
    let status = cluster_status(&config).await.unwrap();
    assert!(status.members.iter().all(|s| s.member.id != "node-c"));
    for survivor in [&a, &b] {
        let view = await_view(&mut survivor.view(), "node-c gone", |v| {
            v.epoch == status.epoch
        })
        .await;
        assert!(all_active(&view, &["node-a", "node-b"]), "{view:?}");
        assert_eq!(owners(&view), owners(&draining));
    }
}

#[tokio::test]
async fn status_lists_a_silent_member_as_not_heartbeating_without_removing_it() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "status");
    let lone = Membership::join(&config, member("node-a", "eu"))
        .await
        .unwrap();
    drop(lone);
    // Nobody watches this cluster any more, so nobody expires the member: status must still
    // list it, as not heartbeating, once its heartbeat key is gone.
    loop {
        let status = cluster_status(&config).await.unwrap();
        assert_eq!(status.members.len(), 1);
        assert_eq!(status.members[0].member.state, MemberState::Joining);
        if !status.members[0].heartbeating {
            break;
        }
        // Key expiry in Redis has no event to await; poll the status.
        tokio::time::sleep(config.heartbeat_interval).await;
    }
}

#[tokio::test]
async fn a_member_publishes_the_offices_it_holds_without_raising_the_epoch() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "offices");
    let node = Membership::join(&config, member("node-a", "eu"))
        .await
        .unwrap();
    let before = cluster_status(&config).await.unwrap();
    assert_eq!(before.members[0].offices_held, None, "no count yet");

    node.set_offices_held(4);
    let status = loop {
        let status = cluster_status(&config).await.unwrap();
        if status.members[0].offices_held == Some(4) {
            break status;
        }
        // The count is written by the heartbeat task; its write has no event to await here.
        tokio::time::sleep(config.heartbeat_interval / 4).await;
    };
    assert_eq!(
        status.epoch, before.epoch,
        "a count is not a membership change"
    );
    assert!(status.to_string().lines().nth(2).unwrap().contains(" 4 ok"));

    // A state change rewrites the record; the count stays in it.
    node.set_state(MemberState::Active).await.unwrap();
    let status = cluster_status(&config).await.unwrap();
    assert_eq!(status.members[0].offices_held, Some(4));
    assert!(status.epoch > before.epoch);
    node.leave().await.unwrap();
}
