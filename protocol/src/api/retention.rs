//! How long a tenant's rows are kept: the body of `PUT /v1/tenants/{tenant}/retention`, and the
//! record every store keeps (`tally_storage` re-exports it) and sweeps by.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::invalid;
use crate::ProtocolError;
use crate::TimestampMs;
use crate::analytics::Resolution;

/// One day.
const DAY: Duration = Duration::from_secs(86_400);

/// How long a tenant's rows are kept, every duration as humantime text ("30days", "12h"): rows
/// older than `now` minus these (by sensor time for raw readings, by bucket start for rollups)
/// are deleted by the retention sweeps (`Store::apply_retention`); room states are never swept.
///
/// The node's defaults come from its configuration; a tenant may have its own
/// (`Store::set_retention`, `PUT /v1/tenants/{tenant}/retention`).
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

    /// Checks that every duration is more than zero.
    ///
    /// # Errors
    ///
    /// `invalid_request` naming the first field that is zero.
    pub fn check(&self) -> Result<(), ProtocolError> {
        let zero = [
            ("readings", self.readings),
            ("minute", self.minute),
            ("fifteen_minutes", self.fifteen_minutes),
            ("hour", self.hour),
            ("day", self.day),
        ]
        .into_iter()
        .find(|(_, keep)| keep.is_zero());
        match zero {
            Some((field, _)) => Err(invalid(format!("{field} must be more than 0"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humantime_durations_and_no_zero() {
        let body: RetentionPolicy = serde_json::from_str(
            r#"{"readings":"30days","minute":"12h","fifteen_minutes":"1y","hour":"90m","day":"5y"}"#,
        )
        .unwrap();
        assert_eq!(body.minute, Duration::from_secs(12 * 3600));
        assert!(body.check().is_ok());
        let zero = RetentionPolicy {
            hour: Duration::ZERO,
            ..body
        };
        assert_eq!(
            zero.check().unwrap_err().to_string(),
            "hour must be more than 0"
        );
    }
}
