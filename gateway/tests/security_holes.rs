//! Holes found by trying the node as an attacker would, each closed and kept closed here.

mod support;

use futures::{SinkExt, StreamExt};
use support::*;
use tally_protocol::{Codec, ErrorCode, MAX_SEQ, Reading, ServerFrame};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The admin token is a header-only credential: in a query string it would land in logs and
/// proxies. Only a display's tenant JWT may come that way, and only to `/v1/live`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_is_refused_in_the_query_string() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    api.provision("acme", "hq", &["r1"]).await;
    let (status, body) = api
        .request(
            reqwest::Method::GET,
            &format!("/v1/tenants?access_token={ADMIN_TOKEN}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");

    let viewer = api.viewer_token("acme").await;
    let (status, body) = api
        .request(
            reqwest::Method::GET,
            &format!("/v1/tenants/acme/offices/hq/live?access_token={viewer}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        status, 401,
        "a JWT in the query is for the display socket only: {body}"
    );

    let url = format!("ws://{}/v1/live?access_token={ADMIN_TOKEN}", node.addr());
    let (status, body) = open_ws(&url, None).await.expect_err("admin token refused");
    assert_eq!(status, 401, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "unauthenticated");

    // A viewer JWT in the query still opens a display.
    let mut display = DisplayClient::connect(node.addr(), &viewer).await;
    display.subscribe("hq", None).await;
    stop_checked(node).await;
}

/// Every HTTP error is the documented JSON, also those produced outside tally's handlers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_from_every_layer_are_json() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());

    let (status, body) = api
        .request(reqwest::Method::DELETE, "/v1/readings", None, None)
        .await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");

    // A plain GET of a WebSocket route: the refused upgrade answers JSON too.
    for path in ["/v1/sensors/connect", "/v1/live"] {
        let (status, body) = api.request(reqwest::Method::GET, path, None, None).await;
        assert!((400..500).contains(&status), "{path}: {status}");
        let code = body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {body}"));
        assert_eq!(
            ErrorCode::for_http_status(status).as_str(),
            code,
            "{path}: {body}"
        );
    }
    let (status, body) = api
        .request(
            reqwest::Method::GET,
            "/v1/sensors/connect",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        body["error"]["code"],
        ErrorCode::for_http_status(status).as_str()
    );
    stop_checked(node).await;
}

/// A reading with `seq = u64::MAX` used to be accepted, after which the sensor could never send
/// again. Seqs above 2^53 − 1 are refused, and the sensor goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seq_that_would_end_the_sensor_is_refused() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::Json).await;
    for seq in [u64::MAX, MAX_SEQ + 1] {
        sensor
            .send(vec![Reading {
                seq,
                ts: now_ms(),
                count: 1,
            }])
            .await;
        match sensor.next().await {
            Next::Frame(ServerFrame::Error { code, seq: at, .. }) => {
                assert_eq!(code, ErrorCode::InvalidSeq);
                assert_eq!(at, Some(seq));
            }
            other => panic!("expected invalid_seq, got {other:?}"),
        }
    }
    assert_eq!(sensor.count(4).await, 1);
    let up_to = sensor
        .send_and_ack(vec![Reading {
            seq: MAX_SEQ,
            ts: now_ms(),
            count: 2,
        }])
        .await;
    assert_eq!(up_to, MAX_SEQ);
    stop_checked(node).await;
}

/// The node answers a client's close frame, so clients see a clean close (not 1006).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_close_frame_is_answered() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let token = api.viewer_token("acme").await;
    let sensor = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;
    let display = DisplayClient::connect(node.addr(), &token).await;
    for mut socket in [sensor.socket, display.socket] {
        socket
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            })))
            .await
            .unwrap();
        let answer = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the node answers within the test's patience");
        match answer {
            Some(Ok(Message::Close(_))) => {}
            other => panic!("expected the node's close frame, got {other:?}"),
        }
    }
    stop_checked(node).await;
}

/// `/metrics` names every tenant and its volume: only the scrape token (generated into the data
/// directory when not configured) and the admin token may read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_scrape_token() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    api.provision("acme", "hq", &["r1"]).await;
    let viewer = api.viewer_token("acme").await;
    let scrape = std::fs::read_to_string(data.join("metrics_token")).unwrap();

    let (status, body) = api
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, body) = api.get("/metrics", &viewer).await;
    assert_eq!(status, 403, "{body}");
    for token in [scrape.trim(), ADMIN_TOKEN] {
        let (status, body) = api.get("/metrics", token).await;
        assert_eq!(status, 200);
        assert!(body.as_str().unwrap().contains("tally_"), "{body}");
    }
    stop_checked(node).await;
}
