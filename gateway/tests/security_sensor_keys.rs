//! Sensor keys against the real `tally` binary over real sockets: a rotation keeps both keys
//! working during its overlap (acks keep flowing on the open socket, no downtime); revoking the
//! key a sensor is connected with closes its WebSocket with 4401 and its HTTP batches are
//! refused at once; deleting a sensor does the same; another tenant's probes answer 404 exactly
//! like an unknown sensor, and change nothing.

mod support;

use serde_json::{Value, json};
use support::load::eventually;
use support::*;
use tally_protocol::{Codec, Reading, ServerFrame};

/// A `tally` process with tenants acme and globex (office hq, room r1 with sensor r1-s each);
/// acme's sensor key.
async fn node() -> (tempfile::TempDir, ChildNode, Api, String) {
    let (dir, data) = temp_dir();
    let node = ChildNode::start(&data);
    let api = Api::new(node.addr);
    let keys = api.provision("acme", "hq", &["r1"]).await;
    api.provision("globex", "hq", &["r1"]).await;
    (dir, node, api, keys[0].clone())
}

/// A tenant JWT with `role`.
async fn token(api: &Api, tenant: &str, role: &str) -> String {
    let minted = api
        .create(
            &format!("/v1/tenants/{tenant}/tokens"),
            json!({ "role": role }),
        )
        .await;
    minted["token"].as_str().unwrap().to_owned()
}

/// One reading with `seq` posted over HTTP with `key`.
async fn post_reading(api: &Api, key: &str, seq: u64) -> (u16, Value) {
    let reading = json!({ "items": [{ "seq": seq, "ts": now_ms(), "count": 1 }] });
    api.post("/v1/readings", key, reading).await
}

/// Waits until acme's audit log holds an entry of `kind` whose detail contains `detail`.
async fn audited(api: &Api, kind: &str, detail: &str) {
    eventually(
        &format!("acme's audit log has {kind} ({detail})"),
        async || {
            let (status, page) = api.get("/v1/tenants/acme/audit", ADMIN_TOKEN).await;
            assert_eq!(status, 200, "{page}");
            page["entries"].as_array().unwrap().iter().any(|entry| {
                entry["kind"] == kind && entry["detail"].as_str().unwrap().contains(detail)
            })
        },
    )
    .await;
}

/// Sends one reading with `seq` on the socket and expects its ack.
async fn ack(sensor: &mut SensorClient, seq: u64) {
    let acked = sensor
        .send_and_ack(vec![Reading {
            seq,
            ts: now_ms(),
            count: 2,
        }])
        .await;
    assert_eq!(acked, seq);
}

/// Asserts the answer of a refused sensor key: 401 `unknown_sensor_key`.
fn assert_unknown_key((status, body): (u16, Value)) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unknown_sensor_key", "{body}");
}

