//! Frames of a tenant-wide display subscription (`{"type":"subscribe_tenant"}` on
//! `GET /v1/live`): every office of the tenant with its total and capacity.

use serde::{Deserialize, Serialize};

use crate::{OfficeId, TenantId};

/// The live occupancy of one office, as a tenant-wide display shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficeOccupancy {
    /// The office.
    pub office: OfficeId,
    /// Its display name.
    pub name: String,
    /// People in the office now.
    pub total: u64,
    /// Sum of its rooms' capacities.
    pub capacity: u64,
    /// Rooms with a sensor silent longer than the sensor timeout.
    pub stale_rooms: u32,
}

/// A frame of a tenant-wide subscription.
///
/// `version` is the subscription's own, rising by one per frame; a display that sees a gap
/// subscribes again.
///
/// # Examples
/// ```text
/// {"type":"tenant_snapshot","tenant":"acme","version":1,"total":30,"capacity":120,"offices":[{"office":"hq","name":"HQ","total":30,"capacity":120,"stale_rooms":0}]}
/// {"type":"tenant_delta","tenant":"acme","version":2,"total":31,"offices":[{"office":"hq","name":"HQ","total":31,"capacity":120,"stale_rooms":0}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TenantFrame {
    /// Every office of the tenant now.
    TenantSnapshot {
        /// The tenant.
        tenant: TenantId,
        /// Subscription version of this frame.
        version: u64,
        /// People in all offices.
        total: u64,
        /// Capacity of all offices.
        capacity: u64,
        /// Every office.
        offices: Vec<OfficeOccupancy>,
    },
    /// The offices whose total, capacity or stale rooms changed since `version - 1`.
    TenantDelta {
        /// The tenant.
        tenant: TenantId,
        /// Subscription version of this frame.
        version: u64,
        /// People in all offices now.
        total: u64,
        /// The offices that changed.
        offices: Vec<OfficeOccupancy>,
    },
}
