//! The tenant-wide view: `subscribe_tenant` on `/v1/live` gives every office of the token's
//! tenant (never another tenant's) with its total and capacity, then deltas as offices change;
//! the page `/display/{tenant}` shows a tile per office in headless Chromium (screenshot in
//! `$CARGO_TARGET_TMPDIR/display-page/tenant.png`). Needs Chromium
//! (`gateway/scripts/install-chromium.sh`).

mod browser;
mod support;

use std::net::SocketAddr;

use browser::Browser;
use browser::office::out_dir;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// Rooms of an office: (id, capacity).
type Rooms = &'static [(&'static str, u32)];

/// Offices of `acme`: (id, name, rooms).
const OFFICES: &[(&str, &str, Rooms)] = &[
    ("hq", "Headquarters", &[("atlas", 8), ("boardroom", 12)]),
    ("annex", "Annex", &[("cobalt", 4)]),
    ("lab", "Lab", &[]),
];

/// `acme` with [`OFFICES`] (a sensor per room) and `globex` with an office of its own; returns
/// the sensor keys of `acme` by room.
async fn provision(api: &Api) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for tenant in ["acme", "globex"] {
        api.create("/v1/tenants", json!({ "id": tenant, "name": tenant }))
            .await;
    }
    api.create(
        "/v1/tenants/globex/offices",
        json!({ "id": "secret-site", "name": "Secret site" }),
    )
    .await;
    for (office, name, rooms) in OFFICES {
        api.create(
            "/v1/tenants/acme/offices",
            json!({ "id": office, "name": name }),
        )
        .await;
        for (room, capacity) in *rooms {
            let path = format!("/v1/tenants/acme/offices/{office}/rooms");
            api.create(&path, json!({ "id": room, "capacity": capacity }))
                .await;
            let sensor = api
                .create(
                    &format!("{path}/{room}/sensors"),
                    json!({ "id": format!("{room}-s") }),
                )
                .await;
            keys.push((
                (*room).to_owned(),
                sensor["key"].as_str().unwrap().to_owned(),
            ));
        }
    }
    keys
}

/// A node with [`provision`]ed tenants; its data directory, the sensor keys of `acme` and a
/// viewer token of `acme`.
async fn provisioned_node() -> (
    tempfile::TempDir,
    tally_gateway::RunningNode,
    Vec<(String, String)>,
    String,
) {
    let (dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = provision(&api).await;
    let token = api.viewer_token("acme").await;
    (dir, node, keys, token)
}

async fn count(addr: SocketAddr, keys: &[(String, String)], room: &str, count: i64) {
    let key = &keys.iter().find(|(id, _)| id == room).unwrap().1;
    let mut sensor = SensorClient::connect(addr, key, tally_protocol::Codec::Json).await;
    sensor.count(count).await;
}

/// The next JSON frame of a display socket.
async fn next_json(display: &mut DisplayClient) -> Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, display.socket.next())
            .await
            .expect("a frame within the test's patience")
            .expect("socket open")
            .expect("socket ok");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// (office, total, capacity) of every office in a tenant frame.
fn offices(frame: &Value) -> Vec<(String, u64, u64)> {
    frame["offices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["office"].as_str().unwrap().to_owned(),
                o["total"].as_u64().unwrap(),
                o["capacity"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_subscription_shows_every_office_of_its_tenant_only_and_follows_readings() {
    let (_dir, node, keys, token) = provisioned_node().await;
    let addr = node.addr();
    let mut display = DisplayClient::connect(addr, &token).await;
    display
        .socket
        .send(Message::text(r#"{"type":"subscribe_tenant"}"#))
        .await
        .unwrap();
    let snapshot = next_json(&mut display).await;
    assert_eq!(snapshot["type"], "tenant_snapshot", "{snapshot}");
    assert_eq!(snapshot["tenant"], "acme");
    let mut shown = offices(&snapshot);
    shown.sort();
    assert_eq!(
        shown,
        vec![
            ("annex".to_owned(), 0, 4),
            ("hq".to_owned(), 0, 20),
            ("lab".to_owned(), 0, 0)
        ],
        "another tenant's office, or a wrong capacity: {snapshot}"
    );
    assert_eq!(snapshot["capacity"], 24);
    let mut version = snapshot["version"].as_u64().unwrap();

    count(addr, &keys, "atlas", 5).await;
    count(addr, &keys, "boardroom", 7).await;
    count(addr, &keys, "cobalt", 3).await;
    // Deltas follow, by version without gaps, until every office shows its new total.
    let mut totals = std::collections::BTreeMap::new();
    while totals.get("hq") != Some(&12) || totals.get("annex") != Some(&3) {
        let delta = next_json(&mut display).await;
        assert_eq!(delta["type"], "tenant_delta", "{delta}");
        assert_eq!(delta["version"].as_u64().unwrap(), version + 1, "{delta}");
        version += 1;
        for (office, total, _) in offices(&delta) {
            totals.insert(office, total);
        }
        assert!(
            !totals.contains_key("lab"),
            "an unchanged office in a delta: {delta}"
        );
    }
    let tenant_total: u64 = totals.values().sum();
    assert_eq!(tenant_total, 15);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_page_shows_a_tile_per_office_with_its_total() {
    let (_dir, node, keys, token) = provisioned_node().await;
    let addr = node.addr();

    let mut browser = Browser::launch(1920, 1080).await;
    browser
        .goto(&format!("http://{addr}/display/acme#token={token}"))
        .await;
    let describe = "JSON.stringify({ conn: document.body.dataset.conn, \
         tiles: [...document.querySelectorAll('.tile')].map((t) => [t.dataset.room, t.querySelector('.name').textContent, t.dataset.count, t.dataset.capacity, t.dataset.state]) })";
    browser
        .wait_for(
            "a tile per office",
            "document.body.dataset.conn === 'live' && document.querySelectorAll('.tile').length === 3 \
               && document.querySelector('.tile[data-room=\"hq\"] .name').textContent === 'Headquarters'",
            describe,
        )
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('total-label').textContent")
            .await,
        json!("In all offices")
    );

    count(addr, &keys, "atlas", 8).await;
    count(addr, &keys, "boardroom", 4).await;
    count(addr, &keys, "cobalt", 5).await;
    browser
        .wait_for(
            "the new office totals",
            "(() => { const t = (o) => document.querySelector(`.tile[data-room=\"${o}\"]`); \
               return t('hq').dataset.count === '12' && t('hq').dataset.state === 'busy' \
                 && t('annex').dataset.count === '5' && t('annex').dataset.state === 'over' \
                 && t('lab').dataset.count === '0' \
                 && document.getElementById('total-count').textContent === '17' \
                 && document.getElementById('total-capacity').textContent === '24'; })()",
            describe,
        )
        .await;
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    browser.screenshot(&dir.join("tenant.png")).await;
    browser.close().await;
    stop_checked(node).await;
}
