//! The analytics REST API on a real node (embedded store): an office calendar in Europe/Berlin,
//! readings at known times in two rooms, and every endpoint checked against figures computed
//! by hand; another tenant's office answers exactly like a missing one; out-of-range queries
//! answer `invalid_request`.

mod support;

use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Api, SensorClient, stop_checked, temp_dir, test_settings_with};
use tally_protocol::{Codec, Reading};

/// Milliseconds of an RFC 3339 time.
fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Sends `(time, count)` readings of one sensor and waits for their ack.
async fn send(addr: std::net::SocketAddr, key: &str, readings: &[(&str, u32)]) {
    let mut sensor = SensorClient::connect(addr, key, Codec::Json).await;
    let items = (1..)
        .zip(readings)
        .map(|(seq, (ts, count))| Reading {
            seq,
            ts: ms(ts),
            count: i64::from(*count),
        })
        .collect();
    sensor.send_and_ack(items).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_endpoints_answer_hand_computed_figures() {
    let (_dir, data) = temp_dir();
    let hold = [("TALLY_INGEST__SENSOR_TIMEOUT".to_owned(), "2h".to_owned())];
    let node = tally_gateway::start(test_settings_with(&data, &hold))
        .await
        .unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1", "r2"]).await;
    api.provision("globex", "hq", &["r1"]).await;
    let viewer = api.viewer_token("acme").await;
    let stranger = api.viewer_token("globex").await;
    let hq = "/v1/tenants/acme/offices/hq";

    // The calendar: UTC and Monday–Friday 08–18 until set; only the tenant's admin sets it.
    let (status, calendar) = api.get(&format!("{hq}/calendar"), &viewer).await;
    assert_eq!(
        (status, calendar["time_zone"].as_str()),
        (200, Some("UTC")),
        "{calendar}"
    );
    let berlin = json!({
        "time_zone": "Europe/Berlin",
        "working_hours": { "weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00" }
    });
    assert_eq!(
        api.put(&format!("{hq}/calendar"), &viewer, berlin.clone())
            .await
            .0,
        403
    );
    for bad in [
        json!({ "time_zone": "Mars/Base", "working_hours": berlin["working_hours"] }),
        json!({ "time_zone": "UTC", "working_hours": { "weekdays": [0], "start": "08:10", "end": "18:00" } }),
    ] {
        let (status, body) = api.put(&format!("{hq}/calendar"), ADMIN_TOKEN, bad).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, body) = api
        .put(&format!("{hq}/calendar"), ADMIN_TOKEN, berlin.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api.get(&format!("{hq}/calendar"), &viewer).await.1, berlin);

    // Monday 2 March 2026 (CET, UTC+1). r1: 4 people 08:00Z–08:30Z, 0 until 09:00Z, then 2.
    // r2: 0 from 08:00Z, 6 people 08:30Z–08:45Z, then 0. Each holds 2 h after its last reading.
    send(
        node.addr(),
        &keys[0],
        &[
            ("2026-03-02T08:00:00Z", 4),
            ("2026-03-02T08:30:00Z", 0),
            ("2026-03-02T09:00:00Z", 2),
        ],
    )
    .await;
    send(
        node.addr(),
        &keys[1],
        &[
            ("2026-03-02T08:00:00Z", 0),
            ("2026-03-02T08:30:00Z", 6),
            ("2026-03-02T08:45:00Z", 0),
            ("2026-03-02T09:00:00Z", 0),
        ],
    )
    .await;

    // Office by hour: the rooms summed at the same instants: 4 for 30 min, 6 for 15, 0 for 15
    // (peak 6, not 4 + 6); then 2 for the whole second hour.
    let range = "from=2026-03-02T08:00:00Z&to=2026-03-02T10:00:00Z";
    let (status, office) = api
        .get(
            &format!("{hq}/utilization?{range}&resolution=hour"),
            &viewer,
        )
        .await;
    assert_eq!(status, 200, "{office}");
    assert_eq!(
        (office["capacity"].as_u64(), office["time_zone"].as_str()),
        (Some(20), Some("Europe/Berlin"))
    );
    let first = &office["buckets"][0];
    assert_eq!(first["start"].as_i64(), Some(ms("2026-03-02T08:00:00Z")));
    assert!(close(&first["mean"], 3.5), "{first}");
    assert_eq!(
        (
            first["peak"].as_u64(),
            first["median"].as_u64(),
            first["min"].as_u64()
        ),
        (Some(6), Some(4), Some(0))
    );
    assert!(
        close(&first["utilization"], 0.175) && close(&first["peak_utilization"], 0.3),
        "{first}"
    );
    assert!(
        close(&first["occupied_s"], 2_700.0) && close(&first["above_target_s"], 0.0),
        "{first}"
    );
    assert_eq!(first["samples"].as_u64(), Some(5), "{office}");
    assert!(close(&first["coverage"], 1.0), "{first}");
    assert!(close(&office["buckets"][1]["mean"], 2.0), "{office}");
    assert!(
        close(&office["total"]["mean"], 2.75) && close(&office["total"]["utilization"], 0.1375),
        "{office}"
    );

    // One room: r1's first hour is 4 for 30 min and 0 for 30 min.
    let (status, room) = api
        .get(&format!("{hq}/rooms/r1/utilization?{range}"), &viewer)
        .await;
    assert_eq!(status, 200, "{room}");
    assert!(
        close(&room["buckets"][0]["mean"], 2.0) && close(&room["buckets"][0]["utilization"], 0.2),
        "{room}"
    );
    assert!(
        close(&room["buckets"][0]["mean_when_occupied"], 4.0),
        "{room}"
    );

    // Working hours: 06:00Z–07:00Z is 07:00 local, before the working day; 07:00Z (08:00) is in.
    let early = "from=2026-03-02T06:00:00Z&to=2026-03-02T10:00:00Z";
    let (_, all) = api.get(&format!("{hq}/utilization?{early}"), &viewer).await;
    let (_, working) = api
        .get(
            &format!("{hq}/utilization?{early}&working_hours=true"),
            &viewer,
        )
        .await;
    assert_eq!(all["buckets"].as_array().unwrap().len(), 4);
    let working = working["buckets"].as_array().unwrap();
    assert_eq!(working.len(), 3);
    assert_eq!(
        working[0]["start"].as_i64(),
        Some(ms("2026-03-02T07:00:00Z"))
    );
    assert!(working[0]["mean"].is_null() && close(&working[0]["coverage"], 0.0));

    // Heat map: Monday 09:00 and 10:00 local.
    let (status, map) = api.get(&format!("{hq}/heat-map?{range}"), &viewer).await;
    assert_eq!(status, 200, "{map}");
    let cells = map["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 7 * 24);
    assert!(
        close(&cells[9]["mean"], 3.5) && cells[9]["peak"].as_u64() == Some(6),
        "{}",
        cells[9]
    );
    assert!(close(&cells[10]["mean"], 2.0), "{}", cells[10]);
    assert!(cells[24 + 9]["mean"].is_null(), "Tuesday has no data");

    // Under-used: r1 averages 2 of 10 (0.2), r2 0.75 of 10 (0.075): least used first.
    let (status, ranking) = api
        .get(&format!("{hq}/under-used?{range}&below=0.3"), &viewer)
        .await;
    assert_eq!(status, 200, "{ranking}");
    let ranked: Vec<&str> = ranking["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, ["r2", "r1"]);
    assert!(
        close(&ranking["rooms"][0]["figures"]["utilization"], 0.075),
        "{ranking}"
    );
    assert_eq!(ranking["rooms"][0]["capacity"].as_u64(), Some(10));
    let (_, strict) = api
        .get(&format!("{hq}/under-used?{range}&below=0.1"), &viewer)
        .await;
    assert_eq!(strict["rooms"].as_array().unwrap().len(), 1);

    // Data status: the local day 2 March runs 23:00Z–23:00Z; each room is live 08:00Z–11:00Z.
    let (status, days) = api.get(&format!("{hq}/data-status?{range}"), &viewer).await;
    assert_eq!(status, 200, "{days}");
    let day = &days["days"][0];
    assert_eq!(
        (day["date"].as_str(), day["start"].as_i64()),
        (Some("2026-03-02"), Some(ms("2026-03-01T23:00:00Z")))
    );
    assert!(close(&day["coverage"], 0.125), "{day}");
    assert!(close(&day["rooms"][0]["coverage"], 0.125), "{day}");

    // Another tenant's office is missing, word for word as a missing office of one's own.
    for path in [
        "utilization",
        "heat-map",
        "under-used",
        "data-status",
        "rooms/r1/utilization",
        "calendar",
    ] {
        let theirs = api.get(&format!("{hq}/{path}?{range}"), &stranger).await;
        let missing = api
            .get(
                &format!("/v1/tenants/globex/offices/nowhere/{path}?{range}"),
                &stranger,
            )
            .await;
        assert_eq!(theirs.0, 404, "{path}: {}", theirs.1);
        assert_eq!(
            theirs.1["error"]["code"], missing.1["error"]["code"],
            "{path}"
        );
        assert_eq!(
            theirs.1["error"]["message"],
            json!("office \"hq\" not found"),
            "{path}"
        );
        assert_eq!(
            missing.1["error"]["message"],
            json!("office \"nowhere\" not found"),
            "{path}"
        );
    }
    let (status, body) = api
        .get(&format!("{hq}/rooms/ghost/utilization?{range}"), &viewer)
        .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (404, Some("room \"ghost\" not found"))
    );

    // The tenant: every room of every office summed at the same instants, in UTC hours (Berlin
    // hours are UTC hours, so its one office's figures are the tenant's).
    let (status, tenant) = api
        .get(&format!("/v1/tenants/acme/utilization?{range}"), &viewer)
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(
        (
            tenant["offices"].as_u64(),
            tenant["rooms"].as_u64(),
            tenant["time_zone"].as_str(),
            tenant["capacity"].as_u64()
        ),
        (Some(1), Some(2), Some("UTC"), Some(20)),
        "{tenant}"
    );
    assert_eq!(tenant["total"], office["total"]);
    assert_eq!(tenant["buckets"], office["buckets"]);
    assert_eq!(tenant["buckets"][0]["peak"].as_u64(), Some(6), "{tenant}");
    // Another tenant answers exactly like a missing one; bad ranges and working hours (each
    // office has its own) answer `invalid_request`.
    let theirs = api
        .get(&format!("/v1/tenants/acme/utilization?{range}"), &stranger)
        .await;
    let missing = api
        .get(
            &format!("/v1/tenants/nowhere/utilization?{range}"),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(
        (theirs.0, missing.0),
        (404, 404),
        "{} {}",
        theirs.1,
        missing.1
    );
    assert_eq!(theirs.1["error"]["code"], missing.1["error"]["code"]);
    assert_eq!(
        (
            theirs.1["error"]["message"].as_str(),
            missing.1["error"]["message"].as_str()
        ),
        (
            Some("tenant \"acme\" not found"),
            Some("tenant \"nowhere\" not found")
        )
    );
    for query in [
        "from=2026-03-02T10:00:00Z&to=2026-03-02T08:00:00Z",
        "from=2025-01-01T00:00:00Z&to=2026-03-02T00:00:00Z&resolution=day",
        "from=2026-01-01T00:00:00Z&to=2026-03-02T00:00:00Z&resolution=minute",
        "from=2026-03-02T08:00:00Z&to=2026-03-02T10:00:00Z&working_hours=true",
        "from=2026-03-02T08:00:00Z&to=2026-03-02T10:00:00Z&below=2",
    ] {
        let (status, body) = api
            .get(&format!("/v1/tenants/acme/utilization?{query}"), &viewer)
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{query}: {body}"
        );
    }

    // Out-of-range and malformed queries.
    for query in [
        "from=2026-03-02T10:00:00Z&to=2026-03-02T10:00:00Z",
        "from=2025-01-01T00:00:00Z&to=2026-03-02T00:00:00Z",
        "from=2026-01-01T00:00:00Z&to=2026-03-02T00:00:00Z&resolution=minute",
        "from=2026-03-02T08:00:00Z&to=2026-03-02T10:00:00Z&resolution=week",
        "from=yesterday&to=2026-03-02T10:00:00Z",
        "from=2026-03-02T08:00:00Z&to=2026-03-02T10:00:00Z&target=1.5",
        "to=2026-03-02T10:00:00Z",
    ] {
        let (status, body) = api.get(&format!("{hq}/utilization?{query}"), &viewer).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{query}: {body}"
        );
    }
    stop_checked(node).await;
}
