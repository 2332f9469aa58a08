//! Overload waits at the socket (TCP pushes back) instead of queueing in actors: per connection
//! (`ingest.inflight_window`) and per node (`ingest.node_inflight`). Writes are held on purpose so
//! that nothing is acknowledged while the node decides how much to read.

mod support;

use std::sync::Arc;

use support::*;
use tally_protocol::{Codec, Reading, ServerFrame};
use tally_storage::{EmbeddedStore, FaultInjectingStore};

/// A node over a store whose writes can be held.
async fn node_with_held_writes(
    data: &std::path::Path,
    window: u32,
    node_inflight: u32,
) -> (tally_gateway::RunningNode, Arc<FaultInjectingStore>) {
    let mut settings = test_settings(data);
    settings.ingest.inflight_window = window;
    settings.ingest.node_inflight = node_inflight;
    settings.ingest.max_batch_items = 1;
    let disk = Arc::new(FaultInjectingStore::new(Arc::new(
        EmbeddedStore::open(&data.join("store")).unwrap(),
    )));
    (
        tally_gateway::start_with_store(settings, disk.clone())
            .await
            .unwrap(),
        disk,
    )
}

/// Sends `n` one-reading frames without waiting for acks.
async fn flood(sensor: &mut SensorClient, n: u64) {
    for seq in 1..=n {
        sensor
            .send(vec![Reading {
                seq,
                ts: now_ms(),
                count: seq as i64,
            }])
            .await;
    }
}

/// Waits until the rooms' live counts (= readings read by the node, since rooms apply before
/// persisting) add up to at least `at_least`, and returns the sum.
async fn readings_read(api: &Api, rooms: &[&str], at_least: u64) -> u64 {
    loop {
        let mut sum = 0;
        for room in rooms {
            let (_, live) = api
                .get(
                    &format!("/v1/tenants/acme/offices/hq/rooms/{room}/live"),
                    ADMIN_TOKEN,
                )
                .await;
            sum += live["rooms"][0]["count"].as_u64().unwrap();
        }
        if sum >= at_least {
            return sum;
        }
        tokio::task::yield_now().await;
    }
}

/// Reads acks until `up_to` is acknowledged.
async fn drain_acks(sensor: &mut SensorClient, up_to: u64) {
    let mut acked = 0;
    while acked < up_to {
        match sensor.next().await {
            Next::Frame(ServerFrame::Ack { up_to_seq }) => acked = up_to_seq,
            other => panic!("expected ack, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_sensor_is_held_to_its_inflight_window() {
    let (_dir, data) = temp_dir();
    let (node, disk) = node_with_held_writes(&data, 4, 1024).await;
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;

    disk.hold_writes();
    flood(&mut sensor, 10).await;
    // Counts are the seqs, so the live count is the highest seq read.
    assert_eq!(
        readings_read(&api, &["r1"], 4).await,
        4,
        "the node read past its in-flight window while nothing was acknowledged"
    );
    disk.release_writes();
    drain_acks(&mut sensor, 10).await;
    let batches = disk.written_batches();
    assert!(
        batches.iter().all(|&readings| readings <= 4),
        "a write held more than the window: {batches:?}"
    );
    assert_eq!(batches.iter().sum::<usize>(), 10);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_admits_at_most_node_inflight_readings_across_connections() {
    let (_dir, data) = temp_dir();
    let (node, disk) = node_with_held_writes(&data, 1024, 5).await;
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1", "r2"]).await;
    let mut first = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;
    let mut second = SensorClient::connect(node.addr(), &keys[1], Codec::MsgPack).await;

    disk.hold_writes();
    flood(&mut first, 10).await;
    flood(&mut second, 10).await;
    let mut read = 0;
    while read < 5 {
        // Each room's count is its highest seq read; the node admitted that many of its readings.
        read = readings_read(&api, &["r1", "r2"], 5).await;
    }
    assert_eq!(
        read, 5,
        "more than node_inflight readings were admitted while nothing was acknowledged"
    );
    disk.release_writes();
    drain_acks(&mut first, 10).await;
    drain_acks(&mut second, 10).await;
    assert_eq!(
        disk.written_batches().iter().sum::<usize>(),
        20,
        "every reading was written once"
    );
    stop_checked(node).await;
}
