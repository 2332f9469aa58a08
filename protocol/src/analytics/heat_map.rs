//! The busiest hours of the week: buckets merged by local weekday and hour of day.

use crate::analytics::{AnalyticsError, BucketStats, Calendar};

/// Merges hourly (or finer) buckets into one cell per local weekday (0 = Monday) and hour of
/// day: `cells[weekday][hour]`. A cell's mean is the time-weighted mean over every such hour in
/// the range; its peak the highest count in any of them.
pub fn heat_map(
    calendar: &Calendar,
    buckets: &[BucketStats],
) -> Result<Vec<Vec<BucketStats>>, AnalyticsError> {
    let mut cells = vec![vec![BucketStats::default(); 24]; 7];
    for bucket in buckets {
        let (weekday, minute) = calendar.weekday_and_minute(bucket.start)?;
        let cell = &mut cells[usize::from(weekday)][usize::from(minute / 60)];
        let (start, end) = if cell.span_ms == 0 {
            (bucket.start, bucket.end)
        } else {
            (cell.start, cell.end)
        };
        cell.merge(bucket);
        // A cell stands for many hours across the range: keep its first hour's bounds.
        (cell.start, cell.end) = (start, end);
    }
    Ok(cells)
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
    fn cells_merge_the_same_local_hour_of_each_week() {
        let cal = Calendar::new("America/New_York").unwrap();
        // Two Mondays, 09:00–10:00 local: 4 people, then 8 people the next week.
        let a = ms("2026-03-02T14:00:00Z");
        let b = ms("2026-03-09T13:00:00Z"); // after the DST change: 09:00 EDT
        let series = Series::from_readings(
            [(a, 4), (a + 3_600_000, 0), (b, 8), (b + 3_600_000, 0)],
            3_600_000,
        );
        let hours = roll_up(&series, &cal, Resolution::Hour, a, b + 3_600_000).unwrap();
        let cells = heat_map(&cal, &hours).unwrap();
        let nine = &cells[0][9];
        assert_eq!(nine.covered_ms(), 2 * 3_600_000);
        assert_eq!(
            (nine.mean(), nine.peak(), nine.samples),
            (Some(6.0), Some(8), 2)
        );
        assert_eq!(cells[0][10].peak(), Some(0));
        assert_eq!(cells[1][9].covered_ms(), 0);
    }
}
