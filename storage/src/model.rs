//! The records a [`crate::Store`] keeps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_protocol::analytics::BucketStats;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

/// A tenant: one customer company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
}

/// An office of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Office {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Its id, unique within the tenant.
    pub id: OfficeId,
    /// Display name.
    pub name: String,
}

/// How a room combines the counts of its sensors: a wire type too (a new room's body), defined
/// with the API's bodies.
pub use tally_protocol::api::CountMode;

/// A room of an office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Room {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Office the room is in.
    pub office: OfficeId,
    /// Its id, unique within the tenant.
    pub id: RoomId,
    /// Display name.
    pub name: String,
    /// People the room is meant for.
    pub capacity: u32,
    /// How sensor counts combine.
    pub count_mode: CountMode,
}

/// A people-counting sensor, placed in one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sensor {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Office of its room.
    pub office: OfficeId,
    /// Its room.
    pub room: RoomId,
    /// Its id, unique within the tenant.
    pub id: SensorId,
}

/// SHA-256 of a sensor key. Keys are random 256-bit secrets, so a plain hash is enough at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// Lowercase hex, for error messages.
    pub(crate) fn hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One raw reading as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReading {
    /// Sensor seq.
    pub seq: u64,
    /// Sensor time.
    pub ts: TimestampMs,
    /// People counted.
    pub count: u32,
    /// Node time when the reading arrived.
    pub received_at: TimestampMs,
}

/// What a room knows of one of its sensors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorState {
    /// Highest seq applied (the dedup mark).
    pub last_seq: u64,
    /// The sensor's latest count.
    pub count: u32,
    /// Sensor time of that count.
    pub ts: TimestampMs,
    /// Node time the sensor was last heard from; a sensor silent longer than its room's timeout
    /// stops contributing to the room's count (0 in states written before this field existed).
    #[serde(default)]
    pub received_at: TimestampMs,
}

/// How far a room's stored rollups reach: every bucket of every resolution that lies inside
/// `[from, to)` is stored, and one that is absent had no reading and no live sensor. Buckets
/// that end after `to` are still open (answered from raw readings); buckets that start before
/// `from` were never rolled up by this room (answered from raw readings too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupFrontier {
    /// Start of the first bucket the room rolled up.
    pub from: TimestampMs,
    /// End of the last closed minute: sensor time up to which every resolution is rolled up.
    pub to: TimestampMs,
}

impl RollupFrontier {
    /// Whether the bucket `[start, end)` is inside the frontier (so its stored rollup, or its
    /// absence, is the answer).
    pub fn holds(&self, start: TimestampMs, end: TimestampMs) -> bool {
        self.from <= start && end <= self.to
    }
}

/// Everything needed to restore a room actor: written atomically with its readings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// Live room count.
    pub count: u32,
    /// Sensor time of the reading that set the count.
    pub ts: TimestampMs,
    /// Per-sensor state, including the dedup mark.
    pub sensors: BTreeMap<SensorId, SensorState>,
    /// How far the room's stored rollups reach, once it rolled up its first minute (absent in
    /// states written before rollups kept their full statistics).
    #[serde(default)]
    pub rollups: Option<RollupFrontier>,
}

/// Width of a rollup bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// One minute.
    Minute,
    /// Fifteen minutes.
    FifteenMinutes,
    /// One hour.
    Hour,
    /// One day in the office's local time (23 to 25 hours).
    Day,
}

impl Resolution {
    /// Every resolution, finest first: the cascade 1 min → 15 min → 1 h → 1 d.
    pub const ALL: [Resolution; 4] = [Self::Minute, Self::FifteenMinutes, Self::Hour, Self::Day];

    /// The same resolution in the analytics math.
    pub fn analytics(self) -> tally_protocol::analytics::Resolution {
        use tally_protocol::analytics::Resolution as A;
        match self {
            Self::Minute => A::Minute,
            Self::FifteenMinutes => A::FifteenMinutes,
            Self::Hour => A::Hour,
            Self::Day => A::Day,
        }
    }
}

