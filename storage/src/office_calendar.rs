//! An office's calendar: the local time its analytics buckets and working hours follow.

use serde::{Deserialize, Serialize};

/// The time zone and working hours of an office, as the registry keeps them. The store keeps
/// them as given; the gateway checks them (a known IANA name, a window on quarter hours)
/// before it sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeCalendar {
    /// IANA time zone name, e.g. `"Europe/Berlin"`.
    pub time_zone: String,
    /// Working days, 0 = Monday … 6 = Sunday.
    pub work_days: Vec<u8>,
    /// Local start of the working day, `"HH:MM"`.
    pub work_start: String,
    /// Local end of the working day, `"HH:MM"`.
    pub work_end: String,
}
