//! Ordered byte keys of the embedded store, mirroring the ScyllaDB primary keys.
//!
//! Variable-length parts (ids) are followed by [`SEP`], a byte no slug contains, so a prefix scan
//! over tenant `a` never reaches tenant `ab` and shorter ids sort before longer ones, as strings
//! do. Timestamps are big-endian with the sign bit flipped, so byte order is numeric order.

use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use crate::{KeyHash, Resolution, RollupArea};

/// Ends every variable-length key part; never occurs in a slug.
const SEP: u8 = 0;

/// A key under construction.
struct Key(Vec<u8>);

impl Key {
    /// A key in a table of the registry keyspace.
    fn table(name: &str) -> Self {
        Self(Vec::with_capacity(64)).id(name)
    }

    /// Appends an id and its separator.
    fn id(mut self, id: &str) -> Self {
        self.0.extend_from_slice(id.as_bytes());
        self.0.push(SEP);
        self
    }

    /// Appends a timestamp, ordered numerically.
    fn ts(mut self, ts: TimestampMs) -> Self {
        self.0.extend_from_slice(&encode_ts(ts));
        self
    }

    /// Appends raw bytes.
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
}

/// Big-endian with the sign bit flipped: `i64::MIN` encodes as all zeros.
pub(super) fn encode_ts(ts: TimestampMs) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

/// One byte per resolution, in width order.
fn resolution_byte(resolution: Resolution) -> u8 {
    match resolution {
        Resolution::Minute => 0,
        Resolution::FifteenMinutes => 1,
        Resolution::Hour => 2,
        Resolution::Day => 3,
    }
}

/// Registry: one tenant.
pub(super) fn tenant(tenant: &TenantId) -> Vec<u8> {
    Key::table("tenant").id(tenant.as_str()).0
}

/// Registry: prefix of every tenant.
pub(super) fn tenants() -> Vec<u8> {
    Key::table("tenant").0
}

/// Registry: one office.
pub(super) fn office(tenant: &TenantId, office: &OfficeId) -> Vec<u8> {
    Key(offices(tenant)).id(office.as_str()).0
}

/// Registry: the calendar of an office.
pub(super) fn office_calendar(tenant: &TenantId, office: &OfficeId) -> Vec<u8> {
    Key::table("office_calendar")
        .id(tenant.as_str())
        .id(office.as_str())
        .0
}

/// Registry: prefix of the offices of a tenant.
pub(super) fn offices(tenant: &TenantId) -> Vec<u8> {
    Key::table("office").id(tenant.as_str()).0
}

/// Registry: one room, keyed per tenant.
pub(super) fn room(tenant: &TenantId, room: &RoomId) -> Vec<u8> {
    Key::table("room").id(tenant.as_str()).id(room.as_str()).0
}

/// Registry index: one room under its office.
pub(super) fn room_by_office(tenant: &TenantId, office: &OfficeId, room: &RoomId) -> Vec<u8> {
    Key(rooms_by_office(tenant, office)).id(room.as_str()).0
}

/// Registry index: prefix of the rooms of an office.
pub(super) fn rooms_by_office(tenant: &TenantId, office: &OfficeId) -> Vec<u8> {
    Key::table("room_by_office")
        .id(tenant.as_str())
        .id(office.as_str())
        .0
}

/// Registry: one sensor, keyed per tenant.
pub(super) fn sensor(tenant: &TenantId, sensor: &SensorId) -> Vec<u8> {
    Key::table("sensor")
        .id(tenant.as_str())
        .id(sensor.as_str())
        .0
}

/// Registry index: one sensor under its room.
pub(super) fn sensor_by_room(tenant: &TenantId, room: &RoomId, sensor: &SensorId) -> Vec<u8> {
    Key(sensors_by_room(tenant, room)).id(sensor.as_str()).0
}

/// Registry index: prefix of the sensors of a room.
pub(super) fn sensors_by_room(tenant: &TenantId, room: &RoomId) -> Vec<u8> {
    Key::table("sensor_by_room")
        .id(tenant.as_str())
        .id(room.as_str())
        .0
}

/// `sensor_keys`: the key hash itself.
pub(super) fn sensor_key(key_hash: &KeyHash) -> Vec<u8> {
    key_hash.0.to_vec()
}

