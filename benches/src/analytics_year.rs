//! `analytics-year`: the analytics endpoints over a year of minute data of one office (and its
//! tenant), against `/healthz` in the same run.
//!
//! Setup writes straight through the embedded store's API (no sensors, no actors): the registry,
//! the office's calendar, and per room and local day its minute readings with the rollups a room
//! would have stored for them (minutes rolled up with `tally_protocol::analytics` from the
//! readings, then the cascade 15 min → 1 h → 1 d) and a room state whose rollup frontier covers
//! the year; then the office's rollups (its rooms summed at the same instants) and the tenant's
//! (the same rooms in UTC: the office is the tenant's anchor), finalised by the office owner's
//! finaliser (`tally_actors::OfficeRollups`) a day (office) or an hour (tenant) per step up to
//! the last day.
//! Then a node starts on that data directory and every endpoint is asked in turn,
//! round-robin with `/healthz`, so that noise on the shared machine hits them alike.

use std::time::{Duration, Instant};

use tally_actors::{FinaliseStep, OfficeRollups};
use tally_config::Settings;
use tally_protocol::analytics::{Calendar, Resolution as Width, Series, cascade, roll_up};
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};
use tally_storage::{
    CountMode, EmbeddedStore, Office, OfficeCalendar, Resolution, Rollup, RollupArea,
    RollupFrontier, Room, RoomState, RoomWrite, SensorState, Store, StoredReading, Tenant,
    WriteBatch,
};

const ADMIN_TOKEN: &str = "analytics-year-admin-token";
const ZONE: &str = "Europe/Berlin";
const MINUTE: i64 = 60_000;

/// What to set up and how often to ask.
#[derive(Debug, Clone, Copy)]
pub struct YearShape {
    /// Rooms in the office.
    pub rooms: u32,
    /// Local days of minute data, ending at the local midnight of 2026-03-02.
    pub days: u32,
    /// Timed rounds (each asks every endpoint once), after two untimed ones.
    pub rounds: u32,
}

