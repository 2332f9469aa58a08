//! Buckets in an office's local time: minutes, quarter hours and hours follow the local clock,
//! days run from one local midnight to the next (23 or 25 hours on a DST change day).

use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::TimestampMs;
use crate::analytics::AnalyticsError;

/// Width of an analytics bucket, finest first; each nests in the next.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// One minute.
    Minute,
    /// Fifteen minutes of the local clock.
    FifteenMinutes,
    /// One hour of the local clock.
    Hour,
    /// One local day, midnight to midnight.
    Day,
}

impl Resolution {
    /// Every resolution, finest first: the order of the cascade.
    pub const ALL: [Resolution; 4] = [Self::Minute, Self::FifteenMinutes, Self::Hour, Self::Day];

    /// Its name in URLs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::FifteenMinutes => "fifteen_minutes",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// Local-clock width of a sub-day bucket in milliseconds.
    fn clock_width_ms(self) -> Option<i64> {
        match self {
            Self::Minute => Some(60_000),
            Self::FifteenMinutes => Some(15 * 60_000),
            Self::Hour => Some(3_600_000),
            Self::Day => None,
        }
    }
}

/// A half-open bucket `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket {
    /// Inclusive start.
    pub start: TimestampMs,
    /// Exclusive end.
    pub end: TimestampMs,
}

/// The calendar of one time zone: which bucket an instant falls in.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
}

impl Calendar {
    /// The calendar of an IANA time zone name (`"Europe/Berlin"`), from the time zone data
    /// built into tally (not the host's).
    pub fn new(iana: &str) -> Result<Self, AnalyticsError> {
        jiff::tz::db()
            .get(iana)
            .map(|tz| Self { tz })
            .map_err(|_| AnalyticsError::UnknownTimeZone(iana.to_owned()))
    }

    /// The UTC calendar.
    pub fn utc() -> Self {
        Self { tz: TimeZone::UTC }
    }

    /// The time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The bucket of `resolution` that contains `ts`.
    ///
    /// Sub-day buckets are the local clock's minutes, quarters and hours, cut at offset
    /// changes so that buckets never overlap: the repeated hour of an autumn DST change is two
    /// buckets, and the skipped spring hour none.
    pub fn bucket(
        &self,
        resolution: Resolution,
        ts: TimestampMs,
    ) -> Result<Bucket, AnalyticsError> {
        let instant = timestamp(ts)?;
        let Some(width) = resolution.clock_width_ms() else {
            return self.day(instant);
        };
        let offset = i64::from(self.tz.to_offset(instant).seconds()) * 1000;
        let mut start = (ts + offset).div_euclid(width) * width - offset;
        let mut end = start + width;
        let after = timestamp(ts + 1)?;
        if let Some(previous) = self.tz.preceding(after).next() {
            start = start.max(previous.timestamp().as_millisecond());
        }
        if let Some(next) = self.tz.following(instant).next() {
            end = end.min(next.timestamp().as_millisecond());
        }
        Ok(Bucket { start, end })
    }

