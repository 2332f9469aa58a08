//! The wall display page (`/display/{tenant}/{office}`) in headless Chromium against an
//! in-process node: tiles follow readings, the page survives a node restart (banner, then a
//! resync from a snapshot), it fits landscape and portrait screens, a bad token shows what to do,
//! and the token never reaches the node's logs. Screenshots land in
//! `$CARGO_TARGET_TMPDIR/display-page/`.
//!
//! Needs Chromium: `gateway/scripts/install-chromium.sh` installs it; without it these tests fail.

mod browser;
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use browser::office::{
    DESCRIBE, OFFICE, ROOMS, TENANT, expired_viewer_token, main_rooms, out_dir, provision,
    send_counts, shows_counts,
};
use browser::{Browser, FITS};
use serde_json::{Value, json};
use support::{Api, stop_checked, temp_dir, test_settings};

/// Readings sent to the main office: (room, count).
const COUNTS: &[(&str, i64)] = &[
    ("atlas", 2),     // 25 % free
    ("boardroom", 9), // 75 % busy
    ("cobalt", 4),    // 100 % full
    ("focus-1", 2),   // 200 % over capacity
    ("lounge", 12),   // 40 % free
    ("kestrel", 11),  // 69 % busy
    ("booth-a", 1),   // full
    ("library", 3),   // free
    ("studio", 3),    // busy
    ("delta", 5),     // over capacity
];

