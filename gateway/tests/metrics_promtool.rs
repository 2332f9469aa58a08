//! `promtool check metrics` (Prometheus' own linter) is clean on a live node's `/metrics`, and
//! latencies are histograms with buckets. promtool comes from Debian's `prometheus` package
//! (`gateway/scripts/install-prometheus.sh`, run by `gateway/scripts/test.sh`); the test never
//! skips.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::*;
use tally_protocol::Codec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_nothing_to_fault_in_a_live_node_s_metrics() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    // A little traffic, so that the metrics of every path exist: REST, HTTP and WebSocket
    // ingest (acks, group commits), a display.
    let keys = api.provision("acme", "hq", &["r1", "r2"]).await;
    let readings = serde_json::json!({ "items": [{ "seq": 1, "ts": now_ms(), "count": 2 }] });
    let (status, body) = api.post("/v1/readings", &keys[0], readings).await;
    assert_eq!(status, 200, "{body}");
    let mut sensor = SensorClient::connect(node.addr(), &keys[1], Codec::MsgPack).await;
    sensor.count(3).await;
    let viewer = api.viewer_token("acme").await;
    let mut display = DisplayClient::connect(node.addr(), &viewer).await;
    display.subscribe("hq", None).await;
    let (status, _) = api.get("/v1/tenants/nowhere", ADMIN_TOKEN).await;
    assert_eq!(status, 404);

    let (status, text) = api.get("/metrics", ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{text}");
    let text = text.as_str().expect("Prometheus text").to_owned();
    stop_checked(node).await;

    for histogram in [
        "tally_sensor_ack_seconds",
        "tally_persist_seconds",
        "tally_persist_batch_rows",
        "tally_http_request_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {histogram} histogram"))
                && text.contains(&format!("{histogram}_bucket{{")),
            "{histogram} is not a histogram with buckets:\n{text}"
        );
    }
    let lines = text.lines();
    let helped = lines.clone().filter(|l| l.starts_with("# HELP ")).count();
    let typed = lines.filter(|l| l.starts_with("# TYPE ")).count();
    assert!(typed >= 10, "too few metrics:\n{text}");
    assert_eq!(helped, typed, "a metric without HELP:\n{text}");

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (install it with gateway/scripts/install-prometheus.sh)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics: {}\n{said}\non:\n{text}",
        output.status
    );
}
