//! Per-tenant retention: how long rows are kept, and what a sweep deleted.

use serde::{Deserialize, Serialize};

use crate::Resolution;

/// How long a tenant's rows are kept: the API's type, one definition for the wire and the
/// stores (see `tally_protocol::api::RetentionPolicy`).
pub use tally_protocol::api::RetentionPolicy;

/// Every rollup resolution, in width order.
pub(crate) const RESOLUTIONS: [Resolution; 4] = [
    Resolution::Minute,
    Resolution::FifteenMinutes,
    Resolution::Hour,
    Resolution::Day,
];

/// What one retention sweep deleted (for metrics and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionReport {
    /// Tenants swept.
    pub tenants: u64,
    /// Raw readings deleted (including those of dropped partitions).
    pub readings: u64,
    /// Rollups deleted, every resolution.
    pub rollups: u64,
    /// Whole time partitions dropped (PostgreSQL day partitions; 0 on the embedded store).
    pub partitions_dropped: u64,
    /// Audit entries past their `keep_until` deleted (0 on ScyllaDB, where a TTL expires them).
    #[serde(default)]
    pub audit_entries: u64,
}
