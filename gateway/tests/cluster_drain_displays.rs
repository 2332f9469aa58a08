//! A node drains under load while displays of every office are connected to every node: no
//! display is ever closed, each display of an office that moved is resubscribed in place (a
//! fresh snapshot from the new owner on the same socket), and every display sees every change
//! after the move (the final counts are right everywhere).
//!
//! How many snapshots a display gets is not otherwise fixed: a display that has not taken its
//! pending frame when the next one is ready gets one fresh snapshot instead of a backlog
//! (`actors/src/frame_slot.rs`), which a loaded machine does to any display.

mod support;

use support::SensorClient;
use support::cluster::{Cluster, WatchedDisplay, provision};
use support::load::{LoadSensor, eventually};
use tally_protocol::Codec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn displays_stay_connected_and_resubscribe_in_place_while_a_node_drains() {
    let cluster = Cluster::start(3).await;
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    let owners: Vec<usize> = offices
        .iter()
        .map(|office| cluster.placed_on("acme", &office.office))
        .collect();
    assert!(
        owners.contains(&0),
        "n1 owns offices to hand over: {owners:?}"
    );
    assert!(owners.iter().any(|&owner| owner != 0), "{owners:?}");

    // Sensors on n2 and n3 keep sending through the drain of n1.
    let sensors: Vec<LoadSensor> = offices
        .iter()
        .enumerate()
        .map(|(i, office)| {
            let mut order = vec![cluster.addr(1), cluster.addr(2)];
            order.rotate_left(i % 2);
            LoadSensor::spawn_any(order, office.rooms[0].1.clone())
        })
        .collect();
    // A display of every office on every node (n1's are served by n1 while it drains).
    let token = cluster.api(1).viewer_token("acme").await;
    let mut displays = Vec::new();
    for (i, office) in offices.iter().enumerate() {
        for node in 0..3 {
            let display = WatchedDisplay::subscribe(cluster.addr(node), &token, &office.office);
            displays.push((i, node, display.await));
        }
    }
    let progressed = |from: &[u64]| {
        sensors
            .iter()
            .zip(from)
            .all(|(sensor, before)| sensor.acked() >= before + 20)
    };
    let start = vec![0; sensors.len()];
    eventually("every sensor is acknowledged", async || progressed(&start)).await;

    cluster.drain(1, 0, &offices).await;
    let after_drain: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually("every sensor is acknowledged after the drain", async || {
        progressed(&after_drain)
    })
    .await;
    for sensor in sensors {
        sensor.stop().await;
    }

    // One last change per office, through n2 or n3: every display shows it.
    for (i, office) in offices.iter().enumerate() {
        let (room, key) = &office.rooms[0];
        let mut sensor = SensorClient::connect(cluster.addr(1 + i % 2), key, Codec::MsgPack).await;
        let last = 50 + i as u32;
        sensor.count(i64::from(last)).await;
        for (_, _, display) in displays.iter().filter(|(of, _, _)| *of == i) {
            display.await_count(room, last).await;
        }
    }
    // (`await_count` above also checked that no display ended.)
    for (i, node, display) in &displays {
        let seen = display.seen();
        let moved = owners[*i] == 0;
        assert!(
            seen.snapshots > usize::from(moved),
            "display of {} on node {node} (moved: {moved}) was not resubscribed: {seen:?}",
            offices[*i].office
        );
    }
    cluster.ledger.assert_single_activation();
}
