//! Per-tenant retention: how long rows are kept, and what a sweep deleted.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tally_protocol::TimestampMs;

use crate::Resolution;

/// One day.
const DAY: Duration = Duration::from_secs(86_400);

/// How long a tenant's rows are kept: rows older than `now` minus these (by sensor time for raw
/// readings, by bucket start for rollups) are deleted by
/// [`crate::Store::apply_retention`]. Room states are never swept.
///
/// The node's defaults come from its configuration; a tenant may have its own
/// ([`crate::Store::set_retention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Raw readings (default 30 days).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30days"))]
    pub readings: Duration,
    /// Minute rollups (default 30 days).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30days"))]
    pub minute: Duration,
    /// Fifteen-minute rollups (default 365 days).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30days"))]
    pub fifteen_minutes: Duration,
    /// Hourly rollups (default 2 years).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30days"))]
    pub hour: Duration,
    /// Daily rollups (default 5 years).
    #[serde(with = "humantime_serde")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "30days"))]
    pub day: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            readings: 30 * DAY,
            minute: 30 * DAY,
            fifteen_minutes: 365 * DAY,
            hour: 2 * 365 * DAY,
            day: 5 * 365 * DAY,
        }
    }
}

impl RetentionPolicy {
    /// How long rollups of `resolution` are kept.
    pub fn rollups(&self, resolution: Resolution) -> Duration {
        match resolution {
            Resolution::Minute => self.minute,
            Resolution::FifteenMinutes => self.fifteen_minutes,
            Resolution::Hour => self.hour,
            Resolution::Day => self.day,
        }
    }

    /// The first timestamp kept when rows are kept for `keep` at time `now`: rows strictly
    /// before it go (saturating at the ends of the time axis).
    pub fn cutoff(now: TimestampMs, keep: Duration) -> TimestampMs {
        now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
    }
}

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
