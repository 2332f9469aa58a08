//! What displays see of an office: its rooms with their counts, and its version.

use std::collections::BTreeMap;

use tally_protocol::{DisplayFrame, OfficeId, RoomId, RoomOccupancy, TimestampMs};
use tally_storage::Room;

use crate::display_fanout::SnapshotSource;

/// A room as the office sees it.
#[derive(Debug)]
pub(super) struct RoomSlot {
    pub(super) record: Room,
    pub(super) count: u32,
    pub(super) ts: TimestampMs,
    pub(super) stale_sensors: u32,
}

/// What displays see: the office's rooms and version.
#[derive(Debug)]
pub(super) struct OfficeView {
    pub(super) office: OfficeId,
    pub(super) version: u64,
    pub(super) rooms: BTreeMap<RoomId, RoomSlot>,
}

impl SnapshotSource for OfficeView {
    fn snapshot(&self, room: Option<&RoomId>) -> DisplayFrame {
        let rooms: Vec<RoomOccupancy> = self
            .rooms
            .values()
            .filter(|slot| room.is_none_or(|r| r == &slot.record.id))
            .map(RoomSlot::occupancy)
            .collect();
        DisplayFrame::Snapshot {
            office: self.office.clone(),
            version: self.version,
            total: rooms.iter().map(|r| u64::from(r.count)).sum(),
            capacity: rooms.iter().map(|r| u64::from(r.capacity)).sum(),
            rooms,
        }
    }
}

impl RoomSlot {
    /// A room whose actor has not reported yet: nothing counted.
    pub(super) fn new(record: Room) -> Self {
        Self {
            record,
            count: 0,
            ts: 0,
            stale_sensors: 0,
        }
    }

    pub(super) fn occupancy(&self) -> RoomOccupancy {
        RoomOccupancy {
            room: self.record.id.clone(),
            count: self.count,
            capacity: self.record.capacity,
            ts: self.ts,
            stale_sensors: self.stale_sensors,
        }
    }
}
