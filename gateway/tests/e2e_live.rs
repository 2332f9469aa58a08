//! End to end over real sockets: REST registry, sensors and a display on an in-process node.

mod support;

use serde_json::json;
use support::*;
use tally_protocol::{Codec, DisplayFrame, Reading};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_readings_reach_the_display_as_snapshot_then_deltas() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["lobby", "board"]).await;
    let token = api.viewer_token("acme").await;

    let mut lobby = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;
    assert_eq!(lobby.last_seq, 0);
    lobby.count(4).await;

    let mut display = DisplayClient::connect(node.addr(), &token).await;
    display.subscribe("hq", None).await;
    let snapshot = display
        .until(|f| matches!(f, DisplayFrame::Snapshot { .. }))
        .await;
    assert_eq!(room_count(&snapshot, "lobby"), Some(4));
    assert_eq!(room_count(&snapshot, "board"), Some(0));
    assert_eq!(total(&snapshot), Some(4));
    let DisplayFrame::Snapshot {
        capacity,
        version: snapshot_version,
        ..
    } = snapshot
    else {
        unreachable!()
    };
    assert_eq!(capacity, 20);

    let mut board = SensorClient::connect(node.addr(), &keys[1], Codec::Json).await;
    board.count(7).await;
    let delta = display.until(|f| room_count(f, "board") == Some(7)).await;
    let DisplayFrame::Delta {
        version,
        total,
        rooms,
        ..
    } = &delta
    else {
        panic!("expected a delta, got {delta:?}")
    };
    assert!(*version > snapshot_version);
    assert_eq!(*total, 11);
    assert!(
        rooms.iter().all(|r| r.room.as_str() == "board"),
        "a delta names only what changed: {rooms:?}"
    );

    lobby.count(1).await;
    let delta = display.until(|f| room_count(f, "lobby") == Some(1)).await;
    assert_eq!(support::total(&delta), Some(8));

    let (status, live) = api.get("/v1/tenants/acme/offices/hq/live", &token).await;
    assert_eq!(status, 200);
    assert_eq!(live["total"], 8);
    let (status, room) = api
        .get("/v1/tenants/acme/offices/hq/rooms/board/live", &token)
        .await;
    assert_eq!((status, room["rooms"][0]["count"].clone()), (200, json!(7)));
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_subscription_and_http_batches_share_the_path() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("globex", "tower", &["a", "b"]).await;
    let token = api.viewer_token("globex").await;
    let mut display = DisplayClient::connect(node.addr(), &token).await;
    display.subscribe("tower", Some("b")).await;
    let snapshot = display
        .until(|f| matches!(f, DisplayFrame::Snapshot { .. }))
        .await;
    assert_eq!(
        room_count(&snapshot, "a"),
        None,
        "a room subscription sees only its room"
    );

    let now = now_ms();
    let items = json!({ "items": [{ "seq": 1, "ts": now - 1000, "count": 2 }, { "seq": 2, "ts": now, "count": 5 }] });
    let (status, ack) = api.post("/v1/readings", &keys[1], items.clone()).await;
    assert_eq!((status, ack["up_to_seq"].clone()), (200, json!(2)));
    let delta = display.until(|f| room_count(f, "b") == Some(5)).await;
    assert_eq!(total(&delta), Some(5));
    // Replaying an acknowledged batch is acknowledged again and changes nothing.
    let (status, ack) = api
        .post(
            "/v1/readings",
            &keys[1],
            json!({ "items": [{ "seq": 2, "ts": now, "count": 9 }] }),
        )
        .await;
    assert_eq!((status, ack["up_to_seq"].clone()), (200, json!(2)));
    let (_, live) = api
        .get("/v1/tenants/globex/offices/tower/rooms/b/live", &token)
        .await;
    assert_eq!(live["rooms"][0]["count"], 5);

    // Several sensors in one room are summed.
    api.create(
        "/v1/tenants/globex/offices/tower/rooms/b/sensors",
        json!({ "id": "b-s2" }),
    )
    .await;
    let key = api
        .create(
            "/v1/tenants/globex/offices/tower/rooms/b/sensors",
            json!({ "id": "b-s3" }),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut second = SensorClient::connect(node.addr(), &key, Codec::MsgPack).await;
    second
        .send_and_ack(vec![Reading {
            seq: 10,
            ts: now_ms(),
            count: 3,
        }])
        .await;
    display.until(|f| room_count(f, "b") == Some(8)).await;
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_batches_accept_messagepack_bodies() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("initech", "hq", &["r1"]).await;
    let batch = tally_protocol::ReadingBatch {
        items: vec![Reading {
            seq: 7,
            ts: now_ms(),
            count: 3,
        }],
    };
    let response = reqwest::Client::new()
        .post(format!("{}/v1/readings", api.base))
        .bearer_auth(&keys[0])
        .header("content-type", "application/msgpack")
        .body(Codec::MsgPack.encode(&batch))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let ack: serde_json::Value = response.json().await.unwrap();
    assert_eq!(ack["up_to_seq"], 7);
    let garbage = reqwest::Client::new()
        .post(format!("{}/v1/readings", api.base))
        .bearer_auth(&keys[0])
        .header("content-type", "application/msgpack")
        .body(vec![0xc1u8, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 400);
    let body: serde_json::Value = garbage.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_frame");
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_sensor_stops_counting_and_is_reported_stale() {
    let (_dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    // Short so that the test is quick; the test awaits the display's frames, not a timer.
    settings.ingest.sensor_timeout = std::time::Duration::from_secs(1);
    let node = tally_gateway::start(settings).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("umbrella", "hq", &["lab"]).await;
    let token = api.viewer_token("umbrella").await;
    let mut display = DisplayClient::connect(node.addr(), &token).await;
    display.subscribe("hq", None).await;
    display
        .until(|f| matches!(f, DisplayFrame::Snapshot { .. }))
        .await;
    let lab = |frame: &DisplayFrame| match frame {
        DisplayFrame::Snapshot { rooms, .. } | DisplayFrame::Delta { rooms, .. } => rooms
            .iter()
            .find(|r| r.room.as_str() == "lab")
            .map(|r| (r.count, r.stale_sensors)),
        DisplayFrame::Error { .. } => None,
    };

    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;
    sensor.count(5).await;
    let stale = display
        .until(|f| lab(f).is_some_and(|(_, stale)| stale == 1))
        .await;
    assert_eq!(lab(&stale), Some((0, 1)), "a stale sensor no longer counts");
    assert_eq!(total(&stale), Some(0));
    let (_, live) = api
        .get("/v1/tenants/umbrella/offices/hq/rooms/lab/live", &token)
        .await;
    assert_eq!(
        (
            live["rooms"][0]["count"].as_u64(),
            live["rooms"][0]["stale_sensors"].as_u64()
        ),
        (Some(0), Some(1))
    );

    sensor.count(2).await;
    display.until(|f| lab(f) == Some((2, 0))).await;
    stop_checked(node).await;
}
