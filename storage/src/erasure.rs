//! Erasure of a tenant: its audit record.

use serde::{Deserialize, Serialize};
use tally_protocol::{TenantId, TimestampMs};

/// The audit record of the erasure of a tenant. It is kept outside the tenant's rows (platform
/// data) and survives the erasure: who asked, when, whether it finished and what it deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasureReport {
    /// The erased tenant.
    pub tenant: TenantId,
    /// Who asked for it (an operator or admin identity, as given by the caller).
    pub requested_by: String,
    /// When it was first asked for.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub requested_at: TimestampMs,
    /// When every row was verified gone (`None` while unfinished, e.g. after a crash halfway).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub finished_at: Option<TimestampMs>,
    /// Rows deleted, summed over every call.
    pub deleted: ErasedCounts,
}

/// Rows deleted by an erasure, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasedCounts {
    /// Raw readings.
    pub readings: u64,
    /// Rollups.
    pub rollups: u64,
    /// Room states.
    pub room_states: u64,
    /// Registry entries: the tenant, offices, rooms, sensors, sensor keys, owner tokens and
    /// the retention override (and the embedded store's by-parent index entries).
    pub registry: u64,
}

impl ErasedCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: Self) {
        self.readings += other.readings;
        self.rollups += other.rollups;
        self.room_states += other.room_states;
        self.registry += other.registry;
    }

    /// Every row counted.
    pub fn total(&self) -> u64 {
        self.readings + self.rollups + self.room_states + self.registry
    }
}