/// `room_state` (and the prefix of a room's readings and rollups): `tenant, room`.
pub(super) fn room_partition(tenant: &TenantId, room: &RoomId) -> Vec<u8> {
    Key(Vec::with_capacity(64))
        .id(tenant.as_str())
        .id(room.as_str())
        .0
}

/// Prefix of every key of a tenant in the keyspaces keyed by tenant first (`readings`,
/// `room_state`, `rollups`, `office_owners`).
pub(super) fn tenant_partition(tenant: &TenantId) -> Vec<u8> {
    Key(Vec::with_capacity(32)).id(tenant.as_str()).0
}

/// The room id bytes of a `room_state` key of a tenant whose prefix is `prefix_len` long.
pub(super) fn state_room(key: &[u8], prefix_len: usize) -> Option<&[u8]> {
    key.get(prefix_len..)?.strip_suffix(&[SEP])
}

/// `office_owners`: `tenant, office`.
pub(super) fn office_owner(tenant: &TenantId, office: &OfficeId) -> Vec<u8> {
    Key(tenant_partition(tenant)).id(office.as_str()).0
}

/// `erasures`: the tenant id.
pub(super) fn erasure(tenant: &TenantId) -> Vec<u8> {
    tenant.as_str().as_bytes().to_vec()
}

/// Registry: a tenant's own retention policy.
pub(super) fn retention(tenant: &TenantId) -> Vec<u8> {
    Key::table("retention").id(tenant.as_str()).0
}

/// Registry: the tenant's mark "tokens issued before it are revoked".
pub(super) fn tokens_revoked_before(tenant: &TenantId) -> Vec<u8> {
    Key::table("tokens_revoked_before").id(tenant.as_str()).0
}

/// Registry: prefix of the tenant's tokens revoked by id.
pub(super) fn revoked_tokens(tenant: &TenantId) -> Vec<u8> {
    Key::table("revoked_token").id(tenant.as_str()).0
}

/// Registry: one token revoked by id (token ids hold no [`SEP`]: visible ASCII only).
pub(super) fn revoked_token(tenant: &TenantId, token_id: &str) -> Vec<u8> {
    Key(revoked_tokens(tenant)).id(token_id).0
}

/// Registry: every key (or key prefix) that belongs to a tenant, for erasure.
pub(super) fn registry_of_tenant(tenant: &TenantId) -> Vec<Vec<u8>> {
    let mut prefixes: Vec<Vec<u8>> = [
        "office",
        "office_calendar",
        "room",
        "room_by_office",
        "sensor",
        "sensor_by_room",
        "tokens_revoked_before",
        "revoked_token",
    ]
    .iter()
    .map(|table| Key::table(table).id(tenant.as_str()).0)
    .collect();
    prefixes.push(self::tenant(tenant));
    prefixes.push(retention(tenant));
    prefixes
}

/// `readings`: `tenant, room, ts, sensor, seq`.
pub(super) fn reading(
    tenant: &TenantId,
    room: &RoomId,
    ts: TimestampMs,
    sensor: &SensorId,
    seq: u64,
) -> Vec<u8> {
    Key(room_partition(tenant, room))
        .ts(ts)
        .id(sensor.as_str())
        .raw(&seq.to_be_bytes())
        .0
}

/// `readings`: the first key of a room at or after `ts`.
pub(super) fn readings_from(tenant: &TenantId, room: &RoomId, ts: TimestampMs) -> Vec<u8> {
    Key(room_partition(tenant, room)).ts(ts).0
}

/// The sensor id bytes of a `readings` key of the partition `partition_len` bytes long.
pub(super) fn reading_sensor(key: &[u8], partition_len: usize) -> Option<&[u8]> {
    let rest = key.get(partition_len + 8..)?;
    let (sensor, seq) = rest.split_at_checked(rest.len().checked_sub(9)?)?;
    (seq.first() == Some(&SEP)).then_some(sensor)
}

/// `rollups`: `tenant, room, resolution, bucket_start`.
pub(super) fn rollup(
    tenant: &TenantId,
    room: &RoomId,
    resolution: Resolution,
    bucket_start: TimestampMs,
) -> Vec<u8> {
    Key(room_partition(tenant, room))
        .raw(&[resolution_byte(resolution)])
        .ts(bucket_start)
        .0
}

/// `rollups`: prefix of an area's rollups, `tenant, "", area key` (the office id, or `""` for
/// the tenant area). The empty part (no slug is empty) keeps areas apart from rooms inside the
/// tenant's partition, so erasing the tenant's partition erases them too; the tenant area's
/// empty key is no office's.
fn area_rollup_partition(tenant: &TenantId, area: &RollupArea) -> Vec<u8> {
    Key(tenant_partition(tenant)).id("").id(area.key()).0
}

