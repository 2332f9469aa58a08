//! The query every analytics endpoint takes: a range, a resolution, working hours or not, and
//! the bounds that keep a query small.

use serde::Deserialize;
use tally_protocol::analytics::{Bucket, Resolution};
use tally_protocol::{ErrorCode, TimestampMs};

use super::calendar::OfficeClock;
use crate::error::ApiError;

/// Longest range of a query, in days.
pub(crate) const MAX_RANGE_DAYS: i64 = 400;
/// Most buckets one answer may hold.
pub(crate) const MAX_BUCKETS: usize = 2_000;

/// `?from=…&to=…&resolution=…&working_hours=…&target=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowQuery {
    /// Start, RFC 3339 (`2026-03-02T00:00:00Z` or with an offset).
    from: String,
    /// End (exclusive), RFC 3339.
    to: String,
    /// Bucket width; `hour` unless given.
    resolution: Option<Resolution>,
    /// Only the office's working hours.
    #[serde(default)]
    working_hours: bool,
    /// Target utilization, 0 to 1 (0.8 unless given).
    target: Option<f64>,
    /// Under-used ranking: rooms below this utilization, 0 to 1 (0.3 unless given).
    below: Option<f64>,
}

/// A checked query.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// Inclusive start.
    pub(super) from: TimestampMs,
    /// Exclusive end.
    pub(super) to: TimestampMs,
    /// Bucket width.
    pub(super) resolution: Resolution,
    /// Only working hours.
    pub(super) working_hours: bool,
    /// Target utilization.
    pub(super) target: f64,
    /// Ranking threshold.
    pub(super) below: f64,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

fn parse_time(name: &str, value: &str) -> Result<TimestampMs, ApiError> {
    value
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|err| invalid(format!("{name} {value:?} is not an RFC 3339 time: {err}")))
}

fn share(name: &str, value: Option<f64>, default: f64) -> Result<f64, ApiError> {
    let value = value.unwrap_or(default);
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(format!("{name} {value} is not between 0 and 1")))
    }
}

impl WindowQuery {
    /// Checks the query against the office's calendar: a non-empty range of at most
    /// [`MAX_RANGE_DAYS`] days, at most [`MAX_BUCKETS`] buckets of the resolution, working
    /// hours only with quarter-hour or coarser buckets.
    ///
    /// `per_bucket` is whether the answer lists every bucket (then their number is bounded).
    pub(super) fn check(
        &self,
        clock: &OfficeClock,
        per_bucket: bool,
    ) -> Result<(Window, Vec<Bucket>), ApiError> {
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
        let buckets = clock
            .calendar
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

/// `axum::extract::Query` whose rejection is an [`ApiError`].
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);
