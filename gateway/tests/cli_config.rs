//! The `tally` binary's configuration: `tally config` prints the effective settings with secrets
//! redacted, and an invalid configuration stops start-up with every bad field named.

use std::process::Command;

fn tally() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tally"))
}

#[test]
fn config_prints_the_effective_configuration_without_secrets() {
    let output = tally()
        .arg("config")
        .env("TALLY_INGEST__INFLIGHT_WINDOW", "777")
        .env("TALLY_AUTH__ADMIN_TOKEN", "a-very-secret-admin-token")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("inflight_window = 777"), "{printed}");
    assert!(
        printed.contains("[persister]") && printed.contains("coalesce_interval = \"50ms\""),
        "{printed}"
    );
    assert!(
        !printed.contains("a-very-secret-admin-token"),
        "secret printed: {printed}"
    );
}

#[test]
fn invalid_configuration_fails_at_start_naming_each_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tally.toml");
    std::fs::write(
        &file,
        "[ingest]\ninflight_window = 8\nmax_batch_items = 9\n\n[display]\ninflight_frames = 0\n",
    )
    .unwrap();
    let output = tally()
        .arg("--config")
        .arg(&file)
        .arg("run")
        .env("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ingest.max_batch_items"), "{stderr}");
    assert!(stderr.contains("display.inflight_frames"), "{stderr}");

    let output = tally()
        .arg("run")
        .env("TALLY_NODE__NODE_ID", "Not A Slug")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("node.node_id"));
}

#[path = "support/mod.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_cleanly() {
    let (_dir, data) = support::temp_dir();
    let mut node = support::ChildNode::start(&data);
    let api = support::Api::new(node.addr);
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let mut sensor =
        support::SensorClient::connect(node.addr, &keys[0], tally_protocol::Codec::Json).await;
    sensor.count(3).await;
    // The shell's builtin `kill`: no dependency on procps being installed.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", node.child.id()))
        .status()
        .unwrap();
    assert!(status.success());
    let exit = node.child.wait().unwrap();
    assert!(exit.success(), "tally exited with {exit:?} after SIGTERM");
    drop(node);
    let node = support::ChildNode::start(&data);
    let sensor =
        support::SensorClient::connect(node.addr, &keys[0], tally_protocol::Codec::Json).await;
    assert_eq!(sensor.last_seq, 1);
}
