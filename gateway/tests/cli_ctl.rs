//! `tally ctl` against real `tally` processes: tenants (list, show, create), a room's sensors
//! and a sensor's keys (list, rotate, revoke, delete the sensor),
//! node health and quarantines, each as an aligned table and as `--json`; a bad admin token, an
//! unknown tenant and an unreachable node each give one clear line and a non-zero exit; the
//! token is read from `TALLY_ADMIN_TOKEN` or `--token-file`. On a two-node cluster, the
//! quarantine listing and the health cover both nodes. A tenant quarantined for real (its room
//! made to panic until the node gives up on it) is listed, and lifted so that it ingests again.

mod support;

use std::process::Output;

use serde_json::Value;
use support::cluster::Cluster;
use support::faults::panic_room;
use support::{ADMIN_TOKEN, Api, ChildNode, now_ms, temp_dir, test_settings};

/// Where and with which credentials `tally ctl` is run.
struct Ctl {
    url: String,
    token: Option<String>,
}

impl Ctl {
    /// `tally ctl` against `addr` with the test's admin token in `TALLY_ADMIN_TOKEN`.
    fn at(addr: std::net::SocketAddr) -> Self {
        Self {
            url: format!("http://{addr}"),
            token: Some(ADMIN_TOKEN.to_owned()),
        }
    }

    /// `tally ctl ARGS…` (the URL in `TALLY_URL`), its exit status and output.
    async fn run(&self, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"));
        command
            .arg("ctl")
            .args(args)
            .env("TALLY_URL", &self.url)
            .env_remove("TALLY_ADMIN_TOKEN")
            .env_remove("TALLY_AUTH__ADMIN_TOKEN")
            .env_remove("TALLY_CONFIG");
        if let Some(token) = &self.token {
            command.env("TALLY_ADMIN_TOKEN", token);
        }
        command.output().await.expect("tally ctl runs")
    }

    /// The table `tally ctl ARGS…` prints, as lines; panics with its stderr if it failed.
    async fn lines(&self, args: &[&str]) -> Vec<String> {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "tally ctl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8 output")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The JSON document `tally ctl --json ARGS…` prints.
    async fn json(&self, args: &[&str]) -> Value {
        let args: Vec<&str> = ["--json"].iter().chain(args).copied().collect();
        let text = self.lines(&args).await.join("\n");
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
    }

