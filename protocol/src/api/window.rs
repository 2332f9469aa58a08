//! The query every analytics endpoint takes (`?from=…&to=…&resolution=…&working_hours=…`):
//! a range, a resolution, working hours or not, and the bounds that keep a query small.

use serde::Deserialize;

use super::invalid;
use crate::analytics::{Bucket, Calendar, Resolution};
use crate::{ProtocolError, TimestampMs};

/// Longest range of a query, in days.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Most buckets one answer may hold.
pub const MAX_BUCKETS: usize = 2_000;

/// `?from=…&to=…&resolution=…&working_hours=…&target=…`
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Start, RFC 3339 (`2026-03-02T00:00:00Z` or with an offset).
    pub from: String,
    /// End (exclusive), RFC 3339.
    pub to: String,
    /// Bucket width; `hour` unless given.
    pub resolution: Option<Resolution>,
    /// Only the office's working hours.
    #[serde(default)]
    pub working_hours: bool,
    /// Target utilization, 0 to 1 (0.8 unless given).
    pub target: Option<f64>,
    /// Under-used ranking: rooms below this utilization, 0 to 1 (0.3 unless given).
    pub below: Option<f64>,
}

/// A checked [`WindowQuery`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Inclusive start.
    pub from: TimestampMs,
    /// Exclusive end.
    pub to: TimestampMs,
    /// Bucket width.
    pub resolution: Resolution,
    /// Only working hours.
    pub working_hours: bool,
    /// Target utilization.
    pub target: f64,
    /// Ranking threshold.
    pub below: f64,
}

fn parse_time(name: &str, value: &str) -> Result<TimestampMs, ProtocolError> {
    value
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|err| invalid(format!("{name} {value:?} is not an RFC 3339 time: {err}")))
}

fn share(name: &str, value: Option<f64>, default: f64) -> Result<f64, ProtocolError> {
    let value = value.unwrap_or(default);
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(format!("{name} {value} is not between 0 and 1")))
    }
}

impl WindowQuery {
    /// Checks the query against an office's calendar: a non-empty range of at most
    /// [`MAX_RANGE_DAYS`] days and, when `per_bucket` (the answer lists every bucket), at most
    /// [`MAX_BUCKETS`] buckets of the resolution. Answers the window, widened to whole buckets,
    /// and its buckets.
    ///
    /// # Errors
    ///
    /// `invalid_request` naming the parameter at fault.
    pub fn check(
        &self,
        calendar: &Calendar,
        per_bucket: bool,
    ) -> Result<(Window, Vec<Bucket>), ProtocolError> {
        let (from, to) = (parse_time("from", &self.from)?, parse_time("to", &self.to)?);
        if from >= to {
            return Err(invalid(format!(
                "from {} is not before to {}",
                self.from, self.to
            )));
        }
        if to - from > MAX_RANGE_DAYS * 86_400_000 {
            return Err(invalid(format!(
                "range from {} to {} is longer than {MAX_RANGE_DAYS} days",
                self.from, self.to
            )));
        }
        let resolution = self.resolution.unwrap_or(Resolution::Hour);
        let widest = match resolution {
            Resolution::Minute => 60_000,
            Resolution::FifteenMinutes => 900_000,
            Resolution::Hour => 3_600_000,
            Resolution::Day => 82_800_000,
        };
        if per_bucket && (to - from) / widest > MAX_BUCKETS as i64 {
            return Err(invalid(format!(
                "{} buckets of {} from {} to {}: at most {MAX_BUCKETS}; choose a coarser resolution",
                (to - from) / widest,
                resolution.name(),
                self.from,
                self.to
            )));
        }
        let buckets = calendar
            .buckets(resolution, from, to)
            .map_err(|err| invalid(err.to_string()))?;
        let window = Window {
            from: buckets[0].start,
            to: buckets[buckets.len() - 1].end,
            resolution,
            working_hours: self.working_hours,
            target: share("target", self.target, 0.8)?,
            below: share("below", self.below, 0.3)?,
        };
        Ok((window, buckets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: &str, to: &str, resolution: Option<Resolution>) -> WindowQuery {
        WindowQuery {
            from: from.to_owned(),
            to: to.to_owned(),
            resolution,
            working_hours: false,
            target: None,
            below: None,
        }
    }

    #[test]
    fn a_day_of_hours_in_utc() {
        let utc = Calendar::new("UTC").unwrap();
        let (window, buckets) = query("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", None)
            .check(&utc, true)
            .unwrap();
        assert_eq!(buckets.len(), 24);
        assert_eq!(window.to - window.from, 86_400_000);
        assert_eq!((window.target, window.below), (0.8, 0.3));
    }

    #[test]
    fn bad_ranges_are_invalid_requests() {
        let utc = Calendar::new("UTC").unwrap();
        for (from, to, resolution) in [
            ("yesterday", "2026-03-03T00:00:00Z", None),
            ("2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", None),
            ("2020-01-01T00:00:00Z", "2026-03-03T00:00:00Z", None),
            (
                "2026-01-01T00:00:00Z",
                "2026-03-03T00:00:00Z",
                Some(Resolution::Minute),
            ),
        ] {
            let err = query(from, to, resolution).check(&utc, true).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidRequest, "{from} {to}");
        }
    }
}
