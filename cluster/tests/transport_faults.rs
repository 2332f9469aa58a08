//! The transport when peers misbehave: a peer of another protocol version is refused; a peer
//! that hangs (`kill -STOP`) is noticed by the heartbeat, which fails pending calls at once;
//! a peer that comes back (resumed, or restarted after `kill -9`) is dialed again; a paused
//! peer is sent at most the bound of unconfirmed bytes, then refused clearly until it catches up.

mod support;

use std::time::Duration;

use tally_cluster::{DisplayStream, PROTOCOL_VERSION};
use tally_protocol::{SensorId, ServiceError, now_ms};

use support::{PATIENCE, TwoNodes, metrics, readings};

/// Reads `stream` until it ends; panics if it stays open.
async fn until_closed(stream: &mut DisplayStream) {
    tokio::time::timeout(PATIENCE, async { while stream.next().await.is_some() {} })
        .await
        .expect("the display stream ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_of_another_protocol_version_is_refused() {
    let metrics = metrics();
    let newer = PROTOCOL_VERSION + 1;
    let mut nodes = TwoNodes::start(1, newer, |_| {}).await;

    let mut refused = nodes.a.transport.refused();
    let reasons = tokio::time::timeout(PATIENCE, refused.wait_for(|r| r.contains_key("b")))
        .await
        .expect("b is refused in time")
        .unwrap()
        .clone();
    assert!(
        reasons["b"].contains(&format!("protocol version {newer}")),
        "{reasons:?}"
    );
    // The other side says so too, in its log.
    nodes
        .owner
        .wait_log(&format!(
            "speaks inter-node protocol version {PROTOCOL_VERSION}, this node speaks {newer}"
        ))
        .await;
    assert!(nodes.a.transport.linked().borrow().is_empty());
    let rendered = metrics.render();
    assert!(
        rendered.contains(r#"tally_cluster_peer_refused_total{reason="protocol_version"}"#),
        "{rendered}"
    );

    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_peer_is_noticed_by_the_heartbeat_and_its_pending_calls_fail_at_once() {
    // Calls wait far longer than the test's patience: only the heartbeat can fail them in time.
    let nodes = TwoNodes::linked(1, |settings| settings.call_timeout = PATIENCE * 4).await;
    let a = &nodes.a;

    let room = nodes.room(0).await;
    let sensor = SensorId::new("s1").unwrap();
    let ack = room
        .send(sensor.clone(), readings(1, 1, 2), now_ms())
        .unwrap();
    assert_eq!(ack.durable().await.unwrap(), 1);
    let office_handle = nodes.office().await;
    let mut display = office_handle.subscribe(None).await.unwrap();
    assert!(display.next().await.is_some(), "the first snapshot");

    nodes.owner.signal("STOP");
    let pending = room
        .send(sensor.clone(), readings(2, 1, 3), now_ms())
        .unwrap();
    let err = tokio::time::timeout(PATIENCE, pending.durable())
        .await
        .expect("the pending batch fails before its call timeout")
        .unwrap_err();
    match &err {
        ServiceError::Unavailable(reason) => assert!(reason.contains("peer b is down"), "{reason}"),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(err.is_retryable());
    a.await_link("b", false).await;
    until_closed(&mut display).await;
    assert_eq!(a.transport.relays(), 0);
    // A handle bound to the dead link fails at once; the caller resolves the room again.
    assert!(
        room.send(sensor.clone(), readings(2, 1, 3), now_ms())
            .is_err()
    );

    nodes.owner.signal("CONT");
    a.await_link("b", true).await;
    let room = nodes.room(0).await;
    // The resend is acknowledged (it may have been applied already: then it is a duplicate).
    let resent = room
        .send(sensor.clone(), readings(2, 1, 3), now_ms())
        .unwrap();
    assert_eq!(resent.durable().await.unwrap(), 2);

    drop(room);
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_is_dialed_again() {
    let mut nodes = TwoNodes::linked(1, |settings| {
        settings.redial_max = Duration::from_millis(200)
    })
    .await;
    let room = nodes.room(0).await;
    let sensor = SensorId::new("s1").unwrap();
    let ack = room
        .send(sensor.clone(), readings(1, 3, 2), now_ms())
        .unwrap();
    assert_eq!(ack.durable().await.unwrap(), 3);

    nodes.owner.signal("KILL");
    nodes.a.await_link("b", false).await;
    nodes.restart_owner().await;
    nodes.a.await_link("b", true).await;

    let room = nodes.room(0).await;
    assert_eq!(
        room.last_durable_seq(&sensor).await.unwrap(),
        3,
        "acknowledged before the kill"
    );
    let ack = room.send(sensor, readings(4, 1, 2), now_ms()).unwrap();
    assert_eq!(ack.durable().await.unwrap(), 4);

    drop(room);
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_peer_is_sent_at_most_the_bound_then_refused_until_it_catches_up() {
    const BOUND: u64 = 16 * 1024;
    let metrics = metrics();
    // The heartbeat must not take the link down first: here only the bound refuses.
    let nodes = TwoNodes::linked(1, |settings| {
        settings.max_unconfirmed_bytes = BOUND;
        settings.heartbeat_timeout = PATIENCE * 4;
        settings.call_timeout = PATIENCE * 4;
    })
    .await;
    let room = nodes.room(0).await;
    let sensor = SensorId::new("s1").unwrap();
    let ack = room
        .send(sensor.clone(), readings(1, 1, 2), now_ms())
        .unwrap();
    assert_eq!(ack.durable().await.unwrap(), 1);

    nodes.owner.signal("STOP");
    // Batches of ten readings (each well over 100 bytes framed) until one is refused.
    let mut pending = Vec::new();
    let mut next = 2;
    let refusal = loop {
        match room.send(sensor.clone(), readings(next, 10, 1), now_ms()) {
            Ok(ack) => {
                pending.push(ack);
                next += 10;
            }
            Err(err) => break err,
        }
        assert!(pending.len() <= (BOUND / 100) as usize, "never refused");
    };
    match &refusal {
        ServiceError::Unavailable(reason) => assert!(
            reason.contains("peer b is not keeping up") && reason.contains("bound 16384"),
            "{reason}"
        ),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(!pending.is_empty(), "the bound lets some batches through");
    let rendered = metrics.render();
    assert!(
        rendered.contains(r#"tally_cluster_peer_backlog_refused_total{kind="call"}"#),
        "{rendered}"
    );

    // Resumed, the peer answers everything sent; its pongs confirm the bytes and the link
    // takes batches again (a client retries after a refusal).
    nodes.owner.signal("CONT");
    for ack in pending {
        ack.durable().await.unwrap();
    }
    let ack = loop {
        match room.send(sensor.clone(), readings(next, 1, 2), now_ms()) {
            Ok(ack) => break ack,
            Err(_refused) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(ack.durable().await.unwrap(), next);

    drop(room);
    nodes.stop().await;
}
