//! Bad input gets its documented error, and the node keeps serving everyone else.

mod support;

use serde_json::json;
use support::*;
use tally_protocol::{Codec, DisplayFrame, ErrorCode, Reading, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

/// Expects an `error` frame with `code` on a sensor connection that stays open.
async fn expect_error(sensor: &mut SensorClient, code: ErrorCode) {
    match sensor.next().await {
        Next::Frame(ServerFrame::Error { code: got, .. }) => assert_eq!(got, code),
        other => panic!("expected error {code}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sensor_frames_get_errors_and_the_connection_goes_on() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1", "r2"]).await;
    let mut bystander = SensorClient::connect(node.addr(), &keys[1], Codec::MsgPack).await;
    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;

    sensor
        .send_raw(Message::Binary(vec![0xc1, 0xff, 0x13].into()))
        .await;
    expect_error(&mut sensor, ErrorCode::MalformedFrame).await;
    bystander.count(1).await;

    sensor
        .send_raw(Message::Binary(vec![0x90; 256 * 1024 + 1].into()))
        .await;
    expect_error(&mut sensor, ErrorCode::FrameTooLarge).await;

    sensor
        .send(vec![Reading {
            seq: 1,
            ts: now_ms(),
            count: -2,
        }])
        .await;
    expect_error(&mut sensor, ErrorCode::CountOutOfRange).await;

    sensor
        .send(vec![Reading {
            seq: 1,
            ts: now_ms() + 3_600_000,
            count: 2,
        }])
        .await;
    expect_error(&mut sensor, ErrorCode::TimestampInFuture).await;

    let too_many = (1..=501)
        .map(|seq| Reading {
            seq,
            ts: now_ms(),
            count: 1,
        })
        .collect();
    sensor.send(too_many).await;
    expect_error(&mut sensor, ErrorCode::TooManyItems).await;

    // Nothing of the rejected frames was applied; a good frame is acknowledged as usual.
    assert_eq!(sensor.count(3).await, 1);
    bystander.count(2).await;
    let (_, live) = api
        .get("/v1/tenants/acme/offices/hq/rooms/r1/live", ADMIN_TOKEN)
        .await;
    assert_eq!(live["rooms"][0]["count"], 3);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_authentication_failures_close_with_codes() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let url = format!("ws://{}/v1/sensors/connect", node.addr());

    let (status, body) = open_ws(&url, None)
        .await
        .expect_err("no subprotocol is refused before the upgrade");
    assert_eq!(status, 400);
    assert!(body.contains("unsupported_subprotocol"), "{body}");

    let mut socket = open_ws(&url, Some("tally.v1.json")).await.unwrap();
    use futures::{SinkExt, StreamExt};
    socket
        .send(Message::Text(r#"{"type":"hello","key":"tsk_nope"}"#.into()))
        .await
        .unwrap();
    let close = socket.next().await.unwrap().unwrap();
    let Message::Close(Some(frame)) = close else {
        panic!("expected close, got {close:?}")
    };
    assert_eq!(
        u16::from(frame.code),
        ErrorCode::UnknownSensorKey.ws_close_code()
    );
    assert_eq!(u16::from(frame.code), 4401);

    let mut socket = open_ws(&url, Some("tally.v1.json")).await.unwrap();
    socket
        .send(Message::Text(r#"{"type":"readings","items":[]}"#.into()))
        .await
        .unwrap();
    let Message::Close(Some(frame)) = socket.next().await.unwrap().unwrap() else {
        panic!("expected close")
    };
    assert_eq!(u16::from(frame.code), 4400);

    let (status, body) = Api::new(node.addr())
        .post("/v1/readings", "tsk_nope", json!({ "items": [] }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unknown_sensor_key"))
    );
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_where_data_is_read() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    api.provision("tenant-a", "hq", &["r1"]).await;
    api.provision("tenant-b", "secret-office", &["vault"]).await;
    let token_a = api.viewer_token("tenant-a").await;

    // REST: another tenant's office answers exactly like an office that does not exist.
    let (status_other, body_other) = api
        .get("/v1/tenants/tenant-b/offices/secret-office/live", &token_a)
        .await;
    let (status_none, body_none) = api
        .get("/v1/tenants/tenant-b/offices/no-such-office/live", &token_a)
        .await;
    assert_eq!((status_other, status_none), (404, 404));
    assert_eq!(body_other["error"]["code"], "not_found");
    assert_eq!(
        body_other["error"]["message"]
            .as_str()
            .unwrap()
            .replace("secret-office", "X"),
        body_none["error"]["message"]
            .as_str()
            .unwrap()
            .replace("no-such-office", "X")
    );
    let (status, _) = api.get("/v1/tenants/tenant-b/offices", &token_a).await;
    assert_eq!(status, 404);
    let (status, body) = api
        .post(
            "/v1/tenants/tenant-a/offices",
            &token_a,
            json!({ "id": "x" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, body) = api
        .get("/v1/tenants/tenant-a/offices/hq/rooms/nope/live", &token_a)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    // Display: the same answer for another tenant's office and a missing one.
    let mut display = DisplayClient::connect(node.addr(), &token_a).await;
    display.subscribe("secret-office", None).await;
    let DisplayFrame::Error {
        code,
        message: other,
    } = display.until(|_| true).await
    else {
        panic!("expected error")
    };
    assert_eq!(code, ErrorCode::NotFound);
    display.subscribe("no-such-office", None).await;
    let DisplayFrame::Error {
        message: missing, ..
    } = display.until(|_| true).await
    else {
        panic!("expected error")
    };
    assert_eq!(
        other.replace("secret-office", "X"),
        missing.replace("no-such-office", "X")
    );
    // The same connection still works for its own tenant.
    display.subscribe("hq", None).await;
    assert!(matches!(
        display.until(|_| true).await,
        DisplayFrame::Snapshot { .. }
    ));

    // Missing, forged and expired tokens.
    let url = format!("ws://{}/v1/live", node.addr());
    let (status, body) = open_ws(&url, None).await.expect_err("refused");
    assert!(
        status == 401 && body.contains("unauthenticated"),
        "{status} {body}"
    );
    let (status, body) = open_ws(&format!("{url}?access_token=not.a.jwt"), None)
        .await
        .expect_err("refused");
    assert!(
        status == 401 && body.contains("unauthenticated"),
        "{status} {body}"
    );
    let expired = expired_token("tenant-a");
    let (status, body) = open_ws(&format!("{url}?access_token={expired}"), None)
        .await
        .expect_err("refused");
    assert!(
        status == 401 && body.contains("token_expired"),
        "{status} {body}"
    );
    let (status, body) = api
        .get("/v1/tenants/tenant-a/offices/hq/live", &expired)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_expired"))
    );

    // Unknown routes and invalid ids are JSON errors too.
    let (status, body) = api.get("/v1/nope", ADMIN_TOKEN).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = api
        .post("/v1/tenants", ADMIN_TOKEN, json!({ "id": "Not A Slug" }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_id"))
    );
    let (status, body) = api
        .post("/v1/tenants", ADMIN_TOKEN, json!({ "id": "tenant-a" }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("already_exists"))
    );
    stop_checked(node).await;
}

/// A correctly signed token that expired an hour ago.
fn expired_token(tenant: &str) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let exp = (now_ms() / 1000) as u64 - 3600;
    let claims =
        json!({ "sub": "t", "tenant": tenant, "role": "viewer", "iat": exp - 60, "exp": exp });
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}
