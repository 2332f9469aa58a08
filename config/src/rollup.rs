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
    }
}

impl Default for RollupSettings {
    fn default() -> Self {
        RollupSettings {
            lateness: Duration::from_secs(3_600),
        }
    }
}
