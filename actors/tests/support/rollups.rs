//! Shared fixture of the area rollup tests (`office_rollups.rs`, `tenant_rollups.rs`): an
//! embedded store with one tenant whose offices, rooms, raw readings and room rollup frontiers
//! are written straight to the store, the stored area rollups read back, and the buckets
//! computed straight from the raw readings to compare them with.

use std::sync::Arc;

use tally_actors::OfficeRollups;
use tally_protocol::analytics::{BucketStats, Calendar, Series, roll_up};
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};
use tally_storage::testkit::ReadAll;
use tally_storage::{
    CountMode, EmbeddedStore, Office, OfficeCalendar, Resolution, Rollup, RollupArea,
    RollupFrontier, Room, RoomState, RoomWrite, Store, StoredReading, Tenant, TimeRange,
    WriteBatch,
};

/// A minute.
pub const MIN: i64 = 60_000;
/// How long a reading's count holds (the sensor timeout of the finalisers).
pub const HOLD: i64 = 10 * MIN;
/// The lateness of the finalisers.
pub const LATENESS: i64 = 30 * MIN;

/// Milliseconds of an RFC 3339 instant.
pub fn ms(rfc3339: &str) -> TimestampMs {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// All of time.
pub fn everything() -> TimeRange {
    TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    }
}

/// A room's readings: `count` people from `from` to `to` (local times `HH:MM` of `day`, a date
/// and a UTC offset, as `("2026-06-10", "Z")`), and a reading every 7 minutes from 13 s after
/// `span.0` to `span.1` (0 outside the busy time), so that few readings fall on a minute's edge.
pub fn busy_readings(
    (date, offset): (&str, &str),
    (from, to, count): (&str, &str, u32),
    span: (TimestampMs, TimestampMs),
) -> Vec<(TimestampMs, u32)> {
    let from = ms(&format!("{date}T{from}:00{offset}"));
    let to = ms(&format!("{date}T{to}:00{offset}"));
    let mut out = Vec::new();
    let mut ts = span.0 + 13_000;
    while ts < span.1 {
        out.push((ts, if from <= ts && ts < to { count } else { 0 }));
        ts += 7 * MIN;
    }
    out.extend([(from, count), (to, 0)]);
    out
}

/// The buckets of `resolution` inside `[from, to)` computed straight from the rooms' raw
/// readings (their series summed at the same instants), those with something observed.
pub fn from_raw(
    rooms: &[Vec<(TimestampMs, u32)>],
    calendar: &Calendar,
    resolution: Resolution,
    (from, to): (TimestampMs, TimestampMs),
) -> Vec<BucketStats> {
    let series: Vec<Series> = rooms
        .iter()
        .map(|readings| Series::from_readings(readings.clone(), HOLD))
        .collect();
    roll_up(
        &Series::sum(&series),
        calendar,
        resolution.analytics(),
        from,
        to,
    )
    .unwrap()
    .into_iter()
    .filter(|b| from <= b.start && b.end <= to && !b.is_empty())
    .collect()
}

/// Every stored rollup of `area` at `resolution`.
pub async fn area_rollups(
    store: &dyn Store,
    tenant: &TenantId,
    area: &RollupArea,
    resolution: Resolution,
) -> Vec<Rollup> {
    let all = store.all_area_rollups(tenant, area, resolution, everything());
    all.await.unwrap()
}

/// An embedded store in a temporary directory with tenant `t`.
pub struct RollupStore {
    _dir: tempfile::TempDir,
    pub store: EmbeddedStore,
    pub tenant: TenantId,
}

impl RollupStore {
    /// The store with tenant `t` and nothing else.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let tenant = TenantId::new("t").unwrap();
        let record = Tenant {
            id: tenant.clone(),
            name: "T".into(),
        };
        store.create_tenant(&record).await.unwrap();
        Self {
            _dir: dir,
            store,
            tenant,
        }
    }

    /// Registers `office` in time zone `zone` with its `rooms`, each with its raw readings
    /// (sensor `s`) and a rollup frontier `frontier`, written in one batch.
    pub async fn add_office(
        &self,
        office: &str,
        zone: &str,
        rooms: &[(&str, Vec<(TimestampMs, u32)>)],
        frontier: RollupFrontier,
    ) {
        let (tenant, office) = (&self.tenant, OfficeId::new(office).unwrap());
        let name = String::from("T");
        let record = Office {
            tenant: tenant.clone(),
            id: office.clone(),
            name: name.clone(),
        };
        self.store.create_office(&record).await.unwrap();
        let calendar = OfficeCalendar {
            time_zone: zone.into(),
            work_days: vec![0, 1, 2, 3, 4],
            work_start: "08:00".into(),
            work_end: "18:00".into(),
        };
        (self.store.set_office_calendar(tenant, &office, &calendar))
            .await
            .unwrap();
        let sensor = SensorId::new("s").unwrap();
        let mut batch = WriteBatch::default();
        for (room, readings) in rooms {
            let id = RoomId::new(*room).unwrap();
            let record = Room {
                tenant: tenant.clone(),
                office: office.clone(),
                id: id.clone(),
                name: name.clone(),
                capacity: 4,
                count_mode: CountMode::Sum,
            };
            self.store.create_room(&record).await.unwrap();
            let rows = (1u64..).zip(readings).map(|(seq, &(ts, count))| {
                let reading = StoredReading {
                    seq,
                    ts,
                    count,
                    received_at: ts,
                };
                (sensor.clone(), reading)
            });
            batch.rooms.push(RoomWrite {
                tenant: tenant.clone(),
                office: office.clone(),
                room: id,
                owner_token: 0,
                readings: rows.collect(),
                state: RoomState {
                    rollups: Some(frontier),
                    ..RoomState::default()
                },
                rollups: Vec::new(),
            });
        }
        if !batch.rooms.is_empty() {
            self.store.write_batch(Arc::new(batch)).await.unwrap();
        }
    }

    /// The finaliser of an activation of `office` under `owner_token`.
    pub fn finaliser(&self, office: &str, owner_token: u64) -> OfficeRollups {
        OfficeRollups {
            tenant: self.tenant.clone(),
            office: OfficeId::new(office).unwrap(),
            owner_token,
            hold_ms: HOLD,
            lateness_ms: LATENESS,
        }
    }

    /// The stored frontier of `area`.
    pub async fn area_frontier(&self, area: &RollupArea) -> Option<RollupFrontier> {
        let found = self.store.area_rollup_frontier(&self.tenant, area).await;
        found.unwrap()
    }

    /// The stats of every stored rollup of `area` at `resolution`.
    pub async fn area_stats(&self, area: &RollupArea, resolution: Resolution) -> Vec<BucketStats> {
        let rollups = area_rollups(&self.store, &self.tenant, area, resolution).await;
        rollups.into_iter().map(|r| r.stats.unwrap()).collect()
    }
}
