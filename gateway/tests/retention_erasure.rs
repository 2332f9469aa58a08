//! Retention and erasure through the real HTTP API, on the embedded store and on PostgreSQL:
//! per-tenant retention overrides (and their isolation: another tenant's admin sees a missing
//! tenant), sweeps that delete exactly the readings older than a tenant's retention, and the
//! two-step erasure of a tenant — nothing of it accepted afterwards, every row of it gone from
//! the store (read back), the other tenant untouched, the audit record kept.

mod support;

use serde_json::{Value, json};
use support::load::eventually;
use support::{
    ADMIN_TOKEN, Api, Next, SensorClient, assert_closed_with, now_ms, postgres_env, stop_checked,
    temp_dir, test_settings_with,
};
use tally_protocol::{Codec, Reading, RoomId, TenantId};
use tally_storage::testkit::{PostgresServer, ReadAll};
use tally_storage::{SharedStore, TimeRange};

const DAY_MS: i64 = 86_400_000;

/// Seqs of every stored reading of `tenant`'s room `r1`.
async fn stored_seqs(store: &SharedStore, tenant: &str) -> Vec<u64> {
    let (tenant, room) = (TenantId::new(tenant).unwrap(), RoomId::new("r1").unwrap());
    let all = TimeRange {
        from: 0,
        to: i64::MAX,
    };
    let readings = store.all_readings(&tenant, &room, all).await.unwrap();
    readings.into_iter().map(|(_, r)| r.seq).collect()
}

/// Readings `seqs` at `ts`.
fn readings(seqs: std::ops::RangeInclusive<u64>, ts: i64) -> Vec<Reading> {
    seqs.map(|seq| Reading { seq, ts, count: 1 }).collect()
}

