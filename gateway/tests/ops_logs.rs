//! JSON log lines of a real `tally run` process name their node and the event's tenant, and the
//! log filter changes while the node runs through the admin API (`/v1/admin/log-filter`). With
//! no trace export configured, a reading's log lines still carry a W3C trace id (the sensor's
//! own from its `traceparent`, or a new one) and name its tenant, office and room.

mod support;

use serde_json::{Value, json};
use support::cluster::{NodeProcess, field, message};
use support::{ADMIN_TOKEN, Api, now_ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_name_the_node_and_the_filter_changes_at_run_time() {
    let data = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("TALLY_NODE__NODE_ID", "logs-node".to_owned()),
        ("TALLY_NODE__DATA_DIR", data.path().display().to_string()),
        ("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .into();
    let node = NodeProcess::start(&env);
    let api = Api::new(node.addr);
    let listening = node
        .logs
        .await_line("listening", |line| message(line) == "listening")
        .await;
    assert_eq!(field(&listening, "node").as_deref(), Some("logs-node"));

    let (status, body) = api.get("/v1/admin/log-filter", ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    // The configured one (`EnvFilter` shows its directives in its own order).
    let filter = body["filter"].as_str().unwrap_or_default();
    assert!(
        filter.contains("fjall=warn") && filter.split(',').any(|d| d == "info"),
        "{body}"
    );

    // Only warnings: a tenant created now is not logged.
    let (status, body) = api
        .put(
            "/v1/admin/log-filter",
            ADMIN_TOKEN,
            json!({ "filter": "warn" }),
        )
        .await;
    assert_eq!((status, &body["filter"]), (200, &json!("warn")), "{body}");
    api.create("/v1/tenants", json!({ "id": "quiet", "name": "quiet" }))
        .await;
    // Back to info: the next tenant is logged, with its id, by the node.
    let (status, body) = api
        .put(
            "/v1/admin/log-filter",
            ADMIN_TOKEN,
            json!({ "filter": "info" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    api.create("/v1/tenants", json!({ "id": "loud", "name": "loud" }))
        .await;
    let created = node
        .logs
        .await_line("tenant created (loud)", |line| {
            message(line) == "tenant created" && field(line, "tenant").as_deref() == Some("loud")
        })
        .await;
    assert_eq!(field(&created, "node").as_deref(), Some("logs-node"));
    let quiet = node.logs.matching(|line| {
        message(line) == "tenant created" && field(line, "tenant").as_deref() == Some("quiet")
    });
    assert!(quiet.is_empty(), "logged under the warn filter: {quiet:?}");

    // A directive that does not parse is refused and the filter stays.
    let (status, body) = api
        .put(
            "/v1/admin/log-filter",
            ADMIN_TOKEN,
            json!({ "filter": "info,tally=nonsense[" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    let (_, body) = api.get("/v1/admin/log-filter", ADMIN_TOKEN).await;
    assert_eq!(body["filter"], "info");
    // Tenants' tokens cannot change it.
    let (status, _) = api
        .put(
            "/v1/admin/log-filter",
            "not-a-token",
            json!({ "filter": "trace" }),
        )
        .await;
    assert_eq!(status, 401);
    node.terminate();
}

/// Whether `text` is `len` lowercase hex digits, not all zero (a valid W3C id).
fn w3c_id(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && text.bytes().any(|b| b != b'0')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readings_log_lines_carry_its_trace_id_and_place_with_trace_export_off() {
    let data = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("TALLY_NODE__NODE_ID", "untraced-node".to_owned()),
        ("TALLY_NODE__DATA_DIR", data.path().display().to_string()),
        ("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0".to_owned()),
        // The gateway's debug line of a durable HTTP batch.
        (
            "TALLY_LOG__FILTER",
            "info,fjall=warn,lsm_tree=warn,tally_gateway::ingest=debug".to_owned(),
        ),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .into();
    let node = NodeProcess::start(&env);
    let api = Api::new(node.addr);
    let key = api.provision("acme", "hq", &["r1"]).await.remove(0);
    let post = |seq: u64, traceparent: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(format!("http://{}/v1/readings", node.addr))
            .bearer_auth(&key)
            .json(&json!({ "items": [{ "seq": seq, "ts": now_ms(), "count": 1 }] }));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 200);
        }
    };
    let durable = |seq: u64| {
        let logs = node.logs.clone();
        async move {
            logs.await_line("batch durable", |line| {
                message(line) == "batch durable"
                    && field(line, "up_to_seq") == Some(seq.to_string())
            })
            .await
        }
    };
    let place = |line: &Value| {
        ["tenant", "office", "room"].map(|name| line["span"][name].as_str().map(str::to_owned))
    };

    // The sensor's trace: the line's trace id is the sensor's, its span the gateway's own.
    let sensor_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sensor_span = "00f067aa0ba902b7";
    post(1, Some(&format!("00-{sensor_trace}-{sensor_span}-01"))).await;
    let line = durable(1).await;
    assert_eq!(
        field(&line, "trace_id").as_deref(),
        Some(sensor_trace),
        "{line}"
    );
    let span_id = field(&line, "span_id").unwrap_or_default();
    assert!(w3c_id(&span_id, 16) && span_id != sensor_span, "{line}");
    assert_eq!(
        field(&line, "node").as_deref(),
        Some("untraced-node"),
        "{line}"
    );
    assert_eq!(
        place(&line),
        ["acme", "hq", "r1"].map(|name| Some(name.to_owned())),
        "{line}"
    );

    // No traceparent: a trace of its own, still named in the line.
    post(2, None).await;
    let line = durable(2).await;
    let trace_id = field(&line, "trace_id").unwrap_or_default();
    assert!(w3c_id(&trace_id, 32) && trace_id != sensor_trace, "{line}");
    assert_eq!(place(&line)[2].as_deref(), Some("r1"), "{line}");

    // A malformed traceparent is ignored, as W3C Trace Context asks.
    post(3, Some("00-nonsense")).await;
    let line = durable(3).await;
    let other = field(&line, "trace_id").unwrap_or_default();
    assert!(w3c_id(&other, 32) && other != trace_id, "{line}");
    node.terminate();
}
