//! A panicking room restarts from storage without touching its siblings or other tenants; a
//! tenant that keeps failing is quarantined, and nobody else notices.

mod support;

use support::faults::panic_room;
use support::*;
use tally_protocol::{Codec, DisplayFrame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_panic_restarts_from_storage_and_spares_everyone_else() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let a = api.provision("tenant-a", "hq", &["r1", "r2"]).await;
    let b = api.provision("tenant-b", "hq", &["r1"]).await;
    let token = api.viewer_token("tenant-a").await;
    let mut a1 = SensorClient::connect(node.addr(), &a[0], Codec::MsgPack).await;
    let mut a2 = SensorClient::connect(node.addr(), &a[1], Codec::MsgPack).await;
    let mut b1 = SensorClient::connect(node.addr(), &b[0], Codec::MsgPack).await;
    let mut display = DisplayClient::connect(node.addr(), &token).await;
    display.subscribe("hq", None).await;
    display
        .until(|f| matches!(f, DisplayFrame::Snapshot { .. }))
        .await;
    let acked = a1.count(6).await;
    a2.count(2).await;
    b1.count(3).await;

    assert!(panic_room(&node, "tenant-a", "hq", "r1").await);

    // Siblings and the other tenant keep going on the same connections.
    a2.count(4).await;
    b1.count(5).await;
    display.until(|f| room_count(f, "r2") == Some(4)).await;

    // The panicked room's sensor is told to reconnect; the room is back with its stored state.
    a1.send(vec![tally_protocol::Reading {
        seq: acked + 1,
        ts: now_ms(),
        count: 1,
    }])
    .await;
    match a1.next().await {
        Next::Frame(tally_protocol::ServerFrame::Ack { .. }) => {} // the new room answered first
        closed => {
            assert_closed_with(closed, 4503);
        }
    }
    let mut a1 = SensorClient::connect(node.addr(), &a[0], Codec::MsgPack).await;
    assert!(a1.last_seq >= acked, "dedup mark restored from storage");
    let (_, live) = api
        .get("/v1/tenants/tenant-a/offices/hq/rooms/r1/live", &token)
        .await;
    let count = live["rooms"][0]["count"].as_u64().unwrap();
    assert!(
        count == 6 || (count == 1 && a1.last_seq == acked + 1),
        "count restored from storage, got {count}"
    );
    a1.count(8).await;
    display.until(|f| room_count(f, "r1") == Some(8)).await;
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_that_keeps_failing_is_quarantined_alone() {
    let (_dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    settings.supervision.max_restarts = 2;
    settings.supervision.restart_window = std::time::Duration::from_secs(600);
    let node = tally_gateway::start(settings).await.unwrap();
    let api = Api::new(node.addr());
    let a = api.provision("tenant-a", "hq", &["r1"]).await;
    let b = api.provision("tenant-b", "hq", &["r1"]).await;
    let mut b1 = SensorClient::connect(node.addr(), &b[0], Codec::MsgPack).await;
    b1.count(1).await;

    let mut panics = 0;
    while panic_room(&node, "tenant-a", "hq", "r1").await {
        panics += 1;
        assert!(panics < 50, "tenant never quarantined");
        b1.count(panics % 7).await;
    }
    // 3 room failures escalate to the office, 3 office failures escalate to the tenant.
    assert_eq!(panics, 9);

    let quarantined = node.node().actors().quarantined().await.unwrap();
    assert_eq!(
        quarantined
            .into_iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>(),
        vec!["tenant-a"]
    );
    let (status, body) = api
        .get("/v1/tenants/tenant-a/offices/hq/live", ADMIN_TOKEN)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("tenant_quarantined"))
    );
    let mut socket = open_ws(
        &format!("ws://{}/v1/sensors/connect", node.addr()),
        Some("tally.v1.json"),
    )
    .await
    .unwrap();
    use futures::{SinkExt, StreamExt};
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            format!(r#"{{"type":"hello","key":"{}"}}"#, a[0]).into(),
        ))
        .await
        .unwrap();
    let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) =
        socket.next().await.unwrap().unwrap()
    else {
        panic!("expected close")
    };
    assert_eq!(u16::from(frame.code), 4503);
    assert!(
        frame.reason.contains("tenant_quarantined"),
        "{}",
        frame.reason
    );

    // Tenant B never noticed: same connection, still acknowledged.
    b1.count(42).await;
    let (status, live) = api
        .get("/v1/tenants/tenant-b/offices/hq/rooms/r1/live", ADMIN_TOKEN)
        .await;
    assert_eq!(
        (status, live["rooms"][0]["count"].as_u64()),
        (200, Some(42))
    );
    let (_, metrics) = api.get("/metrics", ADMIN_TOKEN).await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tally_tenants_quarantined") && l.ends_with(" 1")),
        "{metrics}"
    );

    // An operator lifts the quarantine: tenant A is served again, from storage.
    let (status, _) = api
        .delete("/v1/tenants/tenant-a/quarantine", ADMIN_TOKEN)
        .await;
    assert_eq!(status, 204);
    let (status, body) = api
        .delete("/v1/tenants/tenant-a/quarantine", ADMIN_TOKEN)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = api
        .delete("/v1/tenants/tenant-b/quarantine", ADMIN_TOKEN)
        .await;
    assert_eq!(status, 404, "tenant B was never quarantined");
    let mut a1 = SensorClient::connect(node.addr(), &a[0], Codec::MsgPack).await;
    a1.count(4).await;
    let (status, live) = api
        .get("/v1/tenants/tenant-a/offices/hq/rooms/r1/live", ADMIN_TOKEN)
        .await;
    assert_eq!((status, live["rooms"][0]["count"].as_u64()), (200, Some(4)));
    stop_checked(node).await;
}
