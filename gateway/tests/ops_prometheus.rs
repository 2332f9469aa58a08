//! The shipped dashboard and alert rules (`gateway/ops/`) against a real Prometheus: `promtool
//! check rules` passes on the rules file, and a Prometheus started here (Debian's `prometheus`
//! package, `gateway/scripts/install-prometheus.sh`; free port, temp dir, 1 s scrapes) scraping a
//! three-node cluster under a little load answers every query of the dashboard and of the rules
//! with data, and fires the node-down alert once a node is killed. Never skips.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::cluster::{Cluster, provision};
use support::load::{LoadSensor, eventually};
use support::{ADMIN_TOKEN, DisplayClient};

const RULES: &str = include_str!("../ops/prometheus-rules.yml");
const DASHBOARD: &str = include_str!("../ops/grafana-dashboard.json");

/// The `expr` of every rule in the rules file (each on one line).
fn rule_exprs() -> Vec<String> {
    RULES
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr: "))
        .map(str::to_owned)
        .collect()
}

/// The query of a rule without its threshold: the part that must have data while nothing is
/// wrong (`up{job="tally"} == 0` → `up{job="tally"}`).
fn without_threshold(expr: &str) -> &str {
    [" == ", " < ", " > "]
        .iter()
        .filter_map(|op| expr.rfind(op))
        .max()
        .map_or(expr, |at| expr[..at].trim())
}

/// Every query of every panel of the dashboard.
fn dashboard_exprs() -> Vec<String> {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| target["expr"].as_str().expect("a PromQL expr").to_owned())
        .collect()
}

#[test]
fn promtool_accepts_the_shipped_rules() {
    let output = Command::new("promtool")
        .args(["check", "rules"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("ops/prometheus-rules.yml"))
        .output()
        .expect("promtool runs (install it with gateway/scripts/install-prometheus.sh)");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.contains("SUCCESS: 6 rules found"),
        "promtool check rules: {}\n{said}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(rule_exprs().len(), 6);
}

/// A Prometheus server of the test's own, killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` every second with the shipped rules, each rule's
    /// `for` shortened to 2 s so that the test does not wait minutes for an alert.
    async fn start(targets: &[SocketAddr]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rules: String = RULES
            .lines()
            .map(|line| match line.trim().strip_prefix("for: ") {
                Some(_) => "        for: 2s\n".to_owned(),
                None => format!("{line}\n"),
            })
            .collect();
        std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [rules.yml]\n\
             scrape_configs:\n  - job_name: tally\n    authorization:\n      credentials: {ADMIN_TOKEN}\n    \
             static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus runs (install it with gateway/scripts/install-prometheus.sh)");
        let prometheus = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _dir: dir,
        };
        eventually("prometheus is ready", async || {
            let ready = prometheus
                .http
                .get(format!("{}/-/ready", prometheus.base))
                .send()
                .await;
            ready.is_ok_and(|response| response.status().is_success())
        })
        .await;
        prometheus
    }

    /// `GET /api/v1/{path}` with `query`, its `data`.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self
            .http
            .get(format!("{}/api/v1/{path}", self.base))
            .query(query)
            .send()
            .await
            .expect("prometheus answers");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
        body["data"].clone()
    }

    /// The result of an instant query (an error in the query fails the test).
    async fn query(&self, expr: &str) -> Vec<Value> {
        let data = self.api("query", &[("query", expr)]).await;
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `expr` returns at least one sample.
    async fn await_data(&self, expr: &str) {
        eventually(&format!("{expr} returns data"), async || {
            !self.query(expr).await.is_empty()
        })
        .await;
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_and_rule_has_data_and_node_down_fires_on_a_killed_node() {
    let mut cluster = Cluster::start(3).await;
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    let token = cluster.api(0).viewer_token("acme").await;
    // Office i: a sensor on node i % 3 (so some readings are forwarded to their owner), and a
    // display on a node that does not own it (so its frames are relayed).
    let mut sensors = Vec::new();
    let mut displays = Vec::new();
    for (i, office) in offices.iter().enumerate() {
        let (_, key) = &office.rooms[0];
        sensors.push(LoadSensor::spawn(cluster.addr(i % 3), key.clone()));
        let elsewhere = (cluster.placed_on("acme", &office.office) + 1) % 3;
        let mut display = DisplayClient::connect(cluster.addr(elsewhere), &token).await;
        display.subscribe(&office.office, None).await;
        displays.push(display);
    }

    let prometheus = Prometheus::start(&cluster.addrs()).await;
    eventually("every node was scraped", async || {
        prometheus.query("up{job=\"tally\"} == 1").await.len() == 3
    })
    .await;
    let mut exprs = dashboard_exprs();
    assert!(exprs.len() >= 20, "a dashboard of {} queries", exprs.len());
    exprs.extend(rule_exprs().iter().map(|e| without_threshold(e).to_owned()));
    for expr in &exprs {
        prometheus.await_data(expr).await;
    }
    // Every node answers: node-down has not fired.
    let down = prometheus
        .query("ALERTS{alertname=\"TallyNodeDown\"}")
        .await;
    assert!(
        down.is_empty(),
        "a node down before any was killed: {down:?}"
    );

    let killed = cluster.addr(2).to_string();
    cluster.kill9(2);
    eventually("TallyNodeDown fires for the killed node", async || {
        let alerts = prometheus.api("alerts", &[]).await;
        alerts["alerts"].as_array().unwrap().iter().any(|alert| {
            alert["labels"]["alertname"] == "TallyNodeDown"
                && alert["labels"]["instance"] == killed.as_str()
                && alert["state"] == "firing"
        })
    })
    .await;
    let down = prometheus
        .query("ALERTS{alertname=\"TallyNodeDown\"}")
        .await;
    assert!(
        down.iter()
            .all(|alert| alert["metric"]["instance"] == killed.as_str()),
        "only the killed node is down: {down:?}"
    );

    for sensor in sensors {
        assert!(sensor.stop().await > 0, "the load was acknowledged");
    }
    drop(displays);
}
