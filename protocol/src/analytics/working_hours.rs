//! An office's working hours in its local time, and the filter that keeps the buckets inside
//! them.

use jiff::civil::Time;
use serde::{Deserialize, Serialize};

use crate::TimestampMs;
use crate::analytics::{AnalyticsError, BucketStats, Calendar};

/// Working days and the daily window `[start, end)` of local clock time, on quarter hours, so
/// that quarter-hour buckets are either wholly inside or wholly outside.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    /// Working days, 0 = Monday … 6 = Sunday.
    pub weekdays: Vec<u8>,
    /// Local start time, `"HH:MM"`.
    pub start: String,
    /// Local end time, `"HH:MM"`, after the start.
    pub end: String,
}

impl WorkingHours {
    /// Monday to Friday, 08:00 to 18:00.
    pub fn office_default() -> Self {
        Self {
            weekdays: (0..5).collect(),
            start: "08:00".into(),
            end: "18:00".into(),
        }
    }

    /// The window in minutes since local midnight, checked.
    pub fn window(&self) -> Result<(u16, u16), AnalyticsError> {
        let invalid = |why: String| AnalyticsError::InvalidWorkingHours(why);
        let minute = |s: &str| {
            let t: Time = s
                .parse()
                .map_err(|_| invalid(format!("{s:?} is not a time HH:MM")))?;
            let m = t.hour() as u16 * 60 + t.minute() as u16;
            if t.second() != 0 || t.subsec_nanosecond() != 0 || !m.is_multiple_of(15) {
                return Err(invalid(format!("{s:?} is not on a quarter hour")));
            }
            Ok(m)
        };
        let (start, end) = (minute(&self.start)?, minute(&self.end)?);
        if start >= end {
            return Err(invalid(format!(
                "start {} is not before end {}",
                self.start, self.end
            )));
        }
        if let Some(day) = self.weekdays.iter().find(|d| **d > 6) {
            return Err(invalid(format!(
                "weekday {day} is not 0 (Monday) to 6 (Sunday)"
            )));
        }
        Ok((start, end))
    }

    /// The buckets (quarter hours or finer) that start inside working hours.
    pub fn keep(
        &self,
        calendar: &Calendar,
        buckets: Vec<BucketStats>,
    ) -> Result<Vec<BucketStats>, AnalyticsError> {
        self.kept(calendar, buckets, |b| b.start)
    }

    /// The items whose start (`start_of`) is inside working hours, in order.
    pub(crate) fn kept<T>(
        &self,
        calendar: &Calendar,
        items: Vec<T>,
        start_of: impl Fn(&T) -> TimestampMs,
    ) -> Result<Vec<T>, AnalyticsError> {
        let window = self.window()?;
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            if self.works(calendar, window, start_of(&item))? {
                kept.push(item);
            }
        }
        Ok(kept)
    }

    /// Whether `ts` is on a working day inside the daily `window` (from [`WorkingHours::window`]).
    fn works(
        &self,
        calendar: &Calendar,
        (start, end): (u16, u16),
        ts: TimestampMs,
    ) -> Result<bool, AnalyticsError> {
        let (weekday, minute) = calendar.weekday_and_minute(ts)?;
        Ok(self.weekdays.contains(&weekday) && (start..end).contains(&minute))
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::analytics::{Resolution, Series, roll_up};

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn keeps_local_working_quarters_only() {
        let cal = Calendar::new("Europe/Berlin").unwrap();
        // Friday 2026-03-27 00:00 local to Monday 00:00 local; one person all the time.
        let (from, to) = (ms("2026-03-26T23:00:00Z"), ms("2026-03-29T22:00:00Z"));
        let series = Series::from_readings([(from, 1)], 7 * 86_400_000);
        let quarters = roll_up(&series, &cal, Resolution::FifteenMinutes, from, to).unwrap();
        let kept = WorkingHours::office_default().keep(&cal, quarters).unwrap();
        // Friday 08:00–18:00 local only: 40 quarters, the first at 07:00 UTC.
        assert_eq!(kept.len(), 40);
        assert_eq!(kept[0].start, ms("2026-03-27T07:00:00Z"));
        assert_eq!(kept[39].end, ms("2026-03-27T17:00:00Z"));
    }

    #[test]
    fn bad_windows_are_refused_with_the_reason() {
        let hours = |start: &str, end: &str, weekdays: Vec<u8>| WorkingHours {
            weekdays,
            start: start.into(),
            end: end.into(),
        };
        for (wh, why) in [
            (hours("18:00", "08:00", vec![0]), "not before"),
            (hours("08:10", "18:00", vec![0]), "quarter hour"),
            (hours("8h", "18:00", vec![0]), "not a time"),
            (hours("08:00", "18:00", vec![7]), "weekday 7"),
        ] {
            let err = wh.window().unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }
}