/// One endpoint's latency over the rounds.
#[derive(Debug, Clone)]
pub struct EndpointFigures {
    /// What was asked (path and query, shortened).
    pub name: String,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Bytes of the answer.
    pub bytes: usize,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct YearFigures {
    /// Readings written at setup.
    pub readings: u64,
    /// Rollups written at setup.
    pub rollups: u64,
    /// How long setup took.
    pub setup: Duration,
    /// `/healthz` first, then every analytics endpoint.
    pub endpoints: Vec<EndpointFigures>,
}

/// Writes `shape.days` of minute data of an office, starts a node on it and times the
/// analytics endpoints against `/healthz`.
///
/// # Errors
/// If the store, the node or a request fails, or an endpoint does not answer 200.
pub async fn year_of_data(shape: YearShape) -> anyhow::Result<YearFigures> {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let (readings, rollups) = write_year(&dir.path().join("store"), shape).await?;
    let setup = started.elapsed();

    let mut settings = Settings::default();
    settings.node.data_dir = dir.path().to_owned();
    settings.node.http_addr = "127.0.0.1:0".parse()?;
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
    let node = tally_gateway::start(settings).await?;
    let base = format!("http://{}", node.addr());
    let client = reqwest::Client::new();
    let (from, to) = ("2025-03-02T00:00:00%2B01:00", "2026-03-02T00:00:00%2B01:00");
    let hq = "/v1/tenants/bench/offices/hq";
    let year = format!("from={from}&to={to}");
    let month = "from=2026-01-30T00:00:00%2B01:00&to=2026-03-01T00:00:00%2B01:00";
    // The tenant's buckets are UTC days: whole UTC days inside the data.
    let utc_year = "from=2025-03-02T00:00:00Z&to=2026-03-01T00:00:00Z";
    let utc_month = "from=2026-01-30T00:00:00Z&to=2026-03-01T00:00:00Z";
    let paths = [
        "/healthz".to_owned(),
        format!("{hq}/rooms/r0/utilization?{year}&resolution=day"),
        format!("{hq}/rooms/r0/utilization?{year}&resolution=day&working_hours=true"),
        format!("{hq}/rooms/r0/utilization?{month}&resolution=hour"),
        format!("{hq}/under-used?{year}&resolution=day"),
        format!("{hq}/under-used?{year}&resolution=day&working_hours=true"),
        format!("{hq}/data-status?{year}"),
        format!("{hq}/utilization?{month}&resolution=day"),
        format!("{hq}/utilization?{year}&resolution=day"),
        format!("{hq}/heat-map?{month}"),
        format!("{hq}/heat-map?{year}"),
        format!("/v1/tenants/bench/utilization?{month}&resolution=day"),
        format!("/v1/tenants/bench/utilization?{utc_year}&resolution=day"),
        format!("/v1/tenants/bench/utilization?{utc_month}&resolution=hour"),
    ];
    let ask = Asker {
        client: &client,
        base: &base,
        rounds: shape.rounds,
    };
    let shorten = |path: &str| {
        path.replace(hq, "…/hq")
            .replace(&year, "YEAR")
            .replace(month, "30 DAYS")
            .replace(utc_year, "UTC YEAR")
            .replace(utc_month, "UTC 30 DAYS")
    };
    let mut endpoints = ask.time(&paths, &shorten).await?;
    // Working hours off the hour (07:45–17:30): answers read the quarter hours at the edges of
    // each working day too. Working hours do not change what is stored, only what is read.
    let calendar = serde_json::json!({
        "time_zone": ZONE,
        "working_hours": { "weekdays": [0, 1, 2, 3, 4], "start": "07:45", "end": "17:30" }
    });
    let set = (client.put(format!("{base}{hq}/calendar")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&calendar)
        .send()
        .await?;
    anyhow::ensure!(set.status().is_success(), "calendar: {}", set.status());
    let off_the_hour = [paths[0].clone(), paths[2].clone(), paths[5].clone()];
    let again = ask.time(&off_the_hour, &shorten).await?;
    endpoints.extend(again.into_iter().skip(1).map(|mut e| {
        e.name.push_str(" (07:45–17:30)");
        e
    }));
    node.stop().await;
    Ok(YearFigures {
        readings,
        rollups,
        setup,
        endpoints,
    })
}

/// Asks paths in rounds against a node.
struct Asker<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    rounds: u32,
}

impl Asker<'_> {
    /// Asks every path once per round, in turn (two untimed rounds first), and gives each
    /// path's figures, named by `shorten`.
    async fn time(
        &self,
        paths: &[String],
        shorten: &dyn Fn(&str) -> String,
    ) -> anyhow::Result<Vec<EndpointFigures>> {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
        let mut bytes = vec![0; paths.len()];
        for round in 0..self.rounds + 2 {
            for (i, path) in paths.iter().enumerate() {
                let asked = Instant::now();
                let response = (self.client.get(format!("{}{path}", self.base)))
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await?;
                let status = response.status();
                let body = response.bytes().await?;
                let took = asked.elapsed().as_secs_f64() * 1000.0;
                anyhow::ensure!(
                    status.is_success(),
                    "{path}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
                if round >= 2 {
                    times[i].push(took);
                }
                bytes[i] = body.len();
            }
        }
        Ok(paths
            .iter()
            .zip(times)
            .zip(bytes)
            .map(|((path, mut times), bytes)| {
                times.sort_by(f64::total_cmp);
                EndpointFigures {
                    name: shorten(path),
                    p50_ms: percentile(&times, 0.50),
                    p95_ms: percentile(&times, 0.95),
                    bytes,
                }
            })
            .collect())
    }
}

/// The value at `share` of sorted values (nearest rank).
fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (share * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The count of room `room` at `ts`: a working day fills the rooms
/// from 08:00 to 18:00 local with a pattern that varies by room, day and hour; nights and
/// weekends are empty.
fn count_at(calendar: &Calendar, room: u32, ts: TimestampMs) -> anyhow::Result<u32> {
    let local = jiff::Timestamp::from_millisecond(ts)?.to_zoned(calendar.time_zone().clone());
    let weekday = local.weekday().to_monday_zero_offset();
    let hour = u32::try_from(local.hour())?;
    if weekday >= 5 || !(8..18).contains(&hour) {
        return Ok(0);
    }
    let seed = u64::try_from(ts / MINUTE)?.wrapping_mul(6_364_136_223_846_793_005)
        ^ u64::from(room).wrapping_mul(1_442_695_040_888_963_407);
    let capacity = 4 + 2 * room;
    Ok(u32::try_from((seed >> 33) % u64::from(capacity + 1))? * (hour % 3 + 1) / 3)
}

/// Writes the registry and `shape.days` local days of minute readings and rollups; returns how
/// many readings and rollups it wrote.
async fn write_year(path: &std::path::Path, shape: YearShape) -> anyhow::Result<(u64, u64)> {
    let store = EmbeddedStore::open(path)?;
    let tenant = TenantId::new("bench")?;
    let office = OfficeId::new("hq")?;
    store
        .create_tenant(&Tenant {
            id: tenant.clone(),
            name: "Bench".into(),
        })
        .await?;
    store
        .create_office(&Office {
            tenant: tenant.clone(),
            id: office.clone(),
            name: "HQ".into(),
        })
        .await?;
    store
        .set_office_calendar(
            &tenant,
            &office,
            &OfficeCalendar {
                time_zone: ZONE.into(),
                work_days: vec![0, 1, 2, 3, 4],
                work_start: "08:00".into(),
                work_end: "18:00".into(),
            },
        )
        .await?;
    let rooms: Vec<RoomId> = (0..shape.rooms)
        .map(|i| RoomId::new(format!("r{i}")))
        .collect::<Result<_, _>>()?;
    for (i, room) in (0u32..).zip(&rooms) {
        store
            .create_room(&Room {
                tenant: tenant.clone(),
                office: office.clone(),
                id: room.clone(),
                name: format!("Room {i}"),
                capacity: 4 + 2 * i,
                count_mode: CountMode::Sum,
            })
            .await?;
    }
    let calendar = Calendar::new(ZONE)?;
    let hold = i64::try_from(Settings::default().ingest.sensor_timeout.as_millis())?;
    let sensor = SensorId::new("s")?;
    let last_day = calendar.bucket(
        Width::Day,
        "2026-03-02T00:00:00+01:00"
            .parse::<jiff::Timestamp>()?
            .as_millisecond(),
    )?;
    let days = calendar.buckets(
        Width::Day,
        last_day.start - i64::from(shape.days) * 24 * 3_600_000,
        last_day.start - 1,
    )?;
    let first = days.first().map_or(last_day.start, |d| d.start);
    let (mut readings_written, mut rollups_written) = (0u64, 0u64);
    // The last reading of each room, carried into the next day (it holds across midnight).
    let mut carried: Vec<Option<StoredReading>> = vec![None; rooms.len()];
    for day in &days {
        let mut batch = WriteBatch::default();
        for (i, room) in (0u32..).zip(&rooms) {
            let mut readings = Vec::new();
            let mut ts = day.start + 7_000;
            while ts < day.end {
                let seq = u64::try_from((ts - first) / MINUTE)? + 1;
                readings.push(StoredReading {
                    seq,
                    ts,
                    count: count_at(&calendar, i, ts)?,
                    received_at: ts,
                });
                ts += MINUTE;
            }
            let slot = &mut carried[i as usize];
            let series =
                Series::from_readings(slot.iter().chain(&readings).map(|r| (r.ts, r.count)), hold);
            let minutes = roll_up(&series, &calendar, Width::Minute, day.start, day.end)?;
            let mut rollups = Vec::new();
            for (level, stats) in cascade(minutes, &calendar)?.into_iter().enumerate() {
                rollups.extend(
                    stats
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .map(|s| Rollup::of(Resolution::ALL[level], s)),
                );
            }
            let last = *readings
                .last()
                .ok_or_else(|| anyhow::anyhow!("empty day"))?;
            *slot = Some(last);
            readings_written += readings.len() as u64;
            rollups_written += rollups.len() as u64;
            batch.rooms.push(RoomWrite {
                tenant: tenant.clone(),
                office: office.clone(),
                room: room.clone(),
                owner_token: 0,
                readings: readings.into_iter().map(|r| (sensor.clone(), r)).collect(),
                state: RoomState {
                    count: last.count,
                    ts: last.ts,
                    sensors: [(
                        sensor.clone(),
                        SensorState {
                            last_seq: last.seq,
                            count: last.count,
                            ts: last.ts,
                            received_at: last.ts,
                        },
                    )]
                    .into(),
                    rollups: Some(RollupFrontier {
                        from: first,
                        to: day.end,
                    }),
                },
                rollups,
            });
        }
        store.write_batch(std::sync::Arc::new(batch)).await?;
    }
    finalise_office(&store, &tenant, &office, hold, last_day.start).await?;
    Ok((readings_written, rollups_written))
}

/// The office's and the tenant's rollups, finalised by the office owner's own finaliser (a
/// day or an hour per step, as it catches up a backlog) up to `until`.
async fn finalise_office(
    store: &EmbeddedStore,
    tenant: &TenantId,
    office: &OfficeId,
    hold_ms: i64,
    until: TimestampMs,
) -> anyhow::Result<()> {
    let finaliser = OfficeRollups {
        tenant: tenant.clone(),
        office: office.clone(),
        owner_token: 0,
        hold_ms,
        lateness_ms: 0,
    };
    while let FinaliseStep::Behind(_) = finaliser.step(store, until).await? {}
    while let Some(FinaliseStep::Behind(_)) = finaliser.tenant_step(store, until).await? {}
    for area in [RollupArea::Office(office.clone()), RollupArea::Tenant] {
        let frontier = store.area_rollup_frontier(tenant, &area).await?;
        anyhow::ensure!(
            frontier.is_some_and(|f| f.to == until),
            "{area} rollups finalised up to {frontier:?}, not {until}"
        );
    }
    Ok(())
}
