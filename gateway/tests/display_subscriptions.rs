//! Display subscriptions are released as soon as a display replaces or closes them (a hole found
//! by trying the node as an attacker would). Its own test binary: the gauge it reads is
//! process-wide.

mod support;

use support::*;
use tally_protocol::DisplayFrame;

/// The value of an unlabelled gauge on `/metrics`.
async fn gauge(api: &Api, name: &str) -> f64 {
    let (_, text) = api.get("/metrics", ADMIN_TOKEN).await;
    let text = text.as_str().unwrap_or_default().to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// Waits until an unlabelled gauge on `/metrics` shows `want`; fails after the test's patience.
async fn wait_for_gauge(api: &Api, name: &str, want: f64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let value = gauge(api, name).await;
        if value == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed at {value}, expected {want}"
        );
        tokio::task::yield_now().await;
    }
}

/// A display that re-subscribes over and over to a quiet office used to leave every replaced
/// subscription in the office until it next published (~3 KB each, for every tenant's viewer):
/// now each is released at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_and_closed_display_subscriptions_are_released_at_once() {
    const NAME: &str = "tally_display_subscriptions";
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    api.provision("acme", "hq", &["r1", "r2"]).await;
    let token = api.viewer_token("acme").await;
    let mut display = DisplayClient::connect(node.addr(), &token).await;
    for round in 0..100 {
        let room = ["r1", "r2"][round % 2];
        for target in [Some(room), None] {
            display.subscribe("hq", target).await;
            display
                .until(|frame| matches!(frame, DisplayFrame::Snapshot { .. }))
                .await;
        }
    }
    // Every subscribe answered its snapshot, so the office has seen every replacement.
    wait_for_gauge(&api, NAME, 1.0).await;
    let mut second = DisplayClient::connect(node.addr(), &token).await;
    second.subscribe("hq", None).await;
    second
        .until(|frame| matches!(frame, DisplayFrame::Snapshot { .. }))
        .await;
    wait_for_gauge(&api, NAME, 2.0).await;
    drop(display);
    drop(second);
    wait_for_gauge(&api, NAME, 0.0).await;
    stop_checked(node).await;
}