/// `rollups`: an area's rollup, `tenant, "", area key, resolution, bucket_start`.
pub(super) fn area_rollup(
    tenant: &TenantId,
    area: &RollupArea,
    resolution: Resolution,
    bucket_start: TimestampMs,
) -> Vec<u8> {
    Key(area_rollup_partition(tenant, area))
        .raw(&[resolution_byte(resolution)])
        .ts(bucket_start)
        .0
}

/// `rollups`: an area's rollup frontier, after every resolution of the area.
pub(super) fn area_rollup_frontier(tenant: &TenantId, area: &RollupArea) -> Vec<u8> {
    Key(area_rollup_partition(tenant, area)).raw(&[u8::MAX]).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    #[test]
    fn timestamps_order_across_the_sign() {
        let ordered = [i64::MIN, -86_400_000, -1, 0, 1, 255, 256, i64::MAX];
        for pair in ordered.windows(2) {
            assert!(encode_ts(pair[0]) < encode_ts(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn tenant_prefix_does_not_match_a_longer_tenant() {
        let (a, ab) = (t("a"), t("ab"));
        let o = OfficeId::new("o").unwrap();
        let r = RoomId::new("r").unwrap();
        assert!(office(&a, &o).starts_with(&offices(&a)));
        assert!(!office(&ab, &o).starts_with(&offices(&a)));
        assert!(!room_partition(&ab, &r).starts_with(&room_partition(&a, &r)));
        assert!(!sensors_by_room(&ab, &r).starts_with(&sensors_by_room(&a, &r)));
        for prefix in registry_of_tenant(&a) {
            for key in registry_of_tenant(&ab) {
                assert!(!key.starts_with(&prefix), "{key:?} under {prefix:?}");
            }
        }
        assert!(!office_owner(&ab, &o).starts_with(&tenant_partition(&a)));
        let area = RollupArea::Office(o);
        assert!(!area_rollup(&ab, &area, Resolution::Day, 0).starts_with(&tenant_partition(&a)));
        let all = RollupArea::Tenant;
        assert!(!area_rollup(&ab, &all, Resolution::Day, 0).starts_with(&tenant_partition(&a)));
    }

    #[test]
    fn area_rollups_stay_apart_from_rooms_and_each_other() {
        let tenant = t("t");
        let office = RollupArea::Office(OfficeId::new("o").unwrap());
        let r = RoomId::new("o").unwrap();
        for area in [&office, &RollupArea::Tenant] {
            let key = area_rollup(&tenant, area, Resolution::Minute, 0);
            assert!(key.starts_with(&tenant_partition(&tenant)));
            assert!(!key.starts_with(&room_partition(&tenant, &r)));
            let frontier = area_rollup_frontier(&tenant, area);
            assert!(area_rollup(&tenant, area, Resolution::Day, i64::MAX) < frontier);
        }
        let whole = area_rollup_partition(&tenant, &RollupArea::Tenant);
        assert!(!area_rollup(&tenant, &office, Resolution::Minute, 0).starts_with(&whole));
        assert!(!area_rollup_frontier(&tenant, &office).starts_with(&whole));
    }

    #[test]
    fn reading_keys_order_by_ts_sensor_seq() {
        let (tenant, room) = (t("t"), RoomId::new("r").unwrap());
        let s = |id: &str| SensorId::new(id).unwrap();
        let keys = [
            reading(&tenant, &room, -1, &s("b"), 9),
            reading(&tenant, &room, 0, &s("a"), 2),
            reading(&tenant, &room, 0, &s("a"), 256),
            reading(&tenant, &room, 0, &s("ab"), 1),
            reading(&tenant, &room, 0, &s("b"), 1),
        ];
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1]);
        }
    }

    #[test]
    fn reading_sensor_is_parsed_back() {
        let (tenant, room) = (t("t"), RoomId::new("r").unwrap());
        let key = reading(&tenant, &room, 5, &SensorId::new("s-1").unwrap(), 7);
        let partition_len = room_partition(&tenant, &room).len();
        assert_eq!(reading_sensor(&key, partition_len), Some(&b"s-1"[..]));
        assert_eq!(reading_sensor(&key[..key.len() - 1], partition_len), None);
    }
}