    /// The one line `tally ctl ARGS…` says on stderr when it fails (it must fail).
    async fn failure(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            !output.status.success(),
            "tally ctl {args:?} succeeded: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// The cells of a table line.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

/// The status of one reading posted over HTTP with the sensor key `key`.
async fn ingest(api: &Api, key: &str) -> u16 {
    let reading = serde_json::json!({ "items": [{ "seq": 1, "ts": now_ms(), "count": 1 }] });
    api.post("/v1/readings", key, reading).await.0
}

/// The table's rows (header first) as cells.
fn table(lines: &[String]) -> Vec<Vec<&str>> {
    lines.iter().map(|line| cells(line)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_lists_shows_and_creates_on_a_node_with_tables_json_and_clear_errors() {
    let (_dir, data) = temp_dir();
    let node = ChildNode::start(&data);
    let ctl = Ctl::at(node.addr);
    let api = Api::new(node.addr);
    let old_key = api.provision("beta", "hq", &["r1"]).await.remove(0);

    let created = ctl
        .lines(&["tenants", "create", "acme", "--name", "Acme Corp"])
        .await;
    assert_eq!(created, ["created tenant acme (name \"Acme Corp\")"]);
    let created = ctl.json(&["tenants", "create", "gamma"]).await;
    assert_eq!(created["id"], "gamma", "{created}");

    assert_eq!(
        table(&ctl.lines(&["tenants", "list"]).await),
        [
            vec!["TENANT", "NAME"],
            vec!["acme", "Acme Corp"],
            vec!["beta", "beta"],
            vec!["gamma"],
        ]
    );
    let listed = ctl.json(&["tenants", "list"]).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|tenant| tenant["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "beta", "gamma"], "{listed}");

    let shown = ctl.lines(&["tenants", "show", "beta"]).await;
    assert_eq!(shown[0], "tenant beta  name beta");
    assert_eq!(table(&shown[1..]), [vec!["OFFICE", "NAME"], vec!["hq"]]);
    let shown = ctl.json(&["tenants", "show", "beta"]).await;
    assert_eq!(shown["tenant"]["id"], "beta", "{shown}");
    assert_eq!(shown["offices"][0]["id"], "hq", "{shown}");

    assert_eq!(
        table(&ctl.lines(&["sensors", "list", "beta", "hq", "r1"]).await),
        [vec!["SENSOR", "OFFICE", "ROOM"], vec!["r1-s", "hq", "r1"]]
    );
    let sensors = ctl.json(&["sensors", "list", "beta", "hq", "r1"]).await;
    assert_eq!(sensors.as_array().unwrap().len(), 1, "{sensors}");
    assert!(
        sensors[0].get("key").is_none(),
        "no key is shown: {sensors}"
    );

    // A sensor's keys: list, rotate (the new key printed once), revoke, then delete the sensor.
    let keys = ctl.json(&["sensors", "keys", "beta", "r1-s"]).await;
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(keys[0]["valid"], true, "{keys}");
    let rotated = ctl
        .json(&["sensors", "rotate", "beta", "r1-s", "--overlap-secs", "0"])
        .await;
    let new_key = rotated["key"].as_str().expect("the new key").to_owned();
    assert_eq!(ingest(&api, &new_key).await, 200);
    assert_eq!(
        ingest(&api, &old_key).await,
        401,
        "an overlap of 0 ends the old key"
    );
    let listed = table(&ctl.lines(&["sensors", "keys", "beta", "r1-s"]).await)
        .into_iter()
        .map(|row| row.join(" "))
        .collect::<Vec<_>>();
    assert_eq!(listed[0], "KEY CREATED_AT EXPIRES_AT VALID");
    let new_id = rotated["id"].as_str().unwrap();
    assert!(
        listed
            .iter()
            .any(|row| row.starts_with(new_id) && row.ends_with("true")),
        "{listed:?}"
    );
    assert_eq!(
        ctl.lines(&["sensors", "revoke", "beta", "r1-s"]).await,
        ["revoked every key of sensor r1-s"]
    );
    assert_eq!(ingest(&api, &new_key).await, 401, "revoked");
    let deleted = ctl.json(&["sensors", "delete", "beta", "r1-s"]).await;
    assert_eq!(deleted["deleted"], true, "{deleted}");
    let again = ctl.run(&["sensors", "delete", "beta", "r1-s"]).await;
    assert!(!again.status.success(), "deleting twice fails");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not_found"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        ctl.json(&["sensors", "list", "beta", "hq", "r1"]).await,
        serde_json::json!([])
    );

    let health = ctl.lines(&["health"]).await;
    let url = ctl.url.as_str();
    assert_eq!(
        table(&health),
        [
            vec!["NODE", "URL", "MEMBER", "LIVE", "READY", "PROBLEM"],
            vec!["node-1", url, "-", "yes", "yes", "-"],
        ]
    );
    let health = ctl.json(&["health"]).await;
    assert_eq!(health["nodes"][0]["ready"], true, "{health}");
    assert_eq!(health["nodes"][0]["url"], url, "{health}");

    // The token from a file, with nothing in the environment.
    let file = data.join("ctl-token");
    std::fs::write(&file, format!("{ADMIN_TOKEN}\n")).unwrap();
    let from_file = Ctl {
        url: ctl.url.clone(),
        token: None,
    };
    let file = file.to_str().unwrap();
    let listed = from_file
        .json(&["tenants", "list", "--token-file", file])
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");

    // Clear errors, non-zero exits.
    let unknown = ctl.failure(&["tenants", "show", "nope"]).await;
    assert!(
        unknown.contains("not_found: tenant \"nope\" not found"),
        "{unknown}"
    );
    let bad_token = Ctl {
        url: ctl.url.clone(),
        token: Some("not-the-admin-token".to_owned()),
    };
    let refused = bad_token.failure(&["tenants", "list"]).await;
    assert!(
        refused.contains("unauthenticated") && refused.contains("check the admin token"),
        "{refused}"
    );
    let not_quarantined = ctl.failure(&["quarantines", "lift", "beta"]).await;
    assert!(
        not_quarantined.contains("not_found: quarantine of tenant \"beta\" not found"),
        "{not_quarantined}"
    );
    // A node that runs alone lists its own quarantines.
    assert_eq!(
        table(&ctl.lines(&["quarantines", "list"]).await),
        [vec!["NODE", "QUARANTINED"], vec!["node-1", "none"]]
    );
    assert_eq!(
        ctl.json(&["quarantines", "list"]).await,
        serde_json::json!({ "nodes": { "node-1": [] } })
    );

    let nowhere = Ctl {
        url: "http://127.0.0.1:1".to_owned(),
        token: Some(ADMIN_TOKEN.to_owned()),
    };
    let unreachable = nowhere.failure(&["tenants", "list"]).await;
    assert!(
        unreachable.contains("cannot reach tally at http://127.0.0.1:1"),
        "{unreachable}"
    );
    let down = nowhere.failure(&["--json", "health"]).await;
    assert!(down.contains("1 of 1 nodes not ready"), "{down}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_lists_quarantines_and_health_of_every_node_of_a_cluster() {
    let cluster = Cluster::start(2).await;
    let ctl = Ctl::at(cluster.addr(0));

    assert_eq!(
        table(&ctl.lines(&["quarantines", "list"]).await),
        [
            vec!["NODE", "QUARANTINED"],
            vec!["n1", "none"],
            vec!["n2", "none"],
        ]
    );
    let listing = ctl.json(&["quarantines", "list"]).await;
    assert_eq!(
        listing,
        serde_json::json!({ "nodes": { "n1": [], "n2": [] } })
    );

    let lines = ctl.lines(&["health"]).await;
    let health = table(&lines);
    assert_eq!(health.len(), 3, "a header and both nodes: {health:?}");
    for (row, node) in health[1..].iter().zip(["n1", "n2"]) {
        assert_eq!(row[0], node, "{health:?}");
        assert_eq!(row[2..5], ["active", "yes", "yes"], "{health:?}");
    }
    let health = ctl.json(&["health"]).await;
    let n2 = &health["nodes"][1];
    assert_eq!(n2["url"], format!("http://{}", cluster.addr(1)), "{health}");
    assert_eq!(n2["ready"], true, "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_lists_and_lifts_a_tenant_quarantined_on_a_node() {
    let (_dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    settings.supervision.max_restarts = 2;
    settings.supervision.restart_window = std::time::Duration::from_secs(600);
    let node_id = settings.node.node_id.clone();
    let node = tally_gateway::start(settings).await.unwrap();
    let ctl = Ctl::at(node.addr());
    let api = Api::new(node.addr());
    let failing = api.provision("failing", "hq", &["r1"]).await.remove(0);
    let healthy = api.provision("healthy", "hq", &["r1"]).await.remove(0);
    let mut panics = 0;
    while panic_room(&node, "failing", "hq", "r1").await {
        panics += 1;
        assert!(panics < 50, "tenant never quarantined");
    }
    assert_eq!(ingest(&api, &failing).await, 503);

    assert_eq!(
        table(&ctl.lines(&["quarantines", "list"]).await),
        [
            vec!["NODE", "QUARANTINED"],
            vec![node_id.as_str(), "failing"]
        ]
    );
    assert_eq!(
        ctl.json(&["quarantines", "list"]).await,
        serde_json::json!({ "nodes": { node_id.as_str(): ["failing"] } })
    );
    let not_quarantined = ctl.failure(&["quarantines", "lift", "healthy"]).await;
    assert!(
        not_quarantined.contains("not_found: quarantine of tenant \"healthy\" not found"),
        "{not_quarantined}"
    );
    assert_eq!(ingest(&api, &healthy).await, 200);

    assert_eq!(
        ctl.json(&["quarantines", "lift", "failing"]).await,
        serde_json::json!({ "tenant": "failing", "lifted": true })
    );
    assert_eq!(
        ingest(&api, &failing).await,
        200,
        "served again, from storage"
    );
    assert_eq!(
        table(&ctl.lines(&["quarantines", "list"]).await),
        [vec!["NODE", "QUARANTINED"], vec![node_id.as_str(), "none"]]
    );
    let lifted_twice = ctl.failure(&["quarantines", "lift", "failing"]).await;
    assert!(
        lifted_twice.contains("not_found: quarantine of tenant \"failing\" not found"),
        "{lifted_twice}"
    );
    node.stop().await;
}
