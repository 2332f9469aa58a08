//! A store that fails for good (a non-retryable write error, as from an embedded store that
//! poisoned itself after a failed fsync) stops the node with an error, so that the `tally`
//! binary exits non-zero and its process supervisor restarts it with journal recovery. Until
//! then nothing is acknowledged and the node is not ready; no tenant is quarantined.

mod support;

use std::sync::Arc;

use support::*;
use tally_protocol::{Codec, Reading};
use tally_storage::{EmbeddedStore, FaultInjectingStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failed_for_good_stops_the_node_with_an_error() {
    let (_dir, data) = temp_dir();
    let disk = Arc::new(FaultInjectingStore::new(Arc::new(
        EmbeddedStore::open(&data.join("store")).unwrap(),
    )));
    let node = tally_gateway::start_with_store(test_settings(&data), disk.clone())
        .await
        .unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;
    assert_eq!(sensor.count(3).await, 1);

    disk.fail_writes(true);
    sensor
        .send(vec![Reading {
            seq: 2,
            ts: now_ms(),
            count: 4,
        }])
        .await;
    let reason = assert_closed_with(sensor.next().await, 4503);
    assert!(reason.starts_with("storage_failure"), "{reason}");

    // Refused from now on: nothing more enters the actors.
    let (status, body) = api.get("/readyz", ADMIN_TOKEN).await;
    assert_eq!(status, 503, "{body}");
    match SensorClient::try_connect(node.addr(), &keys[0], Codec::MsgPack).await {
        Err(next) => {
            assert_closed_with(next, 4503);
        }
        Ok(_) => panic!("a sensor was welcomed by a node whose store failed"),
    }

    let exit = node.run_until(std::future::pending()).await;
    let message = exit.expect_err("the node stops with an error").to_string();
    assert!(message.contains("the store failed for good"), "{message}");
    assert!(message.contains("no space left on device"), "{message}");
}