const KEYS: &str = "/v1/tenants/acme/sensors/r1-s/keys";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_both_keys_working_then_revoking_the_old_one_closes_its_socket() {
    let (_dir, node, api, old_key) = node().await;
    let admin = token(&api, "acme", "admin").await;
    let mut old = SensorClient::connect(node.addr, &old_key, Codec::Json).await;
    ack(&mut old, 1).await;

    let (status, rotated) = api
        .post(
            &format!("{KEYS}/rotate"),
            &admin,
            json!({ "overlap_secs": 3600 }),
        )
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    let expire_at = rotated["previous_keys_expire_at"].as_i64().unwrap();
    assert!(
        (3_590_000..=3_600_000).contains(&(expire_at - now_ms())),
        "{rotated}"
    );

    // The overlap: the open socket keeps getting acks, a socket with the new key opens beside
    // it, and both keys post batches.
    ack(&mut old, 2).await;
    let mut new = SensorClient::connect(node.addr, &new_key, Codec::MsgPack).await;
    assert_eq!(
        new.last_seq, 2,
        "the same sensor, resuming after the old socket's acks"
    );
    ack(&mut new, 3).await;
    assert_eq!(post_reading(&api, &old_key, 4).await.0, 200);
    assert_eq!(post_reading(&api, &new_key, 5).await.0, 200);
    ack(&mut old, 6).await;

    let (status, keys) = api.get(KEYS, &admin).await;
    assert_eq!(status, 200, "{keys}");
    let keys = keys.as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0]["expires_at"].as_i64(), Some(expire_at), "{keys:?}");
    assert_eq!(keys[1]["id"], rotated["id"]);
    assert!(keys.iter().all(|key| key["valid"] == true), "{keys:?}");
    assert!(
        !Value::Array(keys.clone()).to_string().contains("tsk_"),
        "no secret listed"
    );

    // Revoking the old key closes the socket it is connected with, and only that one.
    let old_id = keys[0]["id"].as_str().unwrap();
    let (status, body) = api.delete(&format!("{KEYS}/{old_id}"), &admin).await;
    assert_eq!(status, 204, "{body}");
    let reason = assert_closed_with(old.next().await, 4401);
    assert!(reason.contains("no longer valid"), "{reason}");
    assert_unknown_key(post_reading(&api, &old_key, 7).await);
    ack(&mut new, 7).await;
    assert_eq!(post_reading(&api, &new_key, 8).await.0, 200);
    match SensorClient::try_connect(node.addr, &old_key, Codec::Json).await {
        Err(refused) => {
            assert_closed_with(refused, 4401);
        }
        Ok(_) => panic!("a revoked key cannot connect"),
    }
    let (status, body) = api.delete(&format!("{KEYS}/{old_id}"), &admin).await;
    assert_eq!(status, 404, "revoked twice: {body}");

    // Revoking every key closes the last socket too.
    let (status, body) = api.delete(KEYS, &admin).await;
    assert_eq!((status, body["revoked"].as_u64()), (200, Some(1)), "{body}");
    assert_closed_with(new.next().await, 4401);
    assert_unknown_key(post_reading(&api, &new_key, 9).await);

    // Each change is in the tenant's audit log, never with the secret.
    audited(&api, "sensor_key.rotated", "sensor r1-s").await;
    audited(&api, "sensor_key.revoked", &format!("key {old_id} revoked")).await;
    audited(&api, "sensor_key.revoked", "all 1 keys revoked").await;
    let (_, page) = api.get("/v1/tenants/acme/audit", ADMIN_TOKEN).await;
    assert!(
        !page.to_string().contains(&new_key),
        "a key leaked into the audit log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_sensor_closes_its_socket_and_refuses_its_batches() {
    let (_dir, node, api, key) = node().await;
    let mut sensor = SensorClient::connect(node.addr, &key, Codec::Json).await;
    ack(&mut sensor, 1).await;
    // Readings in flight when the sensor is deleted are still acknowledged before the close.
    sensor
        .send(vec![Reading {
            seq: 2,
            ts: now_ms(),
            count: 3,
        }])
        .await;

    let (status, body) = api
        .delete("/v1/tenants/acme/sensors/r1-s", ADMIN_TOKEN)
        .await;
    assert_eq!(status, 204, "{body}");
    let mut next = sensor.next().await;
    if let Next::Frame(ServerFrame::Ack { up_to_seq }) = next {
        assert_eq!(up_to_seq, 2);
        next = sensor.next().await;
    }
    let reason = assert_closed_with(next, 4401);
    assert!(reason.contains("no longer valid"), "{reason}");
    assert_unknown_key(post_reading(&api, &key, 3).await);
    let (status, sensors) = api
        .get("/v1/tenants/acme/offices/hq/rooms/r1/sensors", ADMIN_TOKEN)
        .await;
    assert_eq!((status, sensors), (200, json!([])));
    audited(&api, "sensor.deleted", "sensor r1-s").await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/v1/tenants/acme/sensors/r1-s"),
        (reqwest::Method::GET, KEYS),
        (reqwest::Method::DELETE, KEYS),
    ] {
        let (status, body) = api
            .request(method.clone(), path, Some(ADMIN_TOKEN), None)
            .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_gets_404_like_an_unknown_sensor_and_changes_nothing() {
    let (_dir, node, api, key) = node().await;
    let mut sensor = SensorClient::connect(node.addr, &key, Codec::Json).await;
    let intruder = token(&api, "globex", "admin").await;
    let viewer = token(&api, "acme", "viewer").await;
    let probes = |sensor: &str, tenant: &str| {
        let base = format!("/v1/tenants/{tenant}/sensors/{sensor}");
        [
            (reqwest::Method::GET, format!("{base}/keys"), None),
            (
                reqwest::Method::POST,
                format!("{base}/keys/rotate"),
                Some(json!({})),
            ),
            (reqwest::Method::DELETE, format!("{base}/keys"), None),
            (
                reqwest::Method::DELETE,
                format!("{base}/keys/0000000000000000"),
                None,
            ),
            (reqwest::Method::DELETE, base, None),
        ]
    };
    for (method, path, body) in probes("r1-s", "acme") {
        let (status, answer) = api
            .request(method.clone(), &path, Some(&intruder), body.clone())
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert!(!answer.to_string().contains("globex"), "{answer}");
        let (status, answer) = api
            .request(method.clone(), &path, Some(&viewer), body.clone())
            .await;
        assert_eq!(status, 403, "a viewer: {method} {path}: {answer}");
    }
    // globex's admin on its own tenant, naming a sensor only acme has: the same 404 as for a
    // sensor that exists nowhere.
    api.create(
        "/v1/tenants/acme/offices/hq/rooms/r1/sensors",
        json!({ "id": "acme-only" }),
    )
    .await;
    for sensor_id in ["acme-only", "nobody"] {
        for (method, path, body) in probes(sensor_id, "globex") {
            let (status, answer) = api
                .request(method.clone(), &path, Some(&intruder), body)
                .await;
            assert_eq!(status, 404, "{method} {path}: {answer}");
            assert_eq!(answer["error"]["code"], "not_found", "{answer}");
            assert_eq!(
                answer["error"]["message"],
                format!("sensor \"{sensor_id}\" not found"),
                "{answer}"
            );
        }
    }
    // Bad requests get clear JSON errors.
    let admin = token(&api, "acme", "admin").await;
    let rotate = format!("{KEYS}/rotate");
    for bad in [json!({ "overlap_secs": 604_801 }), json!({ "overlap": 1 })] {
        let (status, answer) = api.post(&rotate, &admin, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }

    // Nothing of acme changed: one key, its socket still acknowledged.
    ack(&mut sensor, 1).await;
    let (status, keys) = api.get(KEYS, &admin).await;
    assert_eq!(status, 200);
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    let (status, keys) = api
        .get("/v1/tenants/acme/sensors/acme-only/keys", &admin)
        .await;
    assert_eq!(
        (status, keys.as_array().map(Vec::len)),
        (200, Some(1)),
        "{keys}"
    );
}
