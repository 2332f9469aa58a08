//! Answers a healthy node will not give on demand, forged by `scylla-proxy` in front of the
//! real Cassandra node: a write timeout (outcome unknown), `Overloaded` and `Unavailable`. The
//! store reports each as retryable and never as written. What the failed batch leaves is all
//! or nothing: either no reading and no room state (the dedup marks), or — when its write
//! intent had landed before the forged answer, and the next read of the room completed it
//! (`storage/src/scylla/intent.rs`) — every reading with the state that claims them, never
//! readings without their marks. Once the proxy passes requests through again, the resent
//! batch lands whole and nothing is stored twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use scylla_proxy::{
    Condition, Node, Proxy, RequestOpcode, RequestReaction, RequestRule, RunningProxy,
    ShardAwareness,
};
use tally_storage::conformance::support::{
    fresh_room, reading, room_write, sensor_id, state, unique,
};
use tally_storage::testkit::{CassandraNode, ReadAll};
use tally_storage::{ScyllaStore, Store, TimeRange, WriteBatch};

/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// A pass-through proxy in front of the node and a store connected through it.
async fn store_behind_proxy(node: &CassandraNode) -> (RunningProxy, ScyllaStore) {
    let real: SocketAddr = node.contact_point().parse().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    drop(listener);
    let proxy = Proxy::builder()
        .with_node(
            Node::builder()
                .real_address(real)
                .proxy_address(proxy_addr)
                .shard_awareness(ShardAwareness::Unaware)
                .build(),
        )
        .build()
        .run()
        .await
        .unwrap();
    let mut config = node.config("tally_proxy");
    config.contact_points = vec![proxy_addr.to_string()];
    // A forged timeout is retried by the driver until the request times out: keep that short.
    config.request_timeout = std::time::Duration::from_secs(2);
    // The node announces its real address (peers, or the node found through a contact point):
    // every address leads to the proxy.
    let translation = HashMap::from([(real, proxy_addr), (proxy_addr, proxy_addr)]);
    let store = ScyllaStore::connect_translated(&config, translation)
        .await
        .unwrap_or_else(|e| panic!("connect through the proxy: {e}\n{}", node.log_tail(30)));
    (proxy, store)
}

/// A rule answering every request of `opcode` on the driver's data connections with `reaction`.
fn forge(opcode: RequestOpcode, reaction: RequestReaction) -> RequestRule {
    RequestRule(
        Condition::RequestOpcode(opcode)
            .and(Condition::not(Condition::ConnectionRegisteredAnyEvent)),
        reaction,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_timeouts_and_overloads_are_retryable_and_never_acknowledged() {
    let node = CassandraNode::shared().await;
    let (mut proxy, store) = store_behind_proxy(node).await;
    let room = fresh_room(&store).await;
    let sensor = sensor_id(&unique("s"));
    let readings: Vec<_> = (1..=8)
        .map(|seq| (sensor.clone(), reading(seq, seq as i64 * 1_000, 1)))
        .collect();
    let batch = Arc::new(WriteBatch {
        rooms: vec![room_write(
            &room,
            readings.clone(),
            state(&sensor, 1, 8_000),
            vec![],
        )],
    });

    let forged = [
        (
            "write timeout",
            forge(
                RequestOpcode::Batch,
                RequestReaction::forge().write_timeout(),
            ),
        ),
        (
            "overloaded",
            forge(RequestOpcode::Batch, RequestReaction::forge().overloaded()),
        ),
        (
            "unavailable",
            forge(RequestOpcode::Batch, RequestReaction::forge().unavailable()),
        ),
        (
            "overloaded reads",
            forge(
                RequestOpcode::Execute,
                RequestReaction::forge().overloaded(),
            ),
        ),
    ];
    for (what, rule) in forged {
        proxy.running_nodes[0].change_request_rules(Some(vec![rule]));
        let result = store.write_batch(Arc::clone(&batch)).await;
        proxy.running_nodes[0].change_request_rules(None);
        match &result {
            Err(error) if error.is_retryable() => {}
            other => panic!("{what}: the store answered {other:?}"),
        }
        // The room's state is read first: that read completes a write whose intent landed.
        let claimed = store.room_state(&room.tenant, &room.id).await.unwrap();
        let stored = store
            .all_readings(&room.tenant, &room.id, ALL)
            .await
            .unwrap();
        match claimed {
            None => assert_eq!(
                stored,
                vec![],
                "{what}: readings stored without their marks"
            ),
            Some(claimed) => {
                assert_eq!(claimed, state(&sensor, 1, 8_000), "{what}: another state");
                assert_eq!(stored, readings, "{what}: marks without all their readings");
            }
        }
    }

    store.write_batch(Arc::clone(&batch)).await.unwrap();
    assert_eq!(
        store
            .all_readings(&room.tenant, &room.id, ALL)
            .await
            .unwrap(),
        readings
    );
    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        Some(state(&sensor, 1, 8_000))
    );
    // Not `proxy.finish()`: scylla-proxy 0.0.8 can panic there ("Worker await logic bug!", an
    // `unreachable!` when its error channel is empty but not yet closed); its workers end with
    // the test process.
    drop(proxy);
}