/// A tenant JWT of `role`.
async fn token(api: &Api, tenant: &str, role: &str) -> String {
    let minted = api
        .create(
            &format!("/v1/tenants/{tenant}/tokens"),
            json!({ "role": role }),
        )
        .await;
    minted["token"].as_str().unwrap().to_owned()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// Asserts `(status, body)` is the answer for a missing tenant `tenant`.
fn assert_missing(answer: &(u16, Value), tenant: &str) {
    assert_eq!(answer.0, 404, "{}", answer.1);
    assert_eq!(code(&answer.1), "not_found", "{}", answer.1);
    assert_eq!(
        answer.1["error"]["message"],
        format!("tenant \"{tenant}\" not found"),
        "{}",
        answer.1
    );
}

/// The whole scenario on a node started with `extra` settings.
async fn retention_and_erasure(extra: &[(String, String)]) {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings_with(&data, extra))
        .await
        .unwrap();
    let store = node.node().store();
    let api = Api::new(node.addr());
    let acme_key = api.provision("acme", "hq", &["r1"]).await.remove(0);
    let globex_key = api.provision("globex", "hq", &["r1"]).await.remove(0);
    let acme_admin = token(&api, "acme", "admin").await;
    let acme_viewer = token(&api, "acme", "viewer").await;
    let globex_admin = token(&api, "globex", "admin").await;

    // Retention: defaults until the tenant's admin sets its own.
    let (status, view) = api.get("/v1/tenants/acme/retention", &acme_admin).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["override"], Value::Null);
    assert_eq!(view["effective"], view["defaults"]);
    assert_eq!(view["defaults"]["readings"], "720h");

    // Another tenant's admin: exactly a missing tenant, for reads and writes.
    let policy = json!({
        "readings": "1day", "minute": "2days", "fifteen_minutes": "30days",
        "hour": "365days", "day": "100days"
    });
    assert_missing(
        &api.get("/v1/tenants/acme/retention", &globex_admin).await,
        "acme",
    );
    assert_missing(
        &api.get("/v1/tenants/nosuch/retention", &globex_admin).await,
        "nosuch",
    );
    assert_missing(
        &api.get("/v1/tenants/nosuch/retention", ADMIN_TOKEN).await,
        "nosuch",
    );
    assert_missing(
        &api.put("/v1/tenants/acme/retention", &globex_admin, policy.clone())
            .await,
        "acme",
    );
    assert_missing(
        &api.put("/v1/tenants/nosuch/retention", ADMIN_TOKEN, policy.clone())
            .await,
        "nosuch",
    );
    let viewer = api
        .put("/v1/tenants/acme/retention", &acme_viewer, policy.clone())
        .await;
    assert_eq!(
        (viewer.0, code(&viewer.1)),
        (403, "forbidden"),
        "{}",
        viewer.1
    );
    let zero = json!({ "readings": "0s", "minute": "1day", "fifteen_minutes": "1day", "hour": "1day", "day": "1day" });
    let zero = api
        .put("/v1/tenants/acme/retention", &acme_admin, zero)
        .await;
    assert_eq!(
        (zero.0, code(&zero.1)),
        (400, "invalid_request"),
        "{}",
        zero.1
    );
    let partial = api
        .put(
            "/v1/tenants/acme/retention",
            &acme_admin,
            json!({ "readings": "1day" }),
        )
        .await;
    assert_eq!(partial.0, 400, "{}", partial.1);
    let (status, view) = api.get("/v1/tenants/acme/retention", ADMIN_TOKEN).await;
    assert_eq!(
        (status, &view["override"]),
        (200, &Value::Null),
        "nothing was set: {view}"
    );

    let (status, view) = api
        .put("/v1/tenants/acme/retention", &acme_admin, policy.clone())
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["override"]["readings"], "24h");
    assert_eq!(view["effective"]["readings"], "24h");
    assert_eq!(view["effective"]["day"], "2400h");

    // Both tenants have readings three days old and readings of now; only acme keeps one day.
    let old = now_ms() - 3 * DAY_MS;
    let mut acme = SensorClient::connect(node.addr(), &acme_key, Codec::MsgPack).await;
    acme.send_and_ack(readings(1..=3, old)).await;
    acme.send_and_ack(readings(4..=5, now_ms())).await;
    let mut globex = SensorClient::connect(node.addr(), &globex_key, Codec::MsgPack).await;
    globex.send_and_ack(readings(1..=3, old)).await;
    globex.send_and_ack(readings(4..=5, now_ms())).await;

    let (status, _) = api
        .post("/v1/admin/retention/sweep", &globex_admin, json!({}))
        .await;
    assert_eq!(status, 403, "a tenant cannot run a sweep");
    let (status, report) = api
        .post("/v1/admin/retention/sweep", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["readings"], 3, "{report}");
    assert_eq!(stored_seqs(&store, "acme").await, [4, 5]);
    assert_eq!(stored_seqs(&store, "globex").await, [1, 2, 3, 4, 5]);

    // Erasure: the platform admin only, in two steps.
    let ask = json!({ "requested_by": "ops ticket 42" });
    for caller in [&acme_admin, &globex_admin] {
        let (status, body) = api
            .post("/v1/admin/tenants/acme/erasure", caller, ask.clone())
            .await;
        assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");
    }
    assert_missing(
        &api.post("/v1/admin/tenants/nosuch/erasure", ADMIN_TOKEN, ask.clone())
            .await,
        "nosuch",
    );
    let (status, body) = api.get("/v1/admin/tenants/acme/erasure", ADMIN_TOKEN).await;
    assert_eq!(
        (status, code(&body)),
        (404, "not_found"),
        "no erasure asked yet: {body}"
    );

    let (status, pending) = api
        .post("/v1/admin/tenants/acme/erasure", ADMIN_TOKEN, ask.clone())
        .await;
    assert_eq!(status, 200, "{pending}");
    let confirmation = pending["confirmation"].as_str().unwrap().to_owned();
    assert!(pending["expires_at"].as_u64().unwrap() > now_ms() as u64);
    // Not yet: acme still works until the erasure is confirmed.
    acme.send_and_ack(readings(6..=6, now_ms())).await;

    let (_, globex_pending) = api
        .post("/v1/admin/tenants/globex/erasure", ADMIN_TOKEN, ask.clone())
        .await;
    for wrong in [
        globex_pending["confirmation"].as_str().unwrap(),
        "not-a-token",
        acme_admin.as_str(),
    ] {
        let (status, body) = api
            .post(
                "/v1/admin/tenants/acme/erasure/confirm",
                ADMIN_TOKEN,
                json!({ "confirmation": wrong }),
            )
            .await;
        assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
    }
    let confirm = json!({ "confirmation": confirmation });
    let (status, body) = api
        .post(
            "/v1/admin/tenants/acme/erasure/confirm",
            &acme_admin,
            confirm.clone(),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        stored_seqs(&store, "acme").await,
        [4, 5, 6],
        "nothing erased by a refused confirmation"
    );

    let (status, record) = api
        .post(
            "/v1/admin/tenants/acme/erasure/confirm",
            ADMIN_TOKEN,
            confirm.clone(),
        )
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["requested_by"], "ops ticket 42");
    assert!(record["finished_at"].is_i64(), "{record}");
    assert_eq!(record["deleted"]["readings"], 3, "{record}");

    // Nothing of acme is accepted any more: its open socket is closed at once (without sending
    // anything), a new one is refused, and its tokens and the API see a missing tenant.
    let reason = assert_closed_with(acme.next().await, 4404);
    assert!(reason.contains("tenant \"acme\" not found"), "{reason}");
    match SensorClient::try_connect(node.addr(), &acme_key, Codec::MsgPack).await {
        Err(Next::Closed(Some(frame))) => assert_eq!(u16::from(frame.code), 4401, "{frame:?}"),
        Err(other) => panic!("expected close 4401, got {other:?}"),
        Ok(_) => panic!("an erased tenant's sensor was welcomed"),
    }
    assert_missing(&api.get("/v1/tenants/acme", ADMIN_TOKEN).await, "acme");
    assert_missing(&api.get("/v1/tenants/acme", &acme_admin).await, "acme");
    assert_missing(
        &api.get("/v1/tenants/acme/retention", &acme_admin).await,
        "acme",
    );
    let (status, tenants) = api.get("/v1/tenants", ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(
        tenants.as_array().unwrap().len(),
        1,
        "only globex is left: {tenants}"
    );

    // Read back from the store: nothing of acme; globex untouched and still served.
    let acme_id = TenantId::new("acme").unwrap();
    assert!(store.tenant(&acme_id).await.unwrap().is_none());
    assert!(store.retention(&acme_id).await.unwrap().is_none());
    assert!(
        store
            .room_state(&acme_id, &RoomId::new("r1").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(stored_seqs(&store, "acme").await, Vec::<u64>::new());
    assert_eq!(stored_seqs(&store, "globex").await, [1, 2, 3, 4, 5]);
    globex.send_and_ack(readings(6..=6, now_ms())).await;

    // The audit record survives, for the platform admin only.
    let (status, audit) = api.get("/v1/admin/tenants/acme/erasure", ADMIN_TOKEN).await;
    assert_eq!((status, &audit), (200, &record));
    let (status, _) = api
        .get("/v1/admin/tenants/acme/erasure", &globex_admin)
        .await;
    assert_eq!(status, 403);

    // Erasing again (as after a crash halfway) finishes the job and keeps the first request.
    let again = json!({ "requested_by": "someone else" });
    let (status, pending) = api
        .post("/v1/admin/tenants/acme/erasure", ADMIN_TOKEN, again)
        .await;
    assert_eq!(status, 200, "{pending}");
    let confirm = json!({ "confirmation": pending["confirmation"] });
    let (status, repeated) = api
        .post(
            "/v1/admin/tenants/acme/erasure/confirm",
            ADMIN_TOKEN,
            confirm,
        )
        .await;
    assert_eq!(status, 200, "{repeated}");
    assert_eq!(repeated["requested_by"], "ops ticket 42");
    assert_eq!(repeated["requested_at"], record["requested_at"]);

    drop(globex);
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_erasure_on_the_embedded_store() {
    retention_and_erasure(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_erasure_on_postgres() {
    let server = PostgresServer::start().await.unwrap();
    let db = server.create_database().await;
    retention_and_erasure(&postgres_env(&db)).await;
}

/// The sweeper runs by itself every `retention.sweep_interval`: readings past the tenant's
/// retention disappear without anyone asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_runs_on_its_interval() {
    let (_dir, data) = temp_dir();
    let extra = [
        ("TALLY_RETENTION__SWEEP_INTERVAL", "1s"),
        ("TALLY_RETENTION__READINGS", "1day"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let node = tally_gateway::start(test_settings_with(&data, &extra))
        .await
        .unwrap();
    let store = node.node().store();
    let api = Api::new(node.addr());
    let key = api.provision("acme", "hq", &["r1"]).await.remove(0);
    let mut sensor = SensorClient::connect(node.addr(), &key, Codec::Json).await;
    sensor
        .send_and_ack(readings(1..=2, now_ms() - 2 * DAY_MS))
        .await;
    sensor.send_and_ack(readings(3..=3, now_ms())).await;
    eventually(
        "a sweep deleted the readings older than a day",
        async || stored_seqs(&store, "acme").await == [3],
    )
    .await;
    drop(sensor);
    stop_checked(node).await;
}
