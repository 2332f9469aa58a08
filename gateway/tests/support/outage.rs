//! A store that stops answering under load is a node fault, not a tenant fault: sensors are
//! refused (never acknowledged for what was not written), `/readyz` says not ready, no tenant is
//! quarantined, and once the store answers again the node serves again with nothing
//! acknowledged lost. Written once; each backend's test stops and restarts its own store.

use std::collections::BTreeMap;

use serde_json::json;

use super::load::{LoadSensor, count_for, eventually};
use super::{ADMIN_TOKEN, Api, ChildNode, temp_dir};
use tally_protocol::{RoomId, SensorId, TenantId};
use tally_storage::{SharedStore, TimeRange, testkit::ReadAll};

/// The sensors of the scenario: (tenant, room), each with its one sensor `<room>-s`.
pub const SENSORS: [(&str, &str); 3] = [("acme", "r1"), ("acme", "r2"), ("globex", "r1")];

/// The value of a metric (summed over its labels), 0 if the node has not exported it yet.
pub async fn metric(api: &Api, name: &str) -> f64 {
    let (_, text) = api.get("/metrics", ADMIN_TOKEN).await;
    let text = text.as_str().unwrap_or_default().to_owned();
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn readyz(api: &Api) -> u16 {
    api.get("/readyz", ADMIN_TOKEN).await.0
}

/// Every stored reading of a sensor's room, by seq (panics on a duplicate seq).
pub async fn stored(store: &SharedStore, tenant: &str, room: &str) -> BTreeMap<u64, u32> {
    let (tenant, room) = (TenantId::new(tenant).unwrap(), RoomId::new(room).unwrap());
    let all = TimeRange {
        from: 0,
        to: i64::MAX,
    };
    let mut by_seq = BTreeMap::new();
    for (sensor, reading) in store.all_readings(&tenant, &room, all).await.unwrap() {
        assert_eq!(sensor, SensorId::new(format!("{room}-s")).unwrap());
        let twice = by_seq.insert(reading.seq, reading.count).is_some();
        assert!(!twice, "seq {} stored twice", reading.seq);
    }
    by_seq
}

/// Runs the scenario on a `tally` node started with `env` (the backend's variables): `stop`
/// makes the store unresponsive under load, `restart` brings it back, `open_store` reads back.
pub async fn store_outage_under_load(
    mut env: Vec<(String, String)>,
    stop: impl AsyncFnOnce(),
    restart: impl AsyncFnOnce(),
    open_store: impl AsyncFnOnce() -> SharedStore,
) {
    // Give up retrying a write quickly, and escalate room failures at the first repeat: if a
    // storage fault counted as a room's own failure, the tenants would be quarantined at once.
    env.push(("TALLY_PERSISTER__RETRY_FOR".into(), "500ms".into()));
    env.push(("TALLY_SUPERVISION__MAX_RESTARTS".into(), "1".into()));
    let (_dir, data) = temp_dir();
    let node = ChildNode::start_with(&data, &env);
    let api = Api::new(node.addr);
    let mut keys = api.provision("acme", "hq", &["r1", "r2"]).await;
    keys.extend(api.provision("globex", "hq", &["r1"]).await);
    let http_sensor = api
        .create(
            "/v1/tenants/acme/offices/hq/rooms/r1/sensors",
            json!({ "id": "http-s" }),
        )
        .await;
    let http_key = http_sensor["key"].as_str().unwrap().to_owned();
    let sensors: Vec<LoadSensor> = keys
        .into_iter()
        .map(|key| LoadSensor::spawn(node.addr, key))
        .collect();
    eventually("every sensor is acknowledged", async || {
        sensors.iter().all(|s| s.acked() >= 50)
    })
    .await;

    // The store stops answering under load.
    stop().await;
    eventually("/readyz says not ready", async || readyz(&api).await == 503).await;
    let refused: Vec<u64> = sensors.iter().map(LoadSensor::refused).collect();
    eventually("every sensor is refused again and again", async || {
        sensors
            .iter()
            .zip(&refused)
            .all(|(s, r)| s.refused() >= r + 3)
    })
    .await;
    assert_eq!(
        readyz(&api).await,
        503,
        "still not ready while the store is down"
    );
    let batch = json!({ "items": [{ "seq": 1, "ts": super::now_ms(), "count": 1 }] });
    let (status, body) = api.post("/v1/readings", &http_key, batch).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("unavailable")),
        "{body}"
    );
    assert_eq!(metric(&api, "tally_storage_healthy").await, 0.0);
    assert_eq!(metric(&api, "tally_tenants_quarantined").await, 0.0);

    // The store is back: the node serves again, sensors reconnect and are acknowledged.
    restart().await;
    eventually("/readyz says ready", async || readyz(&api).await == 200).await;
    let before: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually("acks flow again for every sensor", async || {
        sensors
            .iter()
            .zip(&before)
            .all(|(s, b)| s.acked() >= b + 50)
    })
    .await;
    for tenant in ["acme", "globex"] {
        let (status, _) = api
            .delete(&format!("/v1/tenants/{tenant}/quarantine"), ADMIN_TOKEN)
            .await;
        assert_eq!(status, 404, "tenant {tenant} was never quarantined");
    }
    let mut acked = Vec::new();
    for sensor in sensors {
        acked.push(sensor.stop().await);
    }
    node.kill9();

    // Every reading ever acknowledged is in the store, with its count.
    assert_acknowledged_stored(&open_store().await, &acked).await;
}

/// Every reading up to `acked[i]` of the `i`-th of [`SENSORS`] is in `store`, with its count,
/// once.
pub async fn assert_acknowledged_stored(store: &SharedStore, acked: &[u64]) {
    for ((tenant, room), &acked) in SENSORS.into_iter().zip(acked) {
        let stored = stored(store, tenant, room).await;
        for seq in 1..=acked {
            assert_eq!(
                stored.get(&seq).copied(),
                Some(count_for(seq) as u32),
                "{tenant}/{room}: acknowledged seq {seq} lost"
            );
        }
    }
}
