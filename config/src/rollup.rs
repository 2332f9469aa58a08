//! The `[rollup]` section: how rooms roll up their readings.

use std::time::Duration;

use crate::documented::settings_table;
use crate::values;

settings_table! {
    /// How rooms roll up their readings into 1 min, 15 min, 1 h and 1 d buckets (`[rollup]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct RollupSettings {
        /// How far (sensor time) behind a room's rolled-up minutes a late reading still corrects its closed rollups at every resolution; older readings are stored raw and counted in tally_readings_late_total; 0s to 1d.
        #[serde(with = "values::duration")]
        pub lateness: Duration,
        /// How often each office activation looks for office and tenant minutes to finalise once caught up; an office that is not its tenant's anchor asks for the anchor as often (so the tenant's rollups advance while any of its offices is active); 10ms to 1h.
        #[serde(with = "values::duration")]
        pub finalise_every: Duration,
    }
}

impl Default for RollupSettings {
    fn default() -> Self {
        RollupSettings {
            lateness: Duration::from_secs(3_600),
            finalise_every: Duration::from_secs(60),
        }
    }
}
