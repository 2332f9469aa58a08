//! JSON log lines of a real `tally run` process name their node and the event's tenant, and the
//! log filter changes while the node runs through the admin API (`/v1/admin/log-filter`).

mod support;

use serde_json::json;
use support::cluster::{NodeProcess, field, message};
use support::{ADMIN_TOKEN, Api};

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