/// Everything logged in this test binary at every level, except tungstenite's frame payloads:
/// at `trace` it logs every WebSocket frame, and the test's own DevTools commands carry the token.
/// (The display's upgrade request, which carries it in the query, is logged, if at all, by
/// hyper and axum, which stay at `trace`.)
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,tungstenite=debug",
            ))
            .with_ansi(false)
            .with_writer(move || LogSink(Arc::clone(&sink)))
            .init();
        logs
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_display_follows_readings_and_resyncs_after_a_node_restart() {
    let logs = captured_logs();
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let addr = node.addr();
    let api = Api::new(addr);
    let keys = provision(&api, (OFFICE, "Headquarters · 3rd floor"), &main_rooms()).await;
    let token = api.viewer_token(TENANT).await;

    let mut browser = Browser::launch(1920, 1080).await;
    browser
        .goto(&format!(
            "http://{addr}/display/{TENANT}/{OFFICE}#token={token}"
        ))
        .await;
    let all_tiles = format!(
        "document.body.dataset.conn === 'live' && document.querySelectorAll('.tile').length === {}",
        ROOMS.len()
    );
    browser
        .wait_for("the first snapshot", &all_tiles, DESCRIBE)
        .await;
    // The token left the address bar for local storage.
    assert_eq!(
        browser.eval("location.href").await,
        json!(format!("http://{addr}/display/{TENANT}/{OFFICE}"))
    );
    let stored = format!("localStorage.getItem('tally.display.token.{TENANT}')");
    assert_eq!(browser.eval(&stored).await, json!(token));
    assert_eq!(
        browser
            .eval("document.querySelector('.tile[data-room=\"kestrel\"] .name').textContent")
            .await,
        json!("Kestrel training room")
    );
    assert_eq!(
        browser
            .eval("document.getElementById('office-name').textContent")
            .await,
        json!("Headquarters · 3rd floor")
    );

    // Readings change the tiles: numbers, state classes, labels, colours and the office total.
    send_counts(addr, &keys, COUNTS).await;
    browser
        .wait_for("the new counts", &shows_counts(COUNTS), DESCRIBE)
        .await;
    // Sensors that report are not marked offline (the mark is tested in its own test).
    let offline = "document.querySelectorAll('.tile.stale').length";
    assert_eq!(browser.eval(offline).await, json!(0));
    let colours = browser
        .eval(
            "['atlas', 'boardroom', 'cobalt', 'focus-1'].map((room) => { \
               const style = getComputedStyle(document.querySelector(`.tile[data-room=\"${room}\"]`)); \
               return style.backgroundImage === 'none' ? style.backgroundColor : style.backgroundImage.split('(')[0]; })",
        )
        .await;
    assert_eq!(
        colours,
        json!([
            "rgb(17, 122, 67)",
            "rgb(245, 183, 0)",
            "rgb(198, 40, 40)",
            "repeating-linear-gradient"
        ])
    );
    assert_eq!(
        browser.eval(FITS).await,
        json!(true),
        "landscape layout: {}",
        browser.eval(DESCRIBE).await
    );
    browser.screenshot(&out_dir().join("office.png")).await;
    browser.resize(1080, 1920).await;
    browser
        .wait_for(
            "the portrait layout",
            &format!("document.body.dataset.viewport === '1080x1920' && {FITS}"),
            DESCRIBE,
        )
        .await;
    browser
        .screenshot(&out_dir().join("office-portrait.png"))
        .await;
    browser.resize(1920, 1080).await;
    browser
        .wait_for(
            "the landscape layout",
            "document.body.dataset.viewport === '1920x1080'",
            DESCRIBE,
        )
        .await;

    // A delta that skips versions makes the page resubscribe: a new snapshot, the same counts.
    let snapshots = browser
        .eval("Number(document.body.dataset.snapshots)")
        .await
        .as_u64()
        .unwrap();
    browser
        .eval("window.tallyDisplay.frame({ type: 'delta', office: 'hq', version: Number(document.body.dataset.version) + 5, total: 0, rooms: [] })")
        .await;
    let resynced = |snapshots: u64| {
        format!(
            "Number(document.body.dataset.snapshots) > {snapshots} && document.body.dataset.conn === 'live'"
        )
    };
    let after_gap = format!("{} && {}", resynced(snapshots), shows_counts(COUNTS));
    browser
        .wait_for("a resync after a version gap", &after_gap, DESCRIBE)
        .await;

    // The node goes away: the banner says so and the tiles are greyed.
    let snapshots = browser
        .eval("Number(document.body.dataset.snapshots)")
        .await
        .as_u64()
        .unwrap();
    stop_checked(node).await;
    let banner = browser
        .wait_for(
            "the disconnected banner",
            "document.body.dataset.conn === 'reconnecting' && !document.getElementById('banner').hidden \
               && document.getElementById('banner').textContent",
            DESCRIBE,
        )
        .await;
    assert!(
        banner.as_str().unwrap().starts_with("Reconnecting…"),
        "{banner}"
    );
    assert_eq!(
        browser
            .eval("getComputedStyle(document.getElementById('grid')).filter === 'none'")
            .await,
        json!(false)
    );
    browser
        .screenshot(&out_dir().join("office-reconnecting.png"))
        .await;

    // Back on the same address and data: the page resyncs from a snapshot (the persisted counts),
    // and then follows deltas again.
    let mut settings = test_settings(&data);
    settings.node.http_addr = addr;
    let node = tally_gateway::start(settings).await.unwrap();
    browser
        .wait_for(
            "the resync after the restart",
            &format!(
                "{} && document.getElementById('banner').hidden && {}",
                resynced(snapshots),
                shows_counts(COUNTS)
            ),
            DESCRIBE,
        )
        .await;
    let after: Vec<(&str, i64)> = COUNTS
        .iter()
        .map(|&(room, n)| {
            if room == "atlas" {
                (room, 7)
            } else {
                (room, n)
            }
        })
        .collect();
    send_counts(addr, &keys, &[("atlas", 7)]).await;
    browser
        .wait_for("a delta after the resync", &shows_counts(&after), DESCRIBE)
        .await;
    browser.close().await;
    stop_checked(node).await;

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("listening"), "the log capture works");
    let leaks: Vec<&str> = logs.lines().filter(|line| line.contains(&token)).collect();
    assert!(
        leaks.is_empty(),
        "the viewer token appears in the node's logs: {leaks:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_expired_token_shows_how_to_get_a_display_link() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let addr = node.addr();
    let api = Api::new(addr);
    provision(&api, (OFFICE, "HQ"), &main_rooms()[..2]).await;
    let expired = expired_viewer_token();
    // Valid for a second: the node closes the display's socket with 4401 when it expires (or,
    // on a slow machine, rejects it before that); either way the page must stop and explain.
    let minted = api
        .create(
            &format!("/v1/tenants/{TENANT}/tokens"),
            json!({ "role": "viewer", "ttl_secs": 1 }),
        )
        .await;
    let expiring = minted["token"].as_str().unwrap();
    let mut browser = Browser::launch(1280, 720).await;
    // (token, help title, WebSockets the page may open: a rejected token is caught by the REST
    // read before any; one that expires while shown may take a socket or, when a subscription
    // fails under load and the page retries before the expiry, more. Whatever it opened, after
    // it stopped for the token it must not open another.)
    for (token, title, sockets) in [
        (
            "not-a-token",
            "This display's token was not accepted",
            Some(0),
        ),
        (
            expired.as_str(),
            "This display's token has expired",
            Some(0),
        ),
        (expiring, "This display's token has expired", None),
    ] {
        // From another document, so that a fragment-only change is a real page load.
        browser.goto("about:blank").await;
        browser
            .goto(&format!(
                "http://{addr}/display/{TENANT}/{OFFICE}#token={token}"
            ))
            .await;
        let help = browser
            .wait_for(
                "the token help",
                "document.body.dataset.conn === 'auth' && !document.getElementById('help').hidden \
                   && document.getElementById('help').innerText",
                DESCRIBE,
            )
            .await;
        let help = help.as_str().unwrap();
        assert!(help.contains(title), "{help}");
        assert!(
            help.contains("ask your tally admin for a display link")
                || help.contains("Ask your tally admin for a display link"),
            "{help}"
        );
        assert!(
            help.contains(&format!("POST /v1/tenants/{TENANT}/tokens")),
            "{help}"
        );
        assert!(help.contains(r#"{"role":"viewer"}"#), "{help}");
        let grid = "getComputedStyle(document.getElementById('grid')).display";
        assert_eq!(browser.eval(grid).await, json!("none"));
        let opened = browser
            .eval("Number(document.body.dataset.sockets || 0)")
            .await;
        if let Some(sockets) = sockets {
            assert!(opened.as_u64().unwrap() <= sockets, "{opened} sockets");
        }
        // A rejected token is forgotten, and was never left in the address bar.
        let stored = format!("localStorage.getItem('tally.display.token.{TENANT}')");
        assert_eq!(browser.eval(&stored).await, Value::Null);
        assert_eq!(browser.eval("location.hash").await, json!(""));
        // Checked after the assertions above, so the page had that long to reconnect wrongly.
        let at_stop = browser
            .eval("Number(document.body.dataset.socketsAtStop)")
            .await;
        let opened = browser
            .eval("Number(document.body.dataset.sockets || 0)")
            .await;
        assert_eq!(
            opened, at_stop,
            "a socket was opened after the page stopped for its token"
        );
    }
    browser.screenshot(&out_dir().join("token-help.png")).await;
    // Without any token (none in the fragment, none stored) the page says so too.
    browser.goto("about:blank").await;
    browser
        .goto(&format!("http://{addr}/display/{TENANT}/{OFFICE}"))
        .await;
    let title = browser
        .wait_for(
            "the missing-token help",
            "document.body.dataset.conn === 'auth' && document.getElementById('help-title').textContent",
            DESCRIBE,
        )
        .await;
    assert_eq!(title, json!("This display needs a viewer token"));
    browser.close().await;
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_sensor_marks_its_room_offline() {
    let (_dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    settings.ingest.sensor_timeout = Duration::from_secs(1);
    let node = tally_gateway::start(settings).await.unwrap();
    let addr = node.addr();
    let api = Api::new(addr);
    let keys = provision(&api, (OFFICE, "HQ"), &main_rooms()[..2]).await;
    let token = api.viewer_token(TENANT).await;
    let mut browser = Browser::launch(1280, 720).await;
    browser
        .goto(&format!(
            "http://{addr}/display/{TENANT}/{OFFICE}#token={token}"
        ))
        .await;
    browser
        .wait_for(
            "the first snapshot",
            "document.body.dataset.conn === 'live'",
            DESCRIBE,
        )
        .await;
    // The sensor says 3, then falls silent for longer than the timeout.
    send_counts(addr, &keys, &[("atlas", 3)]).await;
    let label = browser
        .wait_for(
            "the offline mark",
            "(() => { const t = document.querySelector('.tile[data-room=\"atlas\"]'); \
               return t && t.dataset.stale !== '0' && t.classList.contains('stale') \
                 && getComputedStyle(t.querySelector('.offline')).display !== 'none' \
                 && t.querySelector('.offline').innerText; })()",
            DESCRIBE,
        )
        .await;
    assert!(
        label.as_str().unwrap().ends_with("Sensor offline"),
        "{label}"
    );
    browser
        .screenshot(&out_dir().join("office-sensor-offline.png"))
        .await;
    browser.close().await;
    stop_checked(node).await;
}
