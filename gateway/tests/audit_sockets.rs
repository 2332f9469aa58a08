//! WebSockets refused after their upgrade are audited like refused requests: a sensor's `hello`
//! with an unknown key lands in the platform's log (the key names no tenant), a sensor key
//! revoked or a sensor deleted while its socket is open, and a display token revoked while its
//! socket is open, land in the tenant's log; each entry carries the upgrade request's id, the
//! source address and the sensor's key id or the token's id. Refusals before the upgrade
//! (a bad or revoked token on `/v1/live`, a refused key on `/v1/readings`) are there too.

mod support;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::audit::*;
use support::*;
use tally_protocol::{Codec, SensorFrame};
use tokio_tungstenite::tungstenite::Message;

const PLATFORM_LOG: &str = "/v1/admin/audit?limit=1000";
const ACME_LOG: &str = "/v1/tenants/acme/audit?limit=1000";

/// The public id of a sensor key, as the keys API lists it (the first 8 bytes of its SHA-256).
fn key_id(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens a sensor socket with upgrade request id `request_id` and says hello with `key`.
async fn sensor_hello(api: &Api, key: &str, request_id: &str) -> SensorClient {
    let url = format!("{}/v1/sensors/connect", api.base.replacen("http", "ws", 1));
    let socket = open_ws_with(&url, Some(Codec::Json.subprotocol()), Some(request_id))
        .await
        .expect("sensor upgrade");
    let mut sensor = SensorClient {
        socket,
        codec: Codec::Json,
        last_seq: 0,
    };
    let hello = Codec::Json.encode(&SensorFrame::Hello {
        key: key.to_owned(),
    });
    sensor
        .send_raw(Message::Text(String::from_utf8(hello).unwrap().into()))
        .await;
    sensor
}

/// Asserts the entry of a refused socket: denied, from this machine, for `request_id`.
fn assert_refusal(entry: &Value, request_id: &str, principal: &str) {
    assert_eq!(entry["outcome"], "denied", "{entry}");
    assert_eq!(entry["request_id"], request_id, "{entry}");
    assert_eq!(entry["source"], "127.0.0.1", "{entry}");
    assert_eq!(entry["principal"], principal, "{entry}");
}

/// The access.denied entry of the upgrade request `request_id` in `log`.
async fn denied_for(api: &Api, log: &str, token: &str, request_id: &'static str) -> Value {
    entry_where(api, log, token, move |e| {
        e["kind"] == "access.denied" && e["request_id"] == request_id
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_sockets_refused_after_the_upgrade_are_audited() {
    let (_dir, node, api, key) = two_tenants().await;
    let (acme_admin, _) = mint(&api, "acme", "admin").await;

    // An unknown key: closed 4401, in the platform's log only, naming the key's id.
    let unknown = "tsk_no-such-key-0123456789";
    let mut refused = sensor_hello(&api, unknown, "unknown-key-1").await;
    assert_closed_with(refused.next().await, 4401);
    let entry = denied_for(&api, PLATFORM_LOG, ADMIN_TOKEN, "unknown-key-1").await;
    assert_refusal(&entry, "unknown-key-1", "unauthenticated");
    assert!(entry["tenant"].is_null(), "{entry}");
    assert_eq!(
        entry["detail"],
        format!(
            "GET /v1/sensors/connect: hello with unknown sensor key {}; closed 4401",
            key_id(unknown)
        )
    );

    // The key revoked while its socket is open: closed 4401, in acme's log, naming the sensor
    // and the key.
    let mut open = sensor_hello(&api, &key, "revoked-key-1").await;
    assert!(matches!(
        open.next().await,
        Next::Frame(tally_protocol::ServerFrame::Welcome { .. })
    ));
    let keys = "/v1/tenants/acme/sensors/r1-s/keys";
    let (status, body) = api
        .delete(&format!("{keys}/{}", key_id(&key)), &acme_admin)
        .await;
    assert_eq!(status, 204, "{body}");
    assert_closed_with(open.next().await, 4401);
    let entry = denied_for(&api, ACME_LOG, &acme_admin, "revoked-key-1").await;
    let sensor = format!("sensor r1-s key {}", key_id(&key));
    assert_refusal(&entry, "revoked-key-1", &sensor);
    assert_eq!(entry["tenant"], "acme");
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("no longer valid while the socket was open; closed 4401"),
        "{entry}"
    );

    // The revoked key again: now unknown, so the platform's log, never acme's.
    let mut again = sensor_hello(&api, &key, "revoked-key-2").await;
    assert_closed_with(again.next().await, 4401);
    let entry = denied_for(&api, PLATFORM_LOG, ADMIN_TOKEN, "revoked-key-2").await;
    assert!(entry["tenant"].is_null(), "{entry}");
    let acme = entries(&api, ACME_LOG, &acme_admin).await;
    assert!(
        acme.iter().all(|e| e["request_id"] != "revoked-key-2"),
        "an unknown key is attributed to no tenant: {acme:#?}"
    );
    // Globex's log holds none of it.
    let (globex_admin, _) = mint(&api, "globex", "admin").await;
    let globex = entries(&api, "/v1/tenants/globex/audit?limit=1000", &globex_admin).await;
    assert!(
        globex.iter().all(|e| e["kind"] != "access.denied"),
        "{globex:#?}"
    );
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_deleted_while_connected_is_audited_in_its_tenants_log() {
    let (_dir, node, api, key) = two_tenants().await;
    let mut open = sensor_hello(&api, &key, "deleted-sensor-1").await;
    assert!(matches!(
        open.next().await,
        Next::Frame(tally_protocol::ServerFrame::Welcome { .. })
    ));
    let (status, body) = api
        .delete("/v1/tenants/acme/sensors/r1-s", ADMIN_TOKEN)
        .await;
    assert_eq!(status, 204, "{body}");
    assert_closed_with(open.next().await, 4401);
    let entry = denied_for(&api, ACME_LOG, ADMIN_TOKEN, "deleted-sensor-1").await;
    assert_refusal(
        &entry,
        "deleted-sensor-1",
        &format!("sensor r1-s key {}", key_id(&key)),
    );
    // Its HTTP batches are refused and audited too (before any tenant is known: the platform's).
    let reading = json!({ "items": [{ "seq": 1, "ts": now_ms(), "count": 1 }] });
    assert_eq!(api.post("/v1/readings", &key, reading).await.0, 401);
    entry_where(&api, PLATFORM_LOG, ADMIN_TOKEN, |e| {
        e["kind"] == "access.denied" && e["detail"] == "POST /v1/readings answered 401"
    })
    .await;
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_sockets_refused_before_and_after_the_upgrade_are_audited() {
    let (_dir, node, api, _) = two_tenants().await;
    let (acme_admin, _) = mint(&api, "acme", "admin").await;
    let (viewer, viewer_jti) = mint(&api, "acme", "viewer").await;
    let live = format!("{}/v1/live", api.base.replacen("http", "ws", 1));

    // Revoked while the socket is open: closed 4401, in acme's log, as the viewer's token.
    let socket = open_ws_with(
        &format!("{live}?access_token={viewer}"),
        Some("tally.v1.json"),
        Some("display-revoked-1"),
    )
    .await
    .expect("display upgrade");
    let mut display = DisplayClient {
        socket,
        codec: Codec::Json,
    };
    let (status, body) = api
        .post(
            "/v1/tenants/acme/tokens/revoke",
            &acme_admin,
            json!({ "id": viewer_jti }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_closed_with(display.next().await, 4401);
    let entry = denied_for(&api, ACME_LOG, &acme_admin, "display-revoked-1").await;
    assert_refusal(
        &entry,
        "display-revoked-1",
        &format!("viewer token {viewer_jti}"),
    );
    assert_eq!(
        entry["detail"],
        "GET /v1/live: token revoked while the socket was open; closed 4401"
    );

    // The revoked token refused at the upgrade: 401, in acme's log too.
    let refused = open_ws_with(
        &format!("{live}?access_token={viewer}"),
        Some("tally.v1.json"),
        Some("display-revoked-2"),
    )
    .await;
    assert_eq!(refused.err().map(|(status, _)| status), Some(401));
    let entry = denied_for(&api, ACME_LOG, &acme_admin, "display-revoked-2").await;
    assert_eq!(entry["detail"], "GET /v1/live answered 401", "{entry}");

    // A forged token names no tenant: the platform's log.
    let forged = open_ws_with(
        &format!("{live}?access_token=not-a-jwt"),
        Some("tally.v1.json"),
        Some("display-forged-1"),
    )
    .await;
    assert_eq!(forged.err().map(|(status, _)| status), Some(401));
    let entry = denied_for(&api, PLATFORM_LOG, ADMIN_TOKEN, "display-forged-1").await;
    assert_refusal(&entry, "display-forged-1", "unauthenticated");
    assert!(entry["tenant"].is_null(), "{entry}");
    stop_checked(node).await;
}