/// A closed rollup bucket of one room, in its office's local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    /// Bucket width.
    pub resolution: Resolution,
    /// Bucket start.
    pub bucket_start: TimestampMs,
    /// Time-weighted average count over the covered time (0 when nothing was covered).
    pub avg: f64,
    /// Highest count.
    pub peak: u32,
    /// Seconds with at least one person.
    pub occupied_s: f64,
    /// Readings in the bucket.
    pub samples: u32,
    /// The bucket's statistics (how long each count was held), from which every figure of the
    /// analytics follows; `None` in rollups stored before they kept them, which no answer uses.
    #[serde(default)]
    pub stats: Option<BucketStats>,
}

impl Rollup {
    /// The rollup of a bucket's statistics (the summary columns derived from them).
    pub fn of(resolution: Resolution, stats: BucketStats) -> Self {
        Self {
            resolution,
            bucket_start: stats.start,
            avg: stats.mean().unwrap_or(0.0),
            peak: stats.peak().unwrap_or(0),
            occupied_s: stats.occupied_ms() as f64 / 1000.0,
            samples: stats.samples,
            stats: Some(stats),
        }
    }
}

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: TimestampMs,
    /// Exclusive end.
    pub to: TimestampMs,
}

/// Rows written in one atomic, durable batch, grouped per room.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    /// Per room: its readings, its new state and its closed rollups.
    pub rooms: Vec<RoomWrite>,
}

/// The rows of one room inside a [`WriteBatch`], with the owner token they are written under.
///
/// The token travels with each room rather than on a per-office group of the batch: a room knows
/// its office and the token its office was activated with, the persister merges writes per room
/// and stays unaware of offices, and a room's rows can never be separated from the token that
/// allows them. The backend groups the rooms by `(tenant, office)` to check the tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomWrite {
    /// Tenant of the room.
    pub tenant: TenantId,
    /// Office of the room: the unit of ownership (and of fencing).
    pub office: OfficeId,
    /// The room.
    pub room: RoomId,
    /// The office's owner token this write is made under (0 on a single node): the write is
    /// rejected with [`crate::StoreError::Fenced`] if the store holds a higher one for the office
    /// (see [`crate::Store::acquire_office`]).
    pub owner_token: u64,
    /// New raw readings, keyed by sensor.
    pub readings: Vec<(SensorId, StoredReading)>,
    /// The room's state after applying them (replaces the stored one).
    pub state: RoomState,
    /// Closed rollup buckets (replace stored ones with the same resolution and start).
    pub rollups: Vec<Rollup>,
}

/// An aggregate area whose rooms' counts are summed at the same instants and stored as
/// rollups: one office, or the whole tenant (every room of every office, in UTC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RollupArea {
    /// One office, in its local time.
    Office(OfficeId),
    /// Every office of the tenant, in UTC (offices may lie in different time zones).
    Tenant,
}

impl RollupArea {
    /// The area's storage key within its tenant: the office id, or the empty string for the
    /// tenant (never an office id: ids are non-empty slugs), so both live in one key space.
    pub fn key(&self) -> &str {
        match self {
            Self::Office(office) => office.as_str(),
            Self::Tenant => "",
        }
    }
}

impl std::fmt::Display for RollupArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Office(office) => write!(f, "office {office}"),
            Self::Tenant => f.write_str("tenant area"),
        }
    }
}

/// The finalised rollups of one area (its rooms' counts summed at the same instants) and the
/// frontier they reach, written together under the owner token of the office whose
/// activation finalises them.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaRollupWrite {
    /// Tenant of the area.
    pub tenant: TenantId,
    /// The area rolled up.
    pub area: RollupArea,
    /// The office whose owner token fences the write: the area's own office, or for the tenant
    /// area its anchor office (see `tally_actors::anchor_office`).
    pub office: OfficeId,
    /// That office's owner token this write is made under: rejected with
    /// [`crate::StoreError::Fenced`] if the store holds a higher one (as in
    /// [`crate::Store::write_batch`]).
    pub owner_token: u64,
    /// How far the area's stored rollups reach after this write (replaces the stored one).
    pub frontier: RollupFrontier,
    /// Finalised buckets (replace stored ones with the same resolution and start).
    pub rollups: Vec<Rollup>,
}
