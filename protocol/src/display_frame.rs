//! Frames on a display connection (`GET /v1/live`).

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, OfficeId, RoomId, TimestampMs};

/// A request sent by a display.
///
/// # Examples
/// `{"type":"subscribe","office":"hq"}`, `{"type":"subscribe","office":"hq","room":"r1"}` or
/// `{"type":"subscribe_tenant"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DisplayRequest {
    /// Subscribe to an office of the token's tenant, or to one room of it. Replaces any earlier
    /// subscription of the connection.
    Subscribe {
        /// The office.
        office: OfficeId,
        /// Only this room, if set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
    },
    /// Subscribe to every office of the token's tenant: their totals and capacities
    /// ([`crate::TenantFrame`]). Replaces any earlier subscription of the connection.
    SubscribeTenant,
}

/// The live occupancy of one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomOccupancy {
    /// The room.
    pub room: RoomId,
    /// People in the room now.
    pub count: u32,
    /// Seats or people the room is meant for.
    pub capacity: u32,
    /// Sensor time of the reading that set the count (0 before the first reading).
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub ts: TimestampMs,
    /// Sensors of the room silent longer than the sensor timeout: they no longer count.
    #[serde(default)]
    pub stale_sensors: u32,
}

/// A frame sent to a display.
///
/// Every frame carries the office's `version`, which rises by one per published change. A display
/// that sees a gap resubscribes and gets a fresh snapshot.
///
/// # Examples
/// ```text
/// {"type":"snapshot","office":"hq","version":7,"total":12,"capacity":40,"rooms":[{"room":"r1","count":12,"capacity":40,"ts":1764000000000}]}
/// {"type":"delta","office":"hq","version":8,"total":13,"rooms":[{"room":"r1","count":13,"capacity":40,"ts":1764000001000}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DisplayFrame {
    /// The whole office (or the subscribed room) now.
    Snapshot {
        /// The office.
        office: OfficeId,
        /// Office version this snapshot reflects.
        version: u64,
        /// People in the office (or the room).
        total: u64,
        /// Capacity of the office (or the room).
        capacity: u64,
        /// Every room (or the subscribed one).
        rooms: Vec<RoomOccupancy>,
    },
    /// What changed since `version - 1`; names only the rooms that changed.
    Delta {
        /// The office.
        office: OfficeId,
        /// New office version.
        version: u64,
        /// People in the office (or the room) now.
        total: u64,
        /// The rooms whose count changed.
        rooms: Vec<RoomOccupancy>,
    },
    /// A rejected request.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}
