//! The audit log through the router of a real node: every kind of entry (admin changes, tokens
//! minted and revoked, retention, erasure, refused access) lands in the right log with its
//! principal, source address and request id; tenant B's probes of tenant A are denied, land
//! in B's log without naming A's ids, and B cannot read A's log; reads are paged and bounded.

mod support;

use serde_json::{Value, json};
use support::audit::*;
use support::*;

/// A node with tenants acme and globex (office hq, room r1 each).
async fn node() -> (tempfile::TempDir, tally_gateway::RunningNode, Api) {
    let (dir, node, api, _) = two_tenants().await;
    (dir, node, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_admin_change_is_audited_with_its_request() {
    let (_dir, node, api) = node().await;
    let acme_log = "/v1/tenants/acme/audit?limit=1000";

    // The request id answered in the header is the one recorded.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/tenants/acme/offices", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "id": "annex" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let office = entry_where(
        &api,
        acme_log,
        ADMIN_TOKEN,
        kind_with("office.created", "annex"),
    )
    .await;
    assert_eq!(office["request_id"], request_id.as_str(), "{office}");
    assert_eq!(office["principal"], "platform admin");
    assert_eq!(office["source"], "127.0.0.1");
    assert_eq!(office["tenant"], "acme");
    assert_eq!(office["outcome"], "succeeded");

    for (kind, detail) in [
        ("tenant.created", "acme"),
        ("room.created", "r1"),
        ("sensor.created", "r1-s"),
    ] {
        entry_where(&api, acme_log, ADMIN_TOKEN, kind_with(kind, detail)).await;
    }

    // Tokens: minted by the platform admin, then a tenant admin acts with its own.
    let (admin, admin_jti) = mint(&api, "acme", "admin").await;
    let minted = entry_where(&api, acme_log, &admin, |e| {
        e["kind"] == "token.minted" && e["detail"].as_str().unwrap().contains(&admin_jti)
    })
    .await;
    assert!(
        !minted.to_string().contains(&admin),
        "an entry never holds a token: {minted}"
    );
    let (_, victim_jti) = mint(&api, "acme", "viewer").await;
    let (status, body) = api
        .post(
            "/v1/tenants/acme/tokens/revoke",
            &admin,
            json!({ "id": victim_jti }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let revoked = entry_where(&api, acme_log, &admin, |e| {
        e["kind"] == "token.revoked" && e["detail"].as_str().unwrap().contains(&victim_jti)
    })
    .await;
    assert_eq!(revoked["principal"], format!("admin token {admin_jti}"));

    let policy = json!({ "readings": "7days", "minute": "7days", "fifteen_minutes": "30days",
        "hour": "365days", "day": "730days" });
    assert_eq!(
        api.put("/v1/tenants/acme/retention", &admin, policy)
            .await
            .0,
        200
    );
    assert_eq!(
        api.delete("/v1/tenants/acme/retention", &admin).await.0,
        200
    );
    entry_where(&api, acme_log, &admin, kind_with("retention.set", "")).await;
    entry_where(&api, acme_log, &admin, kind_with("retention.cleared", "")).await;
    let calendar = json!({ "time_zone": "Europe/Zurich",
        "working_hours": { "weekdays": [1, 2, 3], "start": "08:00", "end": "18:00" } });
    let (status, body) = api
        .put("/v1/tenants/acme/offices/hq/calendar", &admin, calendar)
        .await;
    assert_eq!(status, 200, "{body}");
    entry_where(
        &api,
        acme_log,
        &admin,
        kind_with("office.calendar_set", "hq"),
    )
    .await;
    let (status, body) = api
        .post("/v1/tenants/acme/tokens/revoke-before", &admin, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    entry_where(
        &api,
        acme_log,
        ADMIN_TOKEN,
        kind_with("tokens.revoked_before", ""),
    )
    .await;

    // Erasure: its entries outlive the tenant, for the platform admin.
    let (status, pending) = api
        .post(
            "/v1/admin/tenants/globex/erasure",
            ADMIN_TOKEN,
            json!({ "requested_by": "dpo" }),
        )
        .await;
    assert_eq!(status, 200, "{pending}");
    let (status, report) = api
        .post(
            "/v1/admin/tenants/globex/erasure/confirm",
            ADMIN_TOKEN,
            json!({ "confirmation": pending["confirmation"] }),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let globex_log = "/v1/admin/audit?tenant=globex&limit=1000";
    entry_where(
        &api,
        globex_log,
        ADMIN_TOKEN,
        kind_with("erasure.requested", "dpo"),
    )
    .await;
    let erased = entry_where(
        &api,
        globex_log,
        ADMIN_TOKEN,
        kind_with("erasure.completed", "dpo"),
    )
    .await;
    assert!(
        !erased
            .to_string()
            .contains(pending["confirmation"].as_str().unwrap())
    );
    // Platform actions land in the platform's log.
    let (status, _) = api
        .post("/v1/admin/auth/reload-keys", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200);
    let reload = entry_where(
        &api,
        "/v1/admin/audit",
        ADMIN_TOKEN,
        kind_with("identity.keys_reloaded", ""),
    )
    .await;
    assert!(reload["tenant"].is_null(), "{reload}");
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_probes_are_denied_and_audited_in_the_probers_log() {
    let (_dir, node, api) = node().await;
    let (globex_admin, globex_jti) = mint(&api, "globex", "admin").await;
    let (acme_admin, _) = mint(&api, "acme", "admin").await;
    let (acme_viewer, viewer_jti) = mint(&api, "acme", "viewer").await;

    // Globex's admin probes acme's routes: each answers as missing, nothing of acme changes.
    let probes: [(reqwest::Method, &str, Option<Value>); 4] = [
        (reqwest::Method::GET, "/v1/tenants/acme/offices", None),
        (
            reqwest::Method::POST,
            "/v1/tenants/acme/offices/hq/rooms",
            Some(json!({ "id": "spy", "capacity": 1 })),
        ),
        (
            reqwest::Method::POST,
            "/v1/tenants/acme/tokens",
            Some(json!({ "role": "admin" })),
        ),
        (reqwest::Method::GET, "/v1/tenants/acme/audit", None),
    ];
    for (method, path, body) in probes.clone() {
        let (status, answer) = api.request(method, path, Some(&globex_admin), body).await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(!answer.to_string().contains("globex"), "{answer}");
    }
    // B cannot read A's audit: the same answer as a tenant that does not exist.
    let (status, missing) = api.get("/v1/tenants/nope/audit", &globex_admin).await;
    let (_, probed) = api.get("/v1/tenants/acme/audit", &globex_admin).await;
    assert_eq!(status, 404);
    assert_eq!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .replace("nope", "ID"),
        probed["error"]["message"]
            .as_str()
            .unwrap()
            .replace("acme", "ID"),
    );
    let (_, rooms) = api
        .get("/v1/tenants/acme/offices/hq/rooms", &acme_admin)
        .await;
    assert_eq!(
        rooms.as_array().unwrap().len(),
        1,
        "nothing of acme changed: {rooms}"
    );

    // Every probe is in globex's log, as globex's admin token, naming route templates only.
    let globex_log = "/v1/tenants/globex/audit?limit=1000";
    let denied = entry_where(&api, globex_log, &globex_admin, |e| {
        e["kind"] == "access.denied" && e["detail"].as_str().unwrap().contains("/audit")
    })
    .await;
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["principal"], format!("admin token {globex_jti}"));
    assert!(denied["request_id"].is_string(), "{denied}");
    let all = entries(&api, globex_log, &globex_admin).await;
    let probes_seen: Vec<_> = all
        .iter()
        .filter(|e| e["kind"] == "access.denied")
        .collect();
    assert!(probes_seen.len() > probes.len(), "{probes_seen:#?}");
    for entry in &probes_seen {
        assert!(
            !entry.to_string().contains("acme"),
            "an entry names the other tenant: {entry}"
        );
    }
    assert!(
        probes_seen.iter().any(|e| e["detail"] == "POST /v1/tenants/{tenant}/offices/{office}/rooms answered 404"),
        "{probes_seen:#?}"
    );
    // And none in acme's.
    let acme_entries = entries(&api, "/v1/tenants/acme/audit?limit=1000", &acme_admin).await;
    assert!(
        acme_entries
            .iter()
            .all(|e| !e.to_string().contains(&globex_jti))
    );

    // A viewer cannot read its own tenant's log: forbidden, and audited in acme's log.
    let (status, body) = api.get("/v1/tenants/acme/audit", &acme_viewer).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    entry_where(&api, "/v1/tenants/acme/audit", &acme_admin, |e| {
        e["kind"] == "access.denied" && e["principal"] == format!("viewer token {viewer_jti}")
    })
    .await;

    // Forged, expired-looking and absent credentials name no tenant: the platform's log.
    for token in ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJhY21lIn0."] {
        let (status, _) = api.get("/v1/tenants/acme/offices", token).await;
        assert_eq!(status, 401);
    }
    let (status, _) = api
        .request(reqwest::Method::GET, "/v1/admin/audit", None, None)
        .await;
    assert_eq!(status, 401);
    let refused = entry_where(&api, "/v1/admin/audit?limit=1000", ADMIN_TOKEN, |e| {
        e["kind"] == "access.denied"
            && e["detail"] == "GET /v1/tenants/{tenant}/offices answered 401"
    })
    .await;
    assert_eq!(refused["principal"], "unauthenticated");
    assert!(refused["tenant"].is_null());
    // A tenant admin cannot read the platform's log.
    assert_eq!(api.get("/v1/admin/audit", &acme_admin).await.0, 403);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reads_are_paged_filtered_and_bounded() {
    let (_dir, node, api) = node().await;
    let (admin, _) = mint(&api, "acme", "admin").await;
    let log = "/v1/tenants/acme/audit";
    // Provisioning wrote 4 entries, the mint a fifth.
    entry_where(
        &api,
        &format!("{log}?limit=1000"),
        &admin,
        kind_with("token.minted", ""),
    )
    .await;
    let all = entries(&api, &format!("{log}?limit=1000"), &admin).await;
    assert!(all.len() >= 5, "{all:#?}");
    let times: Vec<i64> = all.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{log}?limit=2&cursor={c}"),
            None => format!("{log}?limit=2"),
        };
        let (status, page) = api.get(&path, &admin).await;
        assert_eq!(status, 200, "{page}");
        let items = page["entries"].as_array().unwrap();
        assert!(items.len() <= 2);
        paged.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, all);

    let newest = times[0];
    let window = entries(
        &api,
        &format!("{log}?from={newest}&to={}", newest + 1),
        &admin,
    )
    .await;
    assert!(!window.is_empty() && window.iter().all(|e| e["at"] == newest));

    for bad in [
        "?limit=0",
        "?limit=1001",
        "?from=10&to=5",
        "?cursor=a%20b",
        "?tenant=globex",
        "?what=1",
    ] {
        let (status, body) = api.get(&format!("{log}{bad}"), &admin).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{bad}: {body}");
    }
    // Every answer carries a request id, errors included; a client's own id is kept.
    let response = reqwest::Client::new()
        .get(format!("{}/v1/no-such-route", api.base))
        .header("x-request-id", "client-chosen-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "client-chosen-1");
    stop_checked(node).await;
}
