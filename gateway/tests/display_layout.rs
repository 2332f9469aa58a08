//! The wall display route and layout: the page's headers, id validation that reveals nothing,
//! and offices of 60 rooms (one page, landscape and portrait) and 100 rooms (pages) in headless
//! Chromium. Needs Chromium (`gateway/scripts/install-chromium.sh`).

mod browser;
mod support;

use browser::{Browser, FITS};
use serde_json::json;
use support::{Api, stop_checked, temp_dir, test_settings};

const DESCRIBE: &str = "JSON.stringify({ conn: document.body.dataset.conn, pages: document.body.dataset.pages, \
     viewport: document.body.dataset.viewport, tiles: document.querySelectorAll('.tile:not([hidden])').length })";

#[tokio::test]
async fn the_page_is_static_and_reveals_nothing() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let base = format!("http://{}", node.addr());
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();

    let page = get("/display/acme/hq").await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| page.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert!(
        header("content-security-policy")
            .starts_with("default-src 'self'; connect-src 'self' ws: wss:")
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cache-control"), "no-store");
    let body = page.text().await.unwrap();
    assert!(body.contains("/static/display/display.js"));
    // No tenant or office exists on this node: the answer is the same page anyway.
    let other = get("/display/nobody/nowhere").await.unwrap();
    assert_eq!(other.status(), 200);
    assert_eq!(other.text().await.unwrap(), body);

    for (path, kind) in [
        (
            "/static/display/display.js",
            "text/javascript; charset=utf-8",
        ),
        ("/static/display/display.css", "text/css; charset=utf-8"),
    ] {
        let asset = get(path).await.unwrap();
        assert_eq!(asset.status(), 200, "{path}");
        assert_eq!(asset.headers()["content-type"], kind);
        assert_eq!(asset.headers()["x-content-type-options"], "nosniff");
    }

    // A bad id answers like every other route.
    let bad = get("/display/acme/Not%20An%20Id!").await.unwrap();
    assert_eq!(bad.status(), 400);
    let error: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_id", "{error}");
    stop_checked(node).await;
}

/// An office with `rooms` rooms of capacity 10 (no sensors).
async fn office_of(api: &Api, office: &str, rooms: usize) {
    api.create(
        "/v1/tenants/acme/offices",
        json!({ "id": office, "name": format!("{rooms} rooms") }),
    )
    .await;
    for i in 1..=rooms {
        api.create(
            &format!("/v1/tenants/acme/offices/{office}/rooms"),
            json!({ "id": format!("{office}-{i}"), "name": format!("Room {i}"), "capacity": 10 }),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_rooms_fit_one_screen_and_more_are_paged() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let addr = node.addr();
    let api = Api::new(addr);
    api.create("/v1/tenants", json!({ "id": "acme", "name": "Acme" }))
        .await;
    office_of(&api, "sixty", 60).await;
    office_of(&api, "hundred", 100).await;
    let token = api.viewer_token("acme").await;

    let mut browser = Browser::launch(1920, 1080).await;
    // The first load stores the token; the second office finds it in local storage.
    for (office, rooms, pages) in [("sixty", 60_u64, 1_u64), ("hundred", 100, 2)] {
        browser.goto("about:blank").await;
        let fragment = if office == "sixty" {
            format!("#token={token}")
        } else {
            String::new()
        };
        browser
            .goto(&format!("http://{addr}/display/acme/{office}{fragment}"))
            .await;
        for (width, height) in [(1920, 1080), (1080, 1920)] {
            browser.resize(width, height).await;
            let ready = format!(
                "document.body.dataset.conn === 'live' && document.body.dataset.viewport === '{width}x{height}' \
                   && document.querySelectorAll('.tile').length === {rooms} && {FITS} \
                   && Number(document.body.dataset.pages)"
            );
            let shown = browser
                .wait_for(&format!("{office} at {width}x{height}"), &ready, DESCRIBE)
                .await;
            assert_eq!(shown, json!(pages), "{office} at {width}x{height}");
            let visible = browser
                .eval("document.querySelectorAll('.tile:not([hidden])').length")
                .await;
            assert_eq!(
                visible,
                json!(rooms.div_ceil(pages)),
                "{office} at {width}x{height}"
            );
            browser
                .screenshot(
                    &browser::office::out_dir().join(format!("{office}-{width}x{height}.png")),
                )
                .await;
        }
    }
    browser.close().await;
    stop_checked(node).await;
}
