//! Token revocations made on one node reach the others: two real `tally` processes over one
//! PostgreSQL database (and Redis); a revocation by token id, then a "revoke before", made on
//! node A is refused on node B (after at most `auth.revocation_refresh`; the test awaits it without timing it), and an
//! open display socket on B of the revoked token closes with 4401 and the reason.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::{Cluster, provision};
use support::{ADMIN_TOKEN, Api, DisplayClient, Next};
use tally_protocol::DisplayFrame;

/// `auth.revocation_refresh` of the test nodes (short, so the test does not wait long).
const REFRESH: Duration = Duration::from_secs(2);

/// A viewer token of acme minted through `api`: the token and its id.
async fn mint_viewer(api: &Api) -> (String, String) {
    let (status, minted) = api
        .post(
            "/v1/tenants/acme/tokens",
            ADMIN_TOKEN,
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    (
        minted["token"].as_str().unwrap().to_owned(),
        minted["id"].as_str().unwrap().to_owned(),
    )
}

async fn offices(api: &Api, token: &str) -> (u16, Value) {
    api.get("/v1/tenants/acme/offices", token).await
}

/// A display on `api`'s node with `token`, subscribed to office o1, its snapshot received.
async fn display(api: &Api, token: &str) -> DisplayClient {
    let addr = api.base.trim_start_matches("http://").parse().unwrap();
    let mut display = DisplayClient::connect(addr, token).await;
    display.subscribe("o1", None).await;
    display
        .until(|frame| matches!(frame, DisplayFrame::Snapshot { .. }))
        .await;
    display
}

/// Waits until `token` is refused as revoked on `api`'s node (polled: the refresh has no event to
/// await; a revocation that never arrives hangs the test, and the run's time limit fails it).
async fn await_refused(api: &Api, token: &str) {
    loop {
        let (status, body) = offices(api, token).await;
        if status == 401 {
            assert_eq!(
                body["error"]["message"], "the token has been revoked",
                "{body}"
            );
            return;
        }
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `display` to close; returns its close code and reason.
async fn await_closed(display: &mut DisplayClient) -> (u16, String) {
    loop {
        match display.next().await {
            Next::Frame(_) => {}
            Next::Closed(Some(frame)) => return (u16::from(frame.code), frame.reason.to_string()),
            Next::Closed(None) => panic!("closed without a close frame"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_node_a_is_refused_on_node_b_and_closes_its_displays() {
    let refresh = format!("{}s", REFRESH.as_secs());
    let cluster = Cluster::start_with_env(2, &[("TALLY_AUTH__REVOCATION_REFRESH", &refresh)]).await;
    let (a, b) = (cluster.api(0), cluster.api(1));
    provision(&a, "acme", 1, 1).await;
    let (first, first_id) = mint_viewer(&a).await;
    let (second, _) = mint_viewer(&a).await;

    // Node B accepts both tokens (and so holds a copy of acme's revocations saying so), and
    // shows a display of each.
    assert_eq!(offices(&b, &first).await.0, 200);
    assert_eq!(offices(&b, &second).await.0, 200);
    let mut first_display = display(&b, &first).await;
    let mut second_display = display(&b, &second).await;

    // Revoked by id on node A: refused on B, its display on B closed; the other token stays.
    let (status, body) = a
        .post(
            "/v1/tenants/acme/tokens/revoke",
            ADMIN_TOKEN,
            json!({ "id": first_id }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    await_refused(&b, &first).await;
    let (code, reason) = await_closed(&mut first_display).await;
    assert_eq!(
        (code, reason.as_str()),
        (4401, "unauthenticated: the token has been revoked")
    );
    assert_eq!(offices(&b, &second).await.0, 200);

    // Everything issued before now, revoked on node A: the second token too, on B.
    let (status, body) = a
        .post(
            "/v1/tenants/acme/tokens/revoke-before",
            ADMIN_TOKEN,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    await_refused(&b, &second).await;
    let (code, reason) = await_closed(&mut second_display).await;
    assert_eq!(
        (code, reason.as_str()),
        (4401, "unauthenticated: the token has been revoked")
    );
    // A token minted on B after the mark is valid on A at once.
    let (fresh, _) = mint_viewer(&b).await;
    assert_eq!(offices(&a, &fresh).await.0, 200);
}
