//! A room's analytics come from its stored rollups and equal the figures computed from its raw
//! readings: a real node (embedded store), an office in Europe/Berlin with one room, a day of
//! irregular readings and then late ones (older timestamps, within `rollup.lateness`) that
//! change closed buckets at every resolution. The room's answer (stored rollups, raw readings
//! for what is not rolled up yet) must equal the office's (one room: from raw readings, or from
//! the office's own rollups once its owner finalised them) at every resolution, with and without working hours, and so must the room's figures in the
//! under-used ranking and its coverage in the data status (both from stored rollups too); and
//! the rollups must be in the store. A tenant's answer, from the tenant's stored rollups, equals
//! its answer from raw readings.

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Api, SensorClient, stop_checked, temp_dir, test_settings_with};
use tally_actors::{FinaliseStep, OfficeRollups};
use tally_protocol::{Codec, OfficeId, Reading, RoomId, TenantId};
use tally_storage::testkit::ReadAll;
use tally_storage::{EmbeddedStore, Resolution, RetentionPolicy, RollupArea, Store, TimeRange};

const MIN: i64 = 60_000;

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// The figures of a utilization answer (what must not depend on where they came from).
fn figures(report: &Value) -> (Value, Value) {
    (report["total"].clone(), report["buckets"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn room_answers_from_stored_rollups_equal_answers_from_raw_readings() {
    let (_dir, data) = temp_dir();
    let settings = [("TALLY_ROLLUP__LATENESS".to_owned(), "1d".to_owned())];
    let node = tally_gateway::start(test_settings_with(&data, &settings))
        .await
        .unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;
    let viewer = api.viewer_token("acme").await;
    // Working hours off the hour: answers read whole working hours as stored hours and the
    // quarter hours at either edge (07:45, and 17:00 to 17:30) as stored quarter hours.
    let calendar = json!({
        "time_zone": "Europe/Berlin",
        "working_hours": { "weekdays": [0, 1, 2, 3, 4], "start": "07:45", "end": "17:30" }
    });
    let hq = "/v1/tenants/acme/offices/hq";
    let (status, body) = api
        .put(&format!("{hq}/calendar"), ADMIN_TOKEN, calendar)
        .await;
    assert_eq!(status, 200, "{body}");

    // Monday 2 March 2026, Berlin (UTC+1): a reading every 7 min 13 s from 00:00Z to 02:00Z the
    // next day (the sensor timeout of 10 min leaves no gaps), counts 0 to 8 in a pattern; then,
    // late, readings every 11 min from 06:00Z to 20:00Z with higher counts.
    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::Json).await;
    let start = ms("2026-03-02T00:00:00Z");
    let mut seq = 0;
    let mut batch = Vec::new();
    let mut ts = start;
    while ts < ms("2026-03-03T02:00:00Z") {
        seq += 1;
        batch.push(Reading {
            seq,
            ts,
            count: (seq * 7 % 9) as i64,
        });
        ts += 7 * MIN + 13_000;
    }
    for chunk in batch.chunks(100) {
        sensor.send_and_ack(chunk.to_vec()).await;
    }
    let mut late = Vec::new();
    let mut ts = ms("2026-03-02T06:00:00Z") + 17_000;
    while ts < ms("2026-03-02T20:00:00Z") {
        seq += 1;
        late.push(Reading {
            seq,
            ts,
            count: 9 + (seq % 4) as i64,
        });
        ts += 11 * MIN;
    }
    sensor.send_and_ack(late).await;

    let room = format!("{hq}/rooms/r1");
    let queries = [
        // The local day of 2 March and the hours of it: closed, corrected by the late readings.
        "from=2026-03-01T23:00:00Z&to=2026-03-02T23:00:00Z&resolution=day",
        "from=2026-03-01T23:00:00Z&to=2026-03-02T23:00:00Z&resolution=hour",
        "from=2026-03-02T05:00:00Z&to=2026-03-02T21:00:00Z&resolution=fifteen_minutes",
        "from=2026-03-02T07:30:00Z&to=2026-03-02T09:30:00Z&resolution=minute",
        // Working hours, from stored hours and quarter hours.
        "from=2026-03-01T23:00:00Z&to=2026-03-02T23:00:00Z&resolution=hour&working_hours=true",
        // Past the rolled-up part (02:00Z on 3 March): the open part from raw readings.
        "from=2026-03-02T20:00:00Z&to=2026-03-03T04:00:00Z&resolution=hour",
        "from=2026-03-01T23:00:00Z&to=2026-03-03T23:00:00Z&resolution=day",
    ];
    for query in queries {
        let (status, from_rollups) = api
            .get(&format!("{room}/utilization?{query}"), &viewer)
            .await;
        assert_eq!(status, 200, "{query}: {from_rollups}");
        let (status, from_raw) = api.get(&format!("{hq}/utilization?{query}"), &viewer).await;
        assert_eq!(status, 200, "{query}: {from_raw}");
        assert_eq!(figures(&from_rollups), figures(&from_raw), "{query}");
        assert!(
            from_rollups["buckets"]
                .as_array()
                .is_some_and(|b| !b.is_empty()),
            "{query}"
        );
    }
    // The ranking and the data status read the room's stored buckets too (the coarsest that
    // tile the range; with working hours the working hours' tiles): the room's figures in the ranking
    // equal the one-room office's total from raw readings, its coverage per day the office's
    // day buckets from raw readings.
    for query in [
        queries[0],
        queries[1],
        queries[2],
        queries[3],
        queries[4],
        queries[5],
        queries[6],
        "from=2026-03-01T23:00:00Z&to=2026-03-03T23:00:00Z&resolution=day&working_hours=true",
    ] {
        let (status, ranking) = api
            .get(&format!("{hq}/under-used?{query}&below=1"), &viewer)
            .await;
        assert_eq!(status, 200, "{query}: {ranking}");
        let (_, office) = api.get(&format!("{hq}/utilization?{query}"), &viewer).await;
        assert_eq!(ranking["rooms"][0]["figures"], office["total"], "{query}");

        let (status, days) = api.get(&format!("{hq}/data-status?{query}"), &viewer).await;
        assert_eq!(status, 200, "{query}: {days}");
        let working = query.contains("working_hours=true");
        let (from, to) = (days["days"][0]["start"].as_i64().unwrap(), {
            let all = days["days"].as_array().unwrap();
            all[all.len() - 1]["end"].as_i64().unwrap()
        });
        let whole_days = format!(
            "from={}&to={}&resolution=day&working_hours={working}",
            jiff::Timestamp::from_millisecond(from).unwrap(),
            jiff::Timestamp::from_millisecond(to).unwrap()
        );
        let (_, office_days) = api
            .get(&format!("{hq}/utilization?{whole_days}"), &viewer)
            .await;
        let office_days = office_days["buckets"].as_array().unwrap();
        let status_days = days["days"].as_array().unwrap();
        assert_eq!(status_days.len(), office_days.len(), "{query}: {days}");
        for (day, office_day) in status_days.iter().zip(office_days) {
            assert_eq!(day["start"], office_day["start"], "{query}");
            assert_eq!(
                day["rooms"][0]["coverage"], office_day["coverage"],
                "{query}"
            );
            assert_eq!(day["coverage"], office_day["coverage"], "{query}");
        }
        assert!(
            status_days
                .iter()
                .any(|d| d["coverage"].as_f64() > Some(0.0)),
            "{query}: {days}"
        );
    }

    // The late readings count: the day's peak is theirs.
    let (_, day) = api
        .get(&format!("{room}/utilization?{}", queries[0]), &viewer)
        .await;
    assert_eq!(day["buckets"][0]["peak"].as_u64(), Some(12), "{day}");
    stop_checked(node).await;

    // What answered was stored: every resolution of the local day, with its statistics.
    let store = EmbeddedStore::open(&data.join("store")).unwrap();
    let (tenant, r1) = (TenantId::new("acme").unwrap(), RoomId::new("r1").unwrap());
    let all = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
    let day = store
        .all_rollups(&tenant, &r1, Resolution::Day, all)
        .await
        .unwrap();
    let starts: BTreeSet<i64> = day.iter().map(|r| r.bucket_start).collect();
    assert!(starts.contains(&ms("2026-03-01T23:00:00Z")), "{starts:?}");
    let stats = day[0].stats.as_ref().expect("statistics stored");
    assert_eq!((stats.end - stats.start) / MIN, 24 * 60);
    assert_eq!(stats.peak(), Some(12));
    for resolution in [
        Resolution::Minute,
        Resolution::FifteenMinutes,
        Resolution::Hour,
    ] {
        let rollups = store
            .all_rollups(&tenant, &r1, resolution, all)
            .await
            .unwrap();
        assert!(
            rollups.iter().all(|r| r.stats.is_some()) && !rollups.is_empty(),
            "{resolution:?}"
        );
    }
}

/// A tenant's answer comes from the tenant's stored rollups (every room of every office summed
/// in UTC, finalised by its anchor office's finaliser) and equals the answer from raw readings:
/// answers are taken from raw readings first, then the tenant area is finalised and the raw
/// readings deleted (a retention sweep), and the same queries must answer the same.
#[tokio::test(flavor = "multi_thread")]
async fn tenant_answers_from_stored_tenant_rollups_equal_answers_from_raw_readings() {
    let (_dir, data) = temp_dir();
    let settings = test_settings_with(
        &data,
        &[("TALLY_ROLLUP__LATENESS".to_owned(), "1d".to_owned())],
    );
    let hold_ms = i64::try_from(settings.ingest.sensor_timeout.as_millis()).unwrap();
    let node = tally_gateway::start(settings.clone()).await.unwrap();
    let api = Api::new(node.addr());
    let mut keys = api.provision("acme", "hq", &["r1"]).await;
    api.create("/v1/tenants/acme/offices", json!({ "id": "ny" }))
        .await;
    let ny = "/v1/tenants/acme/offices/ny/rooms";
    api.create(ny, json!({ "id": "n1", "capacity": 10 })).await;
    let sensor = api
        .create(&format!("{ny}/n1/sensors"), json!({ "id": "n1-s" }))
        .await;
    keys.push(sensor["key"].as_str().unwrap().to_owned());
    let viewer = api.viewer_token("acme").await;

    // 2 March 2026 UTC: each room reports every 4 min 7 s from 00:00Z to 02:00Z the next day,
    // in patterns that overlap.
    for (room, key) in keys.iter().enumerate() {
        let mut sensor = SensorClient::connect(node.addr(), key, Codec::Json).await;
        let (mut ts, mut batch) = (ms("2026-03-02T00:00:00Z") + 1_000 * room as i64, Vec::new());
        while ts < ms("2026-03-03T02:00:00Z") {
            let seq = batch.len() as u64 + 1;
            let count = ((seq * (3 + room as u64)) % 7) as i64;
            batch.push(Reading { seq, ts, count });
            ts += 4 * MIN + 7_000;
        }
        for chunk in batch.chunks(100) {
            sensor.send_and_ack(chunk.to_vec()).await;
        }
    }
    let tenant_path = "/v1/tenants/acme/utilization";
    let queries = [
        "from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&resolution=day",
        "from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&resolution=hour",
        "from=2026-03-02T06:00:00Z&to=2026-03-02T18:00:00Z&resolution=fifteen_minutes",
        "from=2026-03-02T07:30:00Z&to=2026-03-02T09:30:00Z&resolution=minute",
    ];
    let mut from_raw = Vec::new();
    for query in queries {
        let (status, answer) = api.get(&format!("{tenant_path}?{query}"), &viewer).await;
        assert_eq!(status, 200, "{query}: {answer}");
        assert!(
            answer["total"]["peak"].as_u64() > Some(6),
            "{query}: {answer}"
        );
        from_raw.push(answer);
    }
    stop_checked(node).await;

    // The anchor office's (hq's) finaliser rolls the tenant up; then the raw readings go.
    let store = EmbeddedStore::open(&data.join("store")).unwrap();
    let finaliser = OfficeRollups {
        tenant: TenantId::new("acme").unwrap(),
        office: OfficeId::new("hq").unwrap(),
        owner_token: 0,
        hold_ms,
        lateness_ms: 0,
    };
    let now = ms("2026-03-03T02:00:00Z");
    while let Some(FinaliseStep::Behind(_)) = finaliser.tenant_step(&store, now).await.unwrap() {}
    let frontier = store
        .area_rollup_frontier(&finaliser.tenant, &RollupArea::Tenant)
        .await
        .unwrap()
        .expect("the tenant area is finalised");
    assert!(frontier.holds(ms("2026-03-02T00:00:00Z"), ms("2026-03-03T00:00:00Z")));
    let readings_only = RetentionPolicy {
        readings: std::time::Duration::from_secs(3_600),
        ..RetentionPolicy::default()
    };
    let swept = (store.apply_retention(&readings_only, ms("2026-03-04T00:00:00Z")))
        .await
        .unwrap();
    assert!(swept.readings > 0, "{swept:?}");
    drop(store);

    let node = tally_gateway::start(settings).await.unwrap();
    let api = Api::new(node.addr());
    for (query, raw) in queries.iter().zip(&from_raw) {
        let (status, stored) = api.get(&format!("{tenant_path}?{query}"), &viewer).await;
        assert_eq!(status, 200, "{query}: {stored}");
        assert_eq!(figures(&stored), figures(raw), "{query}");
    }
    // The raw readings are gone indeed: an office (whose own rollups were not finalised)
    // answers nothing now.
    let (_, office) = api
        .get(
            &format!("/v1/tenants/acme/offices/ny/utilization?{}", queries[0]),
            &viewer,
        )
        .await;
    assert_eq!(office["total"]["peak"], Value::Null, "{office}");
    stop_checked(node).await;
}
