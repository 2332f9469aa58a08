//! The `[retention]` section: how long rows are kept by default, how often a node sweeps them,
//! and how long an erasure confirmation stays valid.

use std::time::Duration;

use crate::documented::settings_table;
use crate::values;

/// One day.
const DAY: Duration = Duration::from_secs(86_400);

settings_table! {
    /// Retention of readings and rollups, and erasure of tenants (`[retention]`).
    ///
    /// The durations are the node's defaults; a tenant may have its own (PUT
    /// /v1/tenants/{tenant}/retention). They mirror `tally_protocol::api::RetentionPolicy`
    /// (re-exported as `tally_storage::RetentionPolicy`), with the same defaults (the cluster
    /// crate maps one onto the other).
    #[derive(Debug, Clone, PartialEq)]
    pub struct RetentionSettings {
        /// How often this node runs a retention sweep (deleting rows older than each tenant's retention); 1s to 7d.
        #[serde(with = "values::duration")]
        pub sweep_interval: Duration,
        /// Default retention of raw readings, by sensor time; more than 0.
        #[serde(with = "values::duration")]
        pub readings: Duration,
        /// Default retention of minute rollups; more than 0.
        #[serde(with = "values::duration")]
        pub minute: Duration,
        /// Default retention of fifteen-minute rollups; more than 0.
        #[serde(with = "values::duration")]
        pub fifteen_minutes: Duration,
        /// Default retention of hourly rollups; more than 0.
        #[serde(with = "values::duration")]
        pub hour: Duration,
        /// Default retention of daily rollups; more than 0.
        #[serde(with = "values::duration")]
        pub day: Duration,
        /// How long audit log entries (admin changes, token minting and revocation, erasures, denied access) are kept; more than 0, at most 7300d (ScyllaDB's longest TTL).
        #[serde(with = "values::duration")]
        pub audit: Duration,
        /// How long the confirmation token of a requested tenant erasure stays valid; 10s to 1h.
        #[serde(with = "values::duration")]
        pub erasure_confirm_ttl: Duration,
    }
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            sweep_interval: Duration::from_secs(3600),
            readings: 30 * DAY,
            minute: 30 * DAY,
            fifteen_minutes: 365 * DAY,
            hour: 2 * 365 * DAY,
            day: 5 * 365 * DAY,
            audit: 365 * DAY,
            erasure_confirm_ttl: Duration::from_secs(600),
        }
    }
}
