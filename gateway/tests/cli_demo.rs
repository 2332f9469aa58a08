//! `tally demo`: the node comes up with the demo tenant, its simulated rooms change within a few
//! seconds, and the printed display URLs and their token work.

mod support;

use std::process::Stdio;

use support::{DisplayClient, Next, PATIENCE};
use tally_protocol::DisplayFrame;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The counts of every room in a frame.
fn counts(frame: &DisplayFrame) -> Vec<(String, u32)> {
    match frame {
        DisplayFrame::Snapshot { rooms, .. } | DisplayFrame::Delta { rooms, .. } => rooms
            .iter()
            .map(|r| (r.room.to_string(), r.count))
            .collect(),
        DisplayFrame::Error { .. } => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_its_printed_urls_and_its_rooms_change() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .arg("demo")
        .env("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0")
        .env("TALLY_LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    let mut data_dir = None;
    loop {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the demo printed its URLs within the test's patience")
            .unwrap()
            .expect("the demo is still running");
        if let Some(url) = line.trim().strip_prefix("http://") {
            urls.push(url.to_owned());
        }
        if let Some(dir) = line.strip_prefix("Data: ") {
            data_dir = Some(std::path::PathBuf::from(dir));
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    assert!(urls.len() >= 3, "a tenant page and offices: {urls:?}");
    assert!(urls[0].contains("/display/demo#token="), "{urls:?}");

    // Every printed page is served.
    let http = reqwest::Client::new();
    for url in &urls {
        let (page, _) = url.split_once('#').unwrap();
        let answer = http.get(format!("http://{page}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{page}");
    }

    // The token works on the display socket, and the office's rooms change by themselves.
    let (page, token) = urls[1].split_once("#token=").unwrap();
    let (addr, path) = page.split_once('/').unwrap();
    let office = path.rsplit('/').next().unwrap();
    let mut display = DisplayClient::connect(addr.parse().unwrap(), token).await;
    display.subscribe(office, None).await;
    let snapshot = match display.next().await {
        Next::Frame(frame @ DisplayFrame::Snapshot { .. }) => frame,
        other => panic!("expected a snapshot, got {other:?}"),
    };
    let rooms = counts(&snapshot);
    assert!(
        rooms.len() >= 6,
        "the demo office has dozens of rooms: {rooms:?}"
    );
    let changed = display
        .until(|frame| {
            matches!(frame, DisplayFrame::Delta { .. })
                && counts(frame).iter().any(|room| !rooms.contains(room))
        })
        .await;
    assert!(!counts(&changed).is_empty());
    child.kill().await.unwrap();
    let data_dir = data_dir.expect("the demo printed its data directory");
    assert!(
        data_dir.join("jwt_secret").exists(),
        "{}",
        data_dir.display()
    );
    std::fs::remove_dir_all(data_dir).unwrap();
}
