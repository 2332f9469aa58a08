//! The body of `PUT /v1/tenants/{tenant}/retention`: how long a tenant's rows are kept.

use std::time::Duration;

use serde::Deserialize;

use super::invalid;
use crate::ProtocolError;

/// How long a tenant's rows are kept, as a tenant's override of the node's retention: every
/// duration as humantime text ("30days", "12h"). Rows older than that (by sensor time for raw
/// readings, by bucket start for rollups) are deleted by the retention sweeps; room states are
/// never swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = RetentionPolicy)
)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
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

impl RetentionBody {
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
        let body: RetentionBody = serde_json::from_str(
            r#"{"readings":"30days","minute":"12h","fifteen_minutes":"1y","hour":"90m","day":"5y"}"#,
        )
        .unwrap();
        assert_eq!(body.minute, Duration::from_secs(12 * 3600));
        assert!(body.check().is_ok());
        let zero = RetentionBody {
            hour: Duration::ZERO,
            ..body
        };
        assert_eq!(
            zero.check().unwrap_err().to_string(),
            "hour must be more than 0"
        );
    }
}
