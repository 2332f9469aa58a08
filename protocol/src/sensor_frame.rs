//! Frames on a sensor connection (`GET /v1/sensors/connect`).

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, OfficeId, Reading, RoomId, SensorId, TenantId};

/// A frame sent by a sensor.
///
/// # Examples
/// JSON forms (subprotocol `tally.v1.json`); MessagePack frames carry the same maps:
/// ```text
/// {"type":"hello","key":"tsk_…"}
/// {"type":"readings","items":[{"seq":1,"ts":1764000000000,"count":3}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SensorFrame {
    /// First frame of a connection: authenticates with the sensor key.
    Hello {
        /// The key returned once when the sensor was created.
        key: String,
    },
    /// A batch of readings, in rising `seq` order.
    Readings {
        /// The readings.
        items: Vec<Reading>,
    },
}

/// A frame sent by the node to a sensor.
///
/// # Examples
/// ```text
/// {"type":"welcome","tenant":"acme","office":"hq","room":"r1","sensor":"s1","last_seq":41,"inflight_window":1024}
/// {"type":"ack","up_to_seq":42}
/// {"type":"error","code":"count_out_of_range","message":"reading 43: count -1 is outside 0..=100000","seq":43}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to a valid `hello`: where the sensor is and the last seq the node has durably applied.
    Welcome {
        /// The sensor's tenant.
        tenant: TenantId,
        /// The sensor's office.
        office: OfficeId,
        /// The sensor's room.
        room: RoomId,
        /// The sensor.
        sensor: SensorId,
        /// Highest seq already applied; the sensor resends what comes after it.
        last_seq: u64,
        /// Readings the connection may have unacknowledged.
        inflight_window: u32,
    },
    /// Every reading of this sensor with `seq <= up_to_seq` is durable.
    Ack {
        /// Highest durable seq.
        up_to_seq: u64,
    },
    /// A rejected frame; the connection stays open unless a close frame follows.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// The first offending reading's seq, when one reading was at fault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
}

/// Body of `POST /v1/readings` (JSON, or MessagePack with `Content-Type: application/msgpack`).
///
/// # Examples
/// `{"items":[{"seq":1,"ts":1764000000000,"count":3}]}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReadingBatch {
    /// The readings, in rising `seq` order.
    pub items: Vec<Reading>,
}
