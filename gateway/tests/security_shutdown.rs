//! A clean stop: on SIGTERM a real `tally` process sends the acks it owes, closes every sensor and
//! display WebSocket with 1001 (going away) and a reason, and exits 0; nothing acknowledged is
//! lost and nothing unacknowledged was stored as if it had been.

mod support;

use support::*;
use tally_protocol::{Codec, Reading, ServerFrame};

#[test]
fn sigterm_closes_websockets_with_1001_after_the_acks_owed() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_dir, data) = temp_dir();
    let node = ChildNode::start(&data);
    let addr = node.addr;
    let (mut sensor, mut display, key) = runtime.block_on(async {
        let api = Api::new(addr);
        let keys = api.provision("acme", "hq", &["r1"]).await;
        let viewer = api.viewer_token("acme").await;
        let mut display = DisplayClient::connect(addr, &viewer).await;
        display.subscribe("hq", None).await;
        let mut sensor = SensorClient::connect(addr, &keys[0], Codec::MsgPack).await;
        sensor.count(3).await;
        // In flight when the signal comes: acknowledged before the close, or not applied.
        sensor
            .send(
                (2..=41)
                    .map(|seq| Reading {
                        seq,
                        ts: now_ms(),
                        count: 4,
                    })
                    .collect(),
            )
            .await;
        (sensor, display, keys[0].clone())
    });

    let status = node.terminate();
    assert!(status.success(), "tally exits 0 on SIGTERM: {status}");

    let acked = runtime.block_on(async {
        let mut acked = 1;
        let reason = loop {
            match sensor.next().await {
                Next::Frame(ServerFrame::Ack { up_to_seq }) => acked = up_to_seq,
                other => break assert_closed_with(other, 1001),
            }
        };
        assert!(reason.contains("stopping"), "sensor close reason: {reason}");
        let reason = loop {
            match display.next().await {
                Next::Frame(_) => {}
                other => break assert_closed_with(other, 1001),
            }
        };
        assert!(
            reason.contains("stopping"),
            "display close reason: {reason}"
        );
        acked
    });

    // What the node acknowledged is exactly what it stored.
    let node = ChildNode::start(&data);
    let again = runtime.block_on(SensorClient::connect(node.addr, &key, Codec::MsgPack));
    assert_eq!(
        again.last_seq, acked,
        "durable up to the last ack, no further"
    );
    drop(node);
}
