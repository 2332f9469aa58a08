//! Revoked tenant JWTs: "issued before T" and by id, by the tenant's admin or the platform
//! admin; refused on every later request, open displays of a revoked token closed with 4401;
//! a tenant admin's minted token never outlives the token that minted it.

mod support;

use serde_json::{Value, json};
use support::*;

/// A node with tenants acme and globex (office hq, room r1 each).
async fn node() -> (tempfile::TempDir, tally_gateway::RunningNode, Api) {
    let (dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    api.provision("acme", "hq", &["r1"]).await;
    api.provision("globex", "hq", &["r1"]).await;
    (dir, node, api)
}

/// Mints a token of `tenant` with `credential`; returns the whole answer.
async fn mint(api: &Api, credential: &str, tenant: &str, body: Value) -> Value {
    let (status, minted) = api
        .post(&format!("/v1/tenants/{tenant}/tokens"), credential, body)
        .await;
    assert_eq!(status, 201, "{minted}");
    minted
}

fn token(minted: &Value) -> String {
    minted["token"].as_str().unwrap().to_owned()
}

async fn offices(api: &Api, credential: &str, tenant: &str) -> (u16, Value) {
    api.get(&format!("/v1/tenants/{tenant}/offices"), credential)
        .await
}

fn assert_revoked((status, body): (u16, Value)) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
    assert_eq!(
        body["error"]["message"], "the token has been revoked",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_before_refuses_earlier_tokens_and_closes_their_displays() {
    let (_dir, node, api) = node().await;
    let admin = token(&mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "admin" })).await);
    let viewer = token(&mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "viewer" })).await);
    let globex_admin = token(&mint(&api, ADMIN_TOKEN, "globex", json!({ "role": "admin" })).await);
    let globex_viewer = api.viewer_token("globex").await;

    let mut display = DisplayClient::connect(node.addr(), &viewer).await;
    display.subscribe("hq", None).await;
    display
        .until(|frame| matches!(frame, tally_protocol::DisplayFrame::Snapshot { .. }))
        .await;

    // Another tenant's admin cannot revoke acme's tokens, nor learn that acme exists; a viewer
    // cannot revoke at all.
    let path = "/v1/tenants/acme/tokens/revoke-before";
    let (status, body) = api.post(path, &globex_admin, json!({})).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("globex"), "{body}");
    let (status, body) = api.post(path, &viewer, json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = api
        .post(path, &admin, json!({ "before": now_ms() + 60_000 }))
        .await;
    assert_eq!(status, 400, "a mark in the future is refused: {body}");
    assert_eq!(offices(&api, &viewer, "acme").await.0, 200);

    // The tenant admin revokes everything issued until now, its own token among them.
    let (status, body) = api.post(path, &admin, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["issued_before"].as_u64().unwrap() as i64 > now_ms() - 2_000);

    let reason = assert_closed_with(display.next().await, 4401);
    assert!(reason.contains("revoked"), "{reason}");
    assert_revoked(offices(&api, &viewer, "acme").await);
    assert_revoked(offices(&api, &admin, "acme").await);
    let Err(refused) = open_ws(
        &format!("ws://{}/v1/live?access_token={viewer}", node.addr()),
        Some("tally.v1.json"),
    )
    .await
    else {
        panic!("a revoked token cannot open a display");
    };
    assert_eq!(refused.0, 401, "{}", refused.1);

    // Tokens minted after the revocation work at once; another tenant's never stopped.
    let fresh = token(&mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "viewer" })).await);
    assert_eq!(offices(&api, &fresh, "acme").await.0, 200);
    assert_eq!(offices(&api, &globex_viewer, "globex").await.0, 200);

    // The platform admin may revoke any tenant's tokens (an earlier mark changes nothing).
    let (status, body) = api
        .post(
            "/v1/tenants/globex/tokens/revoke-before",
            ADMIN_TOKEN,
            json!({ "before": 1_000 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_before"], 1_000);
    assert_eq!(offices(&api, &globex_viewer, "globex").await.0, 200);
    let (status, _) = api
        .post(
            "/v1/tenants/nobody/tokens/revoke-before",
            ADMIN_TOKEN,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_by_id_is_refused_and_the_others_stay_valid() {
    let (_dir, node, api) = node().await;
    let doomed = mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "viewer" })).await;
    let kept = token(&mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "viewer" })).await);
    let id = doomed["id"].as_str().expect("a minted token names its id");
    let doomed = token(&doomed);

    let mut display = DisplayClient::connect(node.addr(), &doomed).await;
    display.subscribe("hq", None).await;
    display
        .until(|frame| matches!(frame, tally_protocol::DisplayFrame::Snapshot { .. }))
        .await;

    let path = "/v1/tenants/acme/tokens/revoke";
    for bad in ["", "with space", &"x".repeat(129)] {
        let (status, body) = api.post(path, ADMIN_TOKEN, json!({ "id": bad })).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    let (status, body) = api.post(path, ADMIN_TOKEN, json!({ "id": id })).await;
    assert_eq!(status, 204, "{body}");

    let reason = assert_closed_with(display.next().await, 4401);
    assert!(reason.contains("revoked"), "{reason}");
    assert_revoked(offices(&api, &doomed, "acme").await);
    assert_eq!(offices(&api, &kept, "acme").await.0, 200);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_admin_cannot_mint_a_token_outliving_its_own() {
    let (_dir, node, api) = node().await;
    let parent = mint(
        &api,
        ADMIN_TOKEN,
        "acme",
        json!({ "role": "admin", "ttl_secs": 120 }),
    )
    .await;
    let parent_expiry = parent["expires_at"].as_u64().unwrap();
    let child = mint(
        &api,
        &token(&parent),
        "acme",
        json!({ "role": "admin", "ttl_secs": 86_400 }),
    )
    .await;
    let child_expiry = child["expires_at"].as_u64().unwrap();
    assert!(
        child_expiry <= parent_expiry,
        "minted {child_expiry}, past its parent's {parent_expiry}"
    );
    let grandchild = mint(&api, &token(&child), "acme", json!({ "role": "viewer" })).await;
    assert!(grandchild["expires_at"].as_u64().unwrap() <= parent_expiry);
    // The platform admin's tokens are bounded by auth.token_ttl only.
    let long = mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "admin" })).await;
    assert!(long["expires_at"].as_u64().unwrap() > parent_expiry + 3_600_000);
    stop_checked(node).await;
}

