//! Noisy neighbours: what one tenant may take of a node (`[quotas]`) is bounded, the tenant over
//! its bounds is told to wait (`rate_limited`, 429 with `Retry-After`, WebSocket 4429), and
//! every other tenant goes on as before.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::*;
use tally_config::Settings;
use tally_protocol::{Codec, Reading, ServerFrame};

/// Tenants may each send `per_second` readings a second with bursts of 100, in batches of at
/// most 50.
fn rate(per_second: u32) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.ingest.max_batch_items = 50;
        settings.quotas.readings_per_second = per_second;
        settings.quotas.readings_burst = 100;
    }
}

/// A node with two tenants: `acme` with a sensor in each of `a_rooms`, `globex` with one.
struct Neighbours {
    _dir: tempfile::TempDir,
    node: tally_gateway::RunningNode,
    api: Api,
    /// Sensor keys of `acme`, in room order.
    a: Vec<String>,
    /// The sensor key of `globex`.
    b: Vec<String>,
}

async fn neighbours(configure: impl FnOnce(&mut Settings), a_rooms: &[&str]) -> Neighbours {
    let (dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    configure(&mut settings);
    let node = tally_gateway::start(settings).await.unwrap();
    let api = Api::new(node.addr());
    let a = api.provision("acme", "hq", a_rooms).await;
    let b = api.provision("globex", "hq", &["r1"]).await;
    Neighbours {
        _dir: dir,
        node,
        api,
        a,
        b,
    }
}

/// 50 readings with seqs after `after`.
fn batch(after: u64) -> Vec<Reading> {
    (after + 1..=after + 50)
        .map(|seq| Reading {
            seq,
            ts: now_ms(),
            count: 1,
        })
        .collect()
}

/// Posts a batch over HTTP: the status, `Retry-After` and the body.
async fn post_batch(addr: SocketAddr, key: &str, after: u64) -> (u16, Option<u64>, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/readings"))
        .bearer_auth(key)
        .json(&json!({ "items": batch(after) }))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().expect("Retry-After in seconds"));
    (
        status,
        retry_after,
        response.json().await.expect("JSON body"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_readings_over_the_tenant_rate_get_429_with_retry_after() {
    // One reading a second: the bucket of 100 does not refill during the test.
    let Neighbours {
        _dir, node, a, b, ..
    } = neighbours(rate(1), &["r1"]).await;

    for after in [0, 50] {
        let (status, _, body) = post_batch(node.addr(), &a[0], after).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry_after, body) = post_batch(node.addr(), &a[0], 100).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let retry_after = retry_after.expect("a Retry-After header");
    assert!(
        (1..=60).contains(&retry_after),
        "50 readings at 1/s: {retry_after}"
    );

    // Another tenant has its own bucket.
    for after in [0, 50] {
        let (status, _, body) = post_batch(node.addr(), &b[0], after).await;
        assert_eq!(status, 200, "{body}");
    }
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_over_the_tenant_rate_gets_its_acks_then_4429() {
    let Neighbours {
        _dir, node, a, b, ..
    } = neighbours(rate(1), &["r1"]).await;

    let mut sensor = SensorClient::connect(node.addr(), &a[0], Codec::MsgPack).await;
    for after in [0, 50, 100] {
        sensor.send(batch(after)).await;
    }
    // The two batches within the bucket are acknowledged before the close; the third is not.
    let mut acked = 0;
    let reason = loop {
        match sensor.next().await {
            Next::Frame(ServerFrame::Ack { up_to_seq }) => acked = up_to_seq,
            other => break assert_closed_with(other, 4429),
        }
    };
    assert_eq!(acked, 100, "acks owed are sent before the close");
    assert!(
        reason.starts_with("rate_limited") && reason.contains("retry after"),
        "{reason}"
    );
    let again = SensorClient::connect(node.addr(), &a[0], Codec::MsgPack).await;
    assert_eq!(
        again.last_seq, 100,
        "nothing of the refused batch was applied"
    );

    let mut other = SensorClient::connect(node.addr(), &b[0], Codec::MsgPack).await;
    assert_eq!(other.send_and_ack(batch(0)).await, 50);
    assert_eq!(other.send_and_ack(batch(50)).await, 100);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_requests_over_the_tenant_rate_get_429_and_the_admin_token_does_not() {
    let limit_api = |settings: &mut Settings| {
        settings.quotas.api_requests_per_second = 1;
        settings.quotas.api_burst = 3;
    };
    let Neighbours {
        _dir, node, api, ..
    } = neighbours(limit_api, &["r1"]).await;
    let (viewer_a, viewer_b) = (
        api.viewer_token("acme").await,
        api.viewer_token("globex").await,
    );

    for _ in 0..3 {
        let (status, body) = api.get("/v1/tenants/acme/offices", &viewer_a).await;
        assert_eq!(status, 200, "{body}");
    }
    let response = reqwest::Client::new()
        .get(format!("{}/v1/tenants/acme/offices", api.base))
        .bearer_auth(&viewer_a)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // A display connect counts as a request too.
    let url = format!("ws://{}/v1/live?access_token={viewer_a}", node.addr());
    let (status, _) = open_ws(&url, None).await.expect_err("over the rate");
    assert_eq!(status, 429);

    let (status, body) = api.get("/v1/tenants/globex/offices", &viewer_b).await;
    assert_eq!(status, 200, "another tenant has its own bucket: {body}");
    for _ in 0..10 {
        let (status, body) = api.get("/v1/tenants/acme/offices", ADMIN_TOKEN).await;
        assert_eq!(status, 200, "the node's admin token is not limited: {body}");
    }
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_tenant_quota_are_refused() {
    let two = |settings: &mut Settings| settings.quotas.max_connections = 2;
    let Neighbours {
        _dir,
        node,
        api,
        a,
        b,
    } = neighbours(two, &["r1", "r2", "r3"]).await;
    let (viewer_a, viewer_b) = (
        api.viewer_token("acme").await,
        api.viewer_token("globex").await,
    );

    let first = SensorClient::connect(node.addr(), &a[0], Codec::MsgPack).await;
    let _second = SensorClient::connect(node.addr(), &a[1], Codec::MsgPack).await;
    let refused = SensorClient::try_connect(node.addr(), &a[2], Codec::MsgPack)
        .await
        .err()
        .expect("a third connection of the tenant is refused");
    let reason = assert_closed_with(refused, 4429);
    assert!(reason.contains("open connections"), "{reason}");
    let url = format!("ws://{}/v1/live?access_token={viewer_a}", node.addr());
    let (status, body) = open_ws(&url, None).await.expect_err("display refused too");
    assert_eq!(status, 429, "{body}");

    // Another tenant connects as usual.
    let mut other = SensorClient::connect(node.addr(), &b[0], Codec::MsgPack).await;
    other.count(1).await;
    let mut display = DisplayClient::connect(node.addr(), &viewer_b).await;
    display.subscribe("hq", None).await;

    // A closed connection gives its place back.
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match SensorClient::try_connect(node.addr(), &a[2], Codec::MsgPack).await {
            Ok(_) => break,
            Err(other) => {
                assert_closed_with(other, 4429);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "place never given back"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
    stop_checked(node).await;
}

/// Tenant A floods over WebSockets and HTTP far beyond its rate while tenant B counts people:
/// every one of B's readings is acknowledged, and A is told to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_neighbour_cannot_starve_another_tenant() {
    let Neighbours {
        _dir, node, a, b, ..
    } = neighbours(rate(100), &["r1", "r2", "r3", "r4"]).await;
    let addr = node.addr();

    let stop = Arc::new(AtomicBool::new(false));
    let closed_4429 = Arc::new(AtomicUsize::new(0));
    let mut flooders = Vec::new();
    for key in &a[..3] {
        let (stop, closed, key) = (stop.clone(), closed_4429.clone(), key.clone());
        flooders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if flood_until_closed(addr, &key).await == Some(4429) {
                    closed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let http_flooder = {
        let (stop, key) = (stop.clone(), a[3].clone());
        tokio::spawn(async move {
            let (mut refused, mut after) = (Vec::new(), 0);
            while !stop.load(Ordering::Relaxed) {
                match post_batch(addr, &key, after).await {
                    (200, _, _) => after += 50,
                    (status, retry_after, body) => refused.push((status, retry_after, body)),
                }
            }
            refused
        })
    };

    let mut sensor = SensorClient::connect(addr, &b[0], Codec::MsgPack).await;
    for round in 0..40 {
        // Each count waits for its ack (and fails the test if none comes within its patience).
        sensor.count(round % 5).await;
    }
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.unwrap();
    }
    let refused = http_flooder.await.unwrap();
    assert!(
        closed_4429.load(Ordering::Relaxed) > 0,
        "the flooding sensors were closed with 4429"
    );
    assert!(!refused.is_empty(), "the HTTP flood was refused");
    for (status, retry_after, body) in refused {
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "rate_limited");
        assert!(
            retry_after.is_some_and(|s| s >= 1),
            "Retry-After: {retry_after:?}"
        );
    }
    stop_checked(node).await;
}

/// Connects a sensor and sends batches without waiting for acks until the node closes the
/// socket; the close code.
async fn flood_until_closed(addr: SocketAddr, key: &str) -> Option<u16> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let sensor = SensorClient::connect(addr, key, Codec::MsgPack).await;
    let (mut sink, mut stream) = sensor.socket.split();
    let mut after = sensor.last_seq;
    let frames = Codec::MsgPack;
    loop {
        let frame = frames.encode(&tally_protocol::SensorFrame::Readings {
            items: batch(after),
        });
        after += 50;
        tokio::select! {
            sent = sink.send(Message::Binary(frame.into())) => if sent.is_err() { break },
            message = stream.next() => match message {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    // The socket failed while sending: read what the node said last.
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Close(frame) = message {
            return frame.map(|f| u16::from(f.code));
        }
    }
    None
}
