//! A node killed with `kill -9` halfway through the erasure of a tenant, through the real HTTP
//! API of the real `tally` binary: after the restart nothing of the tenant is accepted, the
//! audit record shows the erasure unfinished with the work done so far, and asking again
//! finishes it — the rows deleted by both calls add up to exactly what the tenant had, the
//! first request's audit data is kept, and the other tenant is untouched.

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::load::eventually;
use support::{ADMIN_TOKEN, Api, ChildNode, Next, SensorClient, now_ms, temp_dir};
use tally_protocol::{Codec, OfficeId, Reading, RoomId, SensorId, TenantId};
use tally_storage::testkit::ReadAll;
use tally_storage::{
    EmbeddedStore, RoomState, RoomWrite, SensorState, Store, StoredReading, TimeRange, WriteBatch,
};

/// Readings of the erased tenant, written straight into its store before the node starts: many
/// chunks of the embedded store's erasure (10,000 keys each), so the kill lands between them.
const ERASED_READINGS: u64 = 60_000;
/// Readings per batch written by the test.
const WRITE_BATCH: u64 = 20_000;
/// Readings of the tenant that stays.
const KEPT_READINGS: u64 = 50;
/// Attempts at killing the node while the erasure runs (each on a fresh tenant) before giving
/// up: the kill only counts if the audit record showed the erasure under way and unfinished.
const ATTEMPTS: usize = 3;

/// Writes `ERASED_READINGS` readings for sensor `r1-s` of `tenant`'s room `r1` in office `hq`,
/// with a room state whose dedup mark matches them.
async fn write_readings(store: &EmbeddedStore, tenant: &str) {
    let (tenant, office) = (TenantId::new(tenant).unwrap(), OfficeId::new("hq").unwrap());
    let (room, sensor) = (RoomId::new("r1").unwrap(), SensorId::new("r1-s").unwrap());
    let start = now_ms() - 86_400_000;
    for first in (1..=ERASED_READINGS).step_by(WRITE_BATCH as usize) {
        let last = (first + WRITE_BATCH - 1).min(ERASED_READINGS);
        let readings = (first..=last)
            .map(|seq| {
                let ts = start + seq as i64 * 100;
                let reading = StoredReading {
                    seq,
                    ts,
                    count: (seq % 7) as u32,
                    received_at: ts,
                };
                (sensor.clone(), reading)
            })
            .collect();
        let state = RoomState {
            count: (last % 7) as u32,
            ts: start + last as i64 * 100,
            sensors: [(
                sensor.clone(),
                SensorState {
                    last_seq: last,
                    count: (last % 7) as u32,
                    ts: start + last as i64 * 100,
                    ..SensorState::default()
                },
            )]
            .into(),
            rollups: None,
        };
        let write = RoomWrite {
            tenant: tenant.clone(),
            office: office.clone(),
            room: room.clone(),
            owner_token: 0,
            readings,
            state,
            rollups: Vec::new(),
        };
        let batch = WriteBatch { rooms: vec![write] };
        store
            .write_batch(Arc::new(batch))
            .await
            .expect("readings written");
    }
}

/// The audit record of `tenant`'s erasure, if any.
async fn record(api: &Api, tenant: &str) -> Option<Value> {
    let (status, body) = api
        .get(&format!("/v1/admin/tenants/{tenant}/erasure"), ADMIN_TOKEN)
        .await;
    (status == 200).then_some(body)
}

/// Asks for the erasure of `tenant`: the confirmation route and its body.
async fn request_erasure(api: &Api, tenant: &str, requested_by: &str) -> (String, Value) {
    let path = format!("/v1/admin/tenants/{tenant}/erasure");
    let (status, pending) = api
        .post(&path, ADMIN_TOKEN, json!({ "requested_by": requested_by }))
        .await;
    assert_eq!(status, 200, "{pending}");
    let confirmation = json!({ "confirmation": pending["confirmation"] });
    (format!("{path}/confirm"), confirmation)
}

/// Asks for the erasure of `tenant` and confirms it; the answer of the confirmation.
async fn erase(api: &Api, tenant: &str, requested_by: &str) -> (u16, Value) {
    let (confirm, body) = request_erasure(api, tenant, requested_by).await;
    api.post(&confirm, ADMIN_TOKEN, body).await
}