/// Every described operation that takes a tenant JWT or the admin token, called with a revoked
/// tenant admin token on the tenant's own ids: each answers 401 "revoked", before anything is
/// read or changed (the tenant's offices are the same afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_on_every_route() {
    let (_dir, node, api) = node().await;
    let admin = mint(&api, ADMIN_TOKEN, "acme", json!({ "role": "admin" })).await;
    let (status, _) = api
        .post(
            "/v1/tenants/acme/tokens/revoke",
            ADMIN_TOKEN,
            json!({ "id": admin["id"] }),
        )
        .await;
    assert_eq!(status, 204);
    let admin = token(&admin);
    let before = offices(&api, ADMIN_TOKEN, "acme").await;

    let (status, document) = api
        .request(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, 200);
    let mut probed = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let credentials: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|requirement| requirement.as_object())
                .flat_map(|requirement| requirement.keys().map(String::as_str))
                .collect();
            // Routes of other credentials (a sensor key, the metrics scrape token) never take a
            // tenant JWT.
            let tenant_route = credentials
                .iter()
                .any(|c| ["tenant_jwt", "admin_token", "viewer_token"].contains(c));
            if !tenant_route || credentials.contains(&"metrics_token") {
                continue;
            }
            let concrete = path
                .replace("{tenant}", "acme")
                .replace("{office}", "hq")
                .replace("{room}", "r1");
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let body = (method != reqwest::Method::GET).then(|| json!({}));
            let answer = api
                .request(method.clone(), &concrete, Some(&admin), body)
                .await;
            assert_eq!(answer.0, 401, "{method} {path}: {}", answer.1);
            assert_eq!(
                answer.1["error"]["message"], "the token has been revoked",
                "{method} {path}"
            );
            probed.push(format!("{method} {path}"));
        }
    }
    assert!(
        probed.len() > 20 && probed.iter().any(|p| p.contains("/v1/live")),
        "too few routes probed: {probed:?}"
    );
    assert_eq!(offices(&api, ADMIN_TOKEN, "acme").await, before);
    stop_checked(node).await;
}
