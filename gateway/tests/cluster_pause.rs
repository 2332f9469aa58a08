//! `kill -STOP` the owner of an office past its lease: the office moves to another node; after
//! `kill -CONT` the old owner acknowledges nothing more for it, and the writes it still tries
//! for it are rejected by the store (its fencing token is stale) and counted.

mod support;

use support::cluster::{Cluster, assert_exactly_acknowledged, provision};
use support::load::{LoadSensor, count_for, eventually};
use support::{Next, SensorClient, assert_closed_with, now_ms};
use tally_protocol::{Codec, Reading};

/// Connects a sensor through `addr`, reconnecting while the node answers `unavailable` (4503),
/// as a real sensor does while the cluster settles (a node whose view or links lag).
async fn connect_settled(addr: std::net::SocketAddr, key: &str) -> SensorClient {
    let mut sensor = None;
    eventually(
        "a sensor is welcomed",
        async || match SensorClient::try_connect(addr, key, Codec::MsgPack).await {
            Ok(welcomed) => {
                sensor = Some(welcomed);
                true
            }
            Err(Next::Closed(Some(close))) if u16::from(close.code) == 4503 => false,
            Err(other) => panic!("expected welcome, got {other:?}"),
        },
    )
    .await;
    sensor.expect("welcomed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_loses_its_office_and_is_fenced_off_when_it_resumes() {
    let cluster = Cluster::start(3).await;
    let offices = provision(&cluster.api(0), "acme", 1, 3).await;
    let office = &offices[0];
    let owner = cluster.placed_on("acme", &office.office);
    let owner_id = cluster.id(owner).to_owned();
    let others: Vec<_> = (1..3)
        .map(|step| cluster.addr((owner + step) % 3))
        .collect();

    // Room 1: one sensor on the owner, step by step. Room 2: a loaded sensor on the owner,
    // then on the others. Room 3: a loaded sensor forwarded through the other nodes.
    let [(room1, key1), (room2, key2), (room3, key3)] = &office.rooms[..] else {
        unreachable!("three rooms")
    };
    let mut direct = connect_settled(cluster.addr(owner), key1).await;
    for _ in 0..5 {
        direct.count(count_for(direct.last_seq + 1)).await;
    }
    let acked_direct = direct.last_seq;
    let on_owner = LoadSensor::spawn_any(
        [vec![cluster.addr(owner)], others.clone()].concat(),
        key2.clone(),
    );
    let forwarded = LoadSensor::spawn_any(others.clone(), key3.clone());
    eventually("both loaded sensors are acknowledged", async || {
        on_owner.acked() >= 20 && forwarded.acked() >= 20
    })
    .await;

    // The owner hangs with its sockets open, its rooms' writes in flight; a batch for room 1
    // waits in its socket.
    cluster.pause(owner);
    let paused_at = (on_owner.acked(), forwarded.acked());
    let stale_seq = acked_direct + 1;
    direct
        .send(vec![Reading {
            seq: stale_seq,
            ts: now_ms(),
            count: count_for(stale_seq),
        }])
        .await;
    cluster.await_gone(&owner_id).await;
    eventually(
        "the forwarded sensor is acknowledged by the new owner",
        async || forwarded.acked() >= paused_at.1 + 20,
    )
    .await;
    let new_owner = cluster
        .lease_holder("acme", &office.office)
        .await
        .expect("the office's lease is held");
    assert_ne!(new_owner, owner_id, "the office moved off the paused node");

    // Resumed, the old owner acknowledges nothing more for the office: the waiting batch is
    // not acknowledged, the connection closes with `unavailable`, and what the old owner still
    // tried to write is fenced off by the store.
    cluster.resume(owner);
    let reason = assert_closed_with(direct.next().await, 4503);
    assert!(!reason.is_empty(), "the close says why");
    eventually(
        "the sensor on the old owner is acknowledged again",
        async || on_owner.acked() >= paused_at.0 + 20,
    )
    .await;
    let fenced = cluster.counter(owner, "tally_fenced_writes_total").await;
    assert!(
        fenced >= 1.0,
        "the old owner's stale writes were fenced off ({fenced})"
    );

    let mut direct = connect_settled(others[0], key1).await;
    assert_eq!(
        direct.last_seq, acked_direct,
        "the unacknowledged batch was not stored"
    );
    assert_eq!(
        direct.count(3).await,
        acked_direct + 1,
        "served by the new owner"
    );

    // Every reading acknowledged by either owner is stored once; nothing acknowledged by the
    // old owner after it lost the office is missing.
    let acked = [on_owner.stop().await, forwarded.stop().await];
    let store = cluster.store().await;
    for (room, acked) in [room2, room3].into_iter().zip(acked) {
        assert_exactly_acknowledged(&store, "acme", room, acked).await;
    }
    assert_eq!(
        support::outage::stored(&store, "acme", room1).await.len() as u64,
        acked_direct + 1
    );
}
