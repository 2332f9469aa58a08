//! The kill -9 durability scenario, run against every backend: stream readings into the
//! `tally` binary, `kill -9` it mid-stream, and check storage, recovery and exactly-once replay.

use std::collections::BTreeMap;

use tally_protocol::{Codec, Reading, RoomId, SensorId, ServerFrame, TenantId};
use tally_storage::{SharedStore, Store, TimeRange, testkit::ReadAll};

use super::load::count_for;
use super::{ADMIN_TOKEN, Api, ChildNode, Next, SensorClient, now_ms};

pub const BATCH: u64 = 10;

/// Sends `batches` batches without waiting, then reads their acks; returns the highest ack.
pub async fn stream(sensor: &mut SensorClient, next_seq: &mut u64, batches: usize) -> u64 {
    for _ in 0..batches {
        let items = (0..BATCH)
            .map(|i| Reading {
                seq: *next_seq + i,
                ts: now_ms(),
                count: count_for(*next_seq + i),
            })
            .collect();
        *next_seq += BATCH;
        sensor.send(items).await;
    }
    let mut acked = 0;
    for _ in 0..batches {
        match sensor.next().await {
            Next::Frame(ServerFrame::Ack { up_to_seq }) => acked = acked.max(up_to_seq),
            other => panic!("expected ack, got {other:?}"),
        }
    }
    acked
}

/// Every stored reading of the room, by seq (panics on a duplicate seq).
async fn stored_readings(store: &dyn Store) -> BTreeMap<u64, u32> {
    let (tenant, room) = (TenantId::new("acme").unwrap(), RoomId::new("r1").unwrap());
    let rows = store
        .all_readings(
            &tenant,
            &room,
            TimeRange {
                from: 0,
                to: i64::MAX,
            },
        )
        .await
        .unwrap();
    let mut by_seq = BTreeMap::new();
    for (_, reading) in rows {
        assert!(
            by_seq.insert(reading.seq, reading.count).is_none(),
            "seq {} stored twice",
            reading.seq
        );
    }
    by_seq
}

/// Acknowledged ⇒ durable, and replay is exactly-once: `start` starts the node on its store
/// (the same one every time), `open_store` opens that store from the test (the node is dead
/// then; the store is dropped before the node starts again).
pub async fn acknowledged_readings_survive_kill_9(
    start: impl Fn() -> ChildNode,
    open_store: impl AsyncFn() -> SharedStore,
) {
    let node = start();
    let api = Api::new(node.addr);
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let mut sensor = SensorClient::connect(node.addr, &keys[0], Codec::MsgPack).await;
    let mut next_seq = 1;
    let mut acked = 0;
    for _ in 0..20 {
        acked = stream(&mut sensor, &mut next_seq, 4).await;
    }
    assert_eq!(acked, 800);
    // Mid-stream: more batches in flight, none of them awaited.
    for _ in 0..8 {
        let items = (0..BATCH)
            .map(|i| Reading {
                seq: next_seq + i,
                ts: now_ms(),
                count: count_for(next_seq + i),
            })
            .collect();
        next_seq += BATCH;
        sensor.send(items).await;
    }
    node.kill9();

    // Everything acknowledged is in storage, with its count, and the dedup mark covers it.
    let store = open_store().await;
    let stored = stored_readings(store.as_ref()).await;
    for seq in 1..=acked {
        assert_eq!(
            stored.get(&seq).copied(),
            Some(count_for(seq) as u32),
            "acknowledged seq {seq} lost"
        );
    }
    let state = store
        .room_state(&TenantId::new("acme").unwrap(), &RoomId::new("r1").unwrap())
        .await
        .unwrap()
        .expect("room state stored");
    let mark = state.sensors[&SensorId::new("r1-s").unwrap()].last_seq;
    assert!(
        mark >= acked,
        "dedup mark {mark} below acknowledged {acked}"
    );
    assert_eq!(
        stored.keys().next_back().copied(),
        Some(mark),
        "state and readings written in one batch"
    );
    assert_eq!(state.count, count_for(mark) as u32);
    drop(store);

    // Restart on the same data: the live count and the dedup mark are recovered.
    let node = start();
    let api = Api::new(node.addr);
    let mut sensor = SensorClient::connect(node.addr, &keys[0], Codec::MsgPack).await;
    assert_eq!(sensor.last_seq, mark);
    let (_, live) = api
        .get("/v1/tenants/acme/offices/hq/rooms/r1/live", ADMIN_TOKEN)
        .await;
    assert_eq!(live["rooms"][0]["count"], count_for(mark));

    // Resending acknowledged readings (with other counts) is acknowledged and changes nothing.
    for start in (1..=acked).step_by(BATCH as usize) {
        let items = (start..start + BATCH)
            .map(|seq| Reading {
                seq,
                ts: now_ms(),
                count: 99,
            })
            .collect();
        let ack = sensor.send_and_ack(items).await;
        assert_eq!(ack, mark);
    }
    let (_, live) = api
        .get("/v1/tenants/acme/offices/hq/rooms/r1/live", ADMIN_TOKEN)
        .await;
    assert_eq!(live["rooms"][0]["count"], count_for(mark));
    assert_eq!(
        sensor
            .send_and_ack(vec![Reading {
                seq: mark + 1,
                ts: now_ms(),
                count: 5
            }])
            .await,
        mark + 1
    );
    node.kill9();

    let store = open_store().await;
    let after = stored_readings(store.as_ref()).await;
    assert_eq!(
        after.len() as u64,
        mark + 1,
        "no duplicate rows, one new reading"
    );
    assert!(
        (1..=mark).all(|seq| after[&seq] == stored[&seq]),
        "replayed readings changed stored data"
    );
    assert_eq!(after[&(mark + 1)], 5);
}