    /// Every bucket of `resolution` that overlaps `[from, to)`, in order.
    pub fn buckets(
        &self,
        resolution: Resolution,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<Bucket>, AnalyticsError> {
        let mut buckets = Vec::new();
        let mut at = from;
        while at < to {
            let bucket = self.bucket(resolution, at)?;
            at = bucket.end;
            buckets.push(bucket);
        }
        Ok(buckets)
    }

    /// The local weekday (0 = Monday) and the local clock time in minutes since midnight of `ts`.
    pub fn weekday_and_minute(&self, ts: TimestampMs) -> Result<(u8, u16), AnalyticsError> {
        let local = timestamp(ts)?.to_zoned(self.tz.clone());
        let weekday = local.weekday().to_monday_zero_offset();
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        Ok((weekday as u8, minute))
    }

    /// The local date of `ts`, `YYYY-MM-DD`.
    pub fn local_date(&self, ts: TimestampMs) -> Result<String, AnalyticsError> {
        Ok(timestamp(ts)?.to_zoned(self.tz.clone()).date().to_string())
    }

    fn day(&self, instant: Timestamp) -> Result<Bucket, AnalyticsError> {
        let out_of_range = |_| AnalyticsError::TimeOutOfRange(instant.as_millisecond());
        let local = instant.to_zoned(self.tz.clone());
        let start = local.start_of_day().map_err(out_of_range)?;
        let end = local
            .date()
            .tomorrow()
            .and_then(|d| d.to_zoned(self.tz.clone()))
            .and_then(|z| z.start_of_day())
            .map_err(out_of_range)?;
        Ok(Bucket {
            start: start.timestamp().as_millisecond(),
            end: end.timestamp().as_millisecond(),
        })
    }
}

fn timestamp(ts: TimestampMs) -> Result<Timestamp, AnalyticsError> {
    Timestamp::from_millisecond(ts).map_err(|_| AnalyticsError::TimeOutOfRange(ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn ms(rfc3339: &str) -> TimestampMs {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn utc_buckets_are_plain_multiples() {
        let cal = Calendar::utc();
        let ts = ms("2026-03-04T10:17:30Z");
        assert_eq!(
            cal.bucket(Resolution::Minute, ts).unwrap().start,
            ms("2026-03-04T10:17:00Z")
        );
        let quarter = cal.bucket(Resolution::FifteenMinutes, ts).unwrap();
        assert_eq!(
            (quarter.start, quarter.end),
            (ms("2026-03-04T10:15:00Z"), ms("2026-03-04T10:30:00Z"))
        );
        let day = cal.bucket(Resolution::Day, ts).unwrap();
        assert_eq!(
            (day.start, day.end),
            (ms("2026-03-04T00:00:00Z"), ms("2026-03-05T00:00:00Z"))
        );
    }

    #[test]
    fn an_instant_on_an_edge_starts_the_next_bucket() {
        let cal = Calendar::utc();
        let edge = ms("2026-03-04T10:15:00Z");
        assert_eq!(
            cal.bucket(Resolution::FifteenMinutes, edge).unwrap().start,
            edge
        );
        assert_eq!(
            cal.bucket(Resolution::FifteenMinutes, edge - 1)
                .unwrap()
                .end,
            edge
        );
    }

    #[test]
    fn spring_forward_day_has_23_hours() {
        let cal = Calendar::new("Europe/Berlin").unwrap();
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        let day = cal
            .bucket(Resolution::Day, ms("2026-03-29T12:00:00Z"))
            .unwrap();
        assert_eq!(
            (day.start, day.end),
            (ms("2026-03-28T23:00:00Z"), ms("2026-03-29T22:00:00Z"))
        );
        assert_eq!(day.end - day.start, 23 * HOUR);
        let hours = cal.buckets(Resolution::Hour, day.start, day.end).unwrap();
        assert_eq!(hours.len(), 23);
        assert!(hours.iter().all(|h| h.end - h.start == HOUR));
    }

    #[test]
    fn fall_back_day_has_25_hours_and_two_one_oclocks() {
        let cal = Calendar::new("America/New_York").unwrap();
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        let day = cal
            .bucket(Resolution::Day, ms("2026-11-01T15:00:00Z"))
            .unwrap();
        assert_eq!(
            (day.start, day.end),
            (ms("2026-11-01T04:00:00Z"), ms("2026-11-02T05:00:00Z"))
        );
        assert_eq!(day.end - day.start, 25 * HOUR);
        let first = cal
            .bucket(Resolution::Hour, ms("2026-11-01T05:30:00Z"))
            .unwrap();
        let second = cal
            .bucket(Resolution::Hour, ms("2026-11-01T06:30:00Z"))
            .unwrap();
        assert_eq!(
            (first.start, first.end),
            (ms("2026-11-01T05:00:00Z"), ms("2026-11-01T06:00:00Z"))
        );
        assert_eq!(
            (second.start, second.end),
            (ms("2026-11-01T06:00:00Z"), ms("2026-11-01T07:00:00Z"))
        );
        assert_eq!(cal.weekday_and_minute(first.start).unwrap(), (6, 60));
        assert_eq!(cal.weekday_and_minute(second.start).unwrap(), (6, 60));
        assert_eq!(
            cal.buckets(Resolution::Hour, day.start, day.end)
                .unwrap()
                .len(),
            25
        );
        assert_eq!(cal.local_date(day.end - 1).unwrap(), "2026-11-01");
    }

    #[test]
    fn half_hour_offsets_shift_local_hours() {
        let cal = Calendar::new("Asia/Kolkata").unwrap();
        let hour = cal
            .bucket(Resolution::Hour, ms("2026-03-04T10:40:00Z"))
            .unwrap();
        assert_eq!(hour.start, ms("2026-03-04T10:30:00Z"));
        let day = cal
            .bucket(Resolution::Day, ms("2026-03-04T10:40:00Z"))
            .unwrap();
        assert_eq!(day.start, ms("2026-03-03T18:30:00Z"));
    }

    #[test]
    fn unknown_zone_is_refused() {
        assert_eq!(
            Calendar::new("Mars/Olympus").unwrap_err(),
            AnalyticsError::UnknownTimeZone("Mars/Olympus".into())
        );
    }
}