/// Starts the erasure of `tenant` and kills the node once its audit record shows it under way
/// and unfinished; whether the kill landed in time (else the erasure had already finished).
async fn kill_during_erasure(node: ChildNode, tenant: &str) -> bool {
    let api = Api::new(node.addr);
    let (confirm, body) = request_erasure(&api, tenant, "ticket 7: first request").await;
    let confirming = {
        let api = api.clone();
        let post = reqwest::Method::POST;
        tokio::spawn(async move {
            api.try_request(post, &confirm, Some(ADMIN_TOKEN), Some(body))
                .await
        })
    };
    let mut under_way = false;
    eventually("the erasure to start", async || {
        match record(&api, tenant).await {
            Some(record) => {
                let deleted = record["deleted"]["readings"].as_u64().unwrap_or(0);
                let finished = !record["finished_at"].is_null();
                under_way = !finished && deleted > 0 && deleted < ERASED_READINGS;
                under_way || finished
            }
            None => false,
        }
    })
    .await;
    node.kill9();
    // The confirmation gets no answer (or got it just before the kill).
    let answered = confirming.await.expect("confirmation task ends");
    assert!(
        answered.is_err() || !under_way,
        "answered while under way: {answered:?}"
    );
    under_way
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_killed_halfway_through_an_erasure_finishes_it_when_asked_again() {
    let (_dir, data) = temp_dir();
    let mut node = ChildNode::start(&data);
    let api = Api::new(node.addr);
    let kept_key = api.provision("globex", "hq", &["r1"]).await.remove(0);
    let mut kept = SensorClient::connect(node.addr, &kept_key, Codec::MsgPack).await;
    let readings = (1..=KEPT_READINGS).map(|seq| Reading {
        seq,
        ts: now_ms(),
        count: 2,
    });
    kept.send_and_ack(readings.collect()).await;
    drop(kept);

    let mut attempt = 0;
    let (erased, erased_key, node) = loop {
        attempt += 1;
        let tenant = format!("acme{attempt}");
        let api = Api::new(node.addr);
        let key = api.provision(&tenant, "hq", &["r1"]).await.remove(0);
        assert!(node.terminate().success(), "node stopped cleanly");
        let store = EmbeddedStore::open(&data.join("store")).expect("store opens");
        write_readings(&store, &tenant).await;
        drop(store);
        let started = ChildNode::start(&data);
        if kill_during_erasure(started, &tenant).await {
            break (tenant, key, ChildNode::start(&data));
        }
        assert!(
            attempt < ATTEMPTS,
            "the erasure of {ERASED_READINGS} readings finished before the kill {ATTEMPTS} times"
        );
        node = ChildNode::start(&data);
    };
    let api = Api::new(node.addr);

    // After the restart: the erasure stands unfinished with what it had done, and nothing of
    // the tenant is accepted.
    let unfinished = record(&api, &erased)
        .await
        .expect("the audit record survives");
    assert!(unfinished["finished_at"].is_null(), "{unfinished}");
    let deleted_before = unfinished["deleted"]["readings"].as_u64().unwrap();
    assert!(
        deleted_before > 0 && deleted_before < ERASED_READINGS,
        "{unfinished}"
    );
    match SensorClient::try_connect(node.addr, &erased_key, Codec::MsgPack).await {
        Err(Next::Closed(Some(frame))) => assert_eq!(u16::from(frame.code), 4401, "{frame:?}"),
        Err(other) => panic!("expected close 4401, got {other:?}"),
        Ok(_) => panic!("a tenant being erased had its sensor welcomed after the restart"),
    }
    let (status, body) = api.get(&format!("/v1/tenants/{erased}"), ADMIN_TOKEN).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["error"]["message"],
        format!("tenant \"{erased}\" not found")
    );

    // Asked again: finished and verified empty, with the first request's audit data and every
    // reading counted exactly once over the two calls.
    let (status, finished) = erase(&api, &erased, "ticket 8: second request").await;
    assert_eq!(status, 200, "{finished}");
    assert!(finished["finished_at"].is_i64(), "{finished}");
    assert_eq!(finished["requested_by"], "ticket 7: first request");
    assert_eq!(finished["requested_at"], unfinished["requested_at"]);
    assert_eq!(
        finished["deleted"]["readings"], ERASED_READINGS,
        "{finished}"
    );
    assert_eq!(finished["deleted"]["room_states"], 1, "{finished}");
    let (status, again) = erase(&api, &erased, "ticket 9").await;
    assert_eq!(
        (status, &again),
        (200, &finished),
        "idempotent once finished"
    );

    // The other tenant is untouched.
    let mut kept = SensorClient::connect(node.addr, &kept_key, Codec::MsgPack).await;
    let next = [Reading {
        seq: KEPT_READINGS + 1,
        ts: now_ms(),
        count: 3,
    }];
    kept.send_and_ack(next.into()).await;
    drop(kept);
    assert!(node.terminate().success(), "node stopped cleanly");
    let store = EmbeddedStore::open(&data.join("store")).expect("store opens");
    let (tenant, room) = (TenantId::new("globex").unwrap(), RoomId::new("r1").unwrap());
    let all = TimeRange {
        from: 0,
        to: i64::MAX,
    };
    let stored = store.all_readings(&tenant, &room, all).await.unwrap();
    let seqs: Vec<u64> = stored.iter().map(|(_, r)| r.seq).collect();
    assert_eq!(seqs, (1..=KEPT_READINGS + 1).collect::<Vec<_>>());
}
