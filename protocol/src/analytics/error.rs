//! Errors of the analytics math.

use crate::TimestampMs;

/// Why an analytics computation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticsError {
    /// Not an IANA time zone name this build knows.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// A time outside the calendar's range (years -9999..=9999).
    #[error("time {0} ms is outside the calendar range")]
    TimeOutOfRange(TimestampMs),
    /// A range whose end is not after its start.
    #[error("empty time range: from {from} is not before to {to}")]
    EmptyRange {
        /// Inclusive start.
        from: TimestampMs,
        /// Exclusive end.
        to: TimestampMs,
    },
    /// Working hours that do not describe a window of quarter hours.
    #[error("invalid working hours: {0}")]
    InvalidWorkingHours(String),
}
