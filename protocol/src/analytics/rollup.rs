//! Rolling a series up into buckets, directly or from finer buckets (the cascade
//! 1 min → 15 min → 1 h → 1 d): both give the same result, because [`BucketStats`] merge by
//! adding.

use crate::TimestampMs;
use crate::analytics::{AnalyticsError, BucketStats, Calendar, Resolution, Series};

/// The buckets of `resolution` that overlap `[from, to)`, whole, each with the holds and
/// readings of `series` inside it (buckets without a live sensor are present, uncovered).
pub fn roll_up(
    series: &Series,
    calendar: &Calendar,
    resolution: Resolution,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<BucketStats>, AnalyticsError> {
    if from >= to {
        return Err(AnalyticsError::EmptyRange { from, to });
    }
    let mut stats: Vec<BucketStats> = calendar
        .buckets(resolution, from, to)?
        .into_iter()
        .map(|b| BucketStats::empty(b.start, b.end))
        .collect();
    let (lo, hi) = (stats[0].start, stats[stats.len() - 1].end);
    let mut i = 0;
    for (mut a, b, count) in series.pieces(lo, hi) {
        while a < b {
            while stats[i].end <= a {
                i += 1;
            }
            let end = b.min(stats[i].end);
            if let Some(count) = count {
                stats[i].hold(count, u64::try_from(end - a).unwrap_or(0));
            }
            a = end;
        }
    }
    for step in series.steps().iter().filter(|s| lo <= s.ts && s.ts < hi) {
        let j = stats.partition_point(|b| b.end <= step.ts);
        stats[j].samples += step.readings;
    }
    Ok(stats)
}

/// Merges ordered finer buckets into the buckets of `resolution` that contain them. A coarse
/// bucket's span is the sum of its children's, so a partly given bucket is not counted as
/// uncovered for what was not given.
pub fn coarsen(
    children: &[BucketStats],
    calendar: &Calendar,
    resolution: Resolution,
) -> Result<Vec<BucketStats>, AnalyticsError> {
    let mut parents: Vec<BucketStats> = Vec::new();
    for child in children {
        match parents.last_mut() {
            Some(parent) if child.start < parent.end && child.start >= parent.start => {
                parent.merge(child)
            }
            _ => {
                let bucket = calendar.bucket(resolution, child.start)?;
                let mut parent = BucketStats {
                    start: bucket.start,
                    end: bucket.end,
                    ..BucketStats::default()
                };
                parent.merge(child);
                parents.push(parent);
            }
        }
    }
    Ok(parents)
}

/// Every resolution from minute buckets: `[minute, fifteen_minutes, hour, day]`, each rolled up
/// from the one before it.
pub fn cascade(
    minutes: Vec<BucketStats>,
    calendar: &Calendar,
) -> Result<Vec<Vec<BucketStats>>, AnalyticsError> {
    let mut levels = vec![minutes];
    for resolution in &Resolution::ALL[1..] {
        let finer = levels.last().map(Vec::as_slice).unwrap_or_default();
        levels.push(coarsen(finer, calendar, *resolution)?);
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    fn ms(rfc3339: &str) -> TimestampMs {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn irregular_readings_split_at_minute_edges() {
        let t0 = ms("2026-03-04T09:00:00Z");
        // 09:00:20 → 4 people, 09:01:00 exactly on the edge → 1, 09:01:45 → 0; sensor timeout 10 min.
        let series = Series::from_readings(
            [(t0 + 20_000, 4), (t0 + MIN, 1), (t0 + MIN + 45_000, 0)],
            10 * MIN,
        );
        let minutes = roll_up(
            &series,
            &Calendar::utc(),
            Resolution::Minute,
            t0,
            t0 + 3 * MIN,
        )
        .unwrap();
        assert_eq!(minutes.len(), 3);
        let [first, second, third] = [&minutes[0], &minutes[1], &minutes[2]];
        // First minute: 20 s not covered, 40 s with 4.
        assert_eq!(
            (first.covered_ms(), first.samples, first.peak()),
            (40_000, 1, Some(4))
        );
        assert_eq!(first.mean(), Some(4.0));
        // The edge reading belongs to the minute it starts: 45 s with 1, 15 s with 0.
        assert_eq!((second.samples, second.covered_ms()), (2, 60_000));
        assert_eq!(second.mean(), Some(0.75));
        assert_eq!(
            (second.median(), second.min(), second.occupied_ms()),
            (Some(1), Some(0), 45_000)
        );
        // Third minute: no reading, the 0 carried forward over the whole minute.
        assert_eq!(
            (third.samples, third.mean(), third.coverage()),
            (0, Some(0.0), 1.0)
        );
    }

    #[test]
    fn a_repeated_count_on_an_edge_counts_in_the_later_bucket() {
        let t0 = ms("2026-03-04T09:00:00Z");
        let room = Series::from_readings([(t0, 0), (t0 + MIN, 0)], HOUR);
        let office = Series::sum(&[room]);
        let minutes = roll_up(
            &office,
            &Calendar::utc(),
            Resolution::Minute,
            t0,
            t0 + 2 * MIN,
        )
        .unwrap();
        let samples: Vec<u32> = minutes.iter().map(|m| m.samples).collect();
        assert_eq!(samples, [1, 1]);
    }

    #[test]
    fn silence_after_the_sensor_timeout_is_not_covered() {
        let t0 = ms("2026-03-04T09:00:00Z");
        let series = Series::from_readings([(t0, 2)], 90_000);
        let minutes = roll_up(
            &series,
            &Calendar::utc(),
            Resolution::Minute,
            t0,
            t0 + 3 * MIN,
        )
        .unwrap();
        let covered: Vec<u64> = minutes.iter().map(BucketStats::covered_ms).collect();
        assert_eq!(covered, [60_000, 30_000, 0]);
        assert_eq!(minutes[2].mean(), None);
        assert!((minutes[1].coverage() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn office_peak_is_the_peak_of_the_sum_not_the_sum_of_peaks() {
        let t0 = ms("2026-03-04T09:00:00Z");
        // Room a has 4 people until 09:30, room b has 3 from 09:30: never 7 at once.
        let a = Series::from_readings([(t0, 4), (t0 + 30 * MIN, 0)], 2 * HOUR);
        let b = Series::from_readings([(t0, 0), (t0 + 30 * MIN, 3)], 2 * HOUR);
        let cal = Calendar::utc();
        let office = roll_up(
            &Series::sum(&[a.clone(), b.clone()]),
            &cal,
            Resolution::Hour,
            t0,
            t0 + HOUR,
        )
        .unwrap();
        assert_eq!(office[0].peak(), Some(4));
        assert_eq!(office[0].mean(), Some(3.5));
        assert_eq!(office[0].samples, 4);
        let peaks: u32 = [a, b]
            .iter()
            .map(|s| {
                roll_up(s, &cal, Resolution::Hour, t0, t0 + HOUR).unwrap()[0]
                    .peak()
                    .unwrap()
            })
            .sum();
        assert_eq!(peaks, 7);
    }

    #[test]
    fn dst_days_roll_up_23_and_25_hours() {
        let cal = Calendar::new("Europe/Berlin").unwrap();
        // One person present all weekend around the spring change (29 March 2026).
        let from = ms("2026-03-27T23:00:00Z");
        let series = Series::from_readings([(from, 1)], 10 * 24 * HOUR);
        let days = roll_up(
            &series,
            &cal,
            Resolution::Day,
            from,
            ms("2026-03-30T22:00:00Z"),
        )
        .unwrap();
        let lengths: Vec<i64> = days.iter().map(|d| (d.end - d.start) / HOUR).collect();
        assert_eq!(lengths, [24, 23, 24]);
        assert_eq!(days[1].occupied_ms(), 23 * HOUR as u64);
        assert_eq!(days[1].coverage(), 1.0);
        let cal = Calendar::new("Europe/Berlin").unwrap();
        let autumn = roll_up(
            &series,
            &cal,
            Resolution::Day,
            ms("2026-10-25T10:00:00Z"),
            ms("2026-10-25T11:00:00Z"),
        );
        let autumn = autumn.unwrap();
        assert_eq!(autumn[0].end - autumn[0].start, 25 * HOUR);
    }

    #[test]
    fn an_empty_range_is_refused() {
        let err = roll_up(
            &Series::default(),
            &Calendar::utc(),
            Resolution::Day,
            10,
            10,
        )
        .unwrap_err();
        assert_eq!(err, AnalyticsError::EmptyRange { from: 10, to: 10 });
    }

    fn readings() -> impl Strategy<Value = Vec<(i64, u32)>> {
        // Up to 300 readings at irregular times over two local days, some on minute edges.
        proptest::collection::vec((0i64..2 * 24 * 3_600, any::<bool>(), 0u32..40), 0..300).prop_map(
            |v| {
                v.into_iter()
                    .map(|(s, edge, c)| {
                        (
                            if edge {
                                s / 60 * 60_000
                            } else {
                                s * 1000 + s % 997
                            },
                            c,
                        )
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn day_through_the_cascade_equals_day_from_raw_readings(
            offsets in readings(),
            hold_s in 30i64..7_200,
            zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
            start in prop::sample::select(vec!["2026-03-28T00:00:00", "2026-10-24T12:00:00", "2026-04-04T00:00:00"]),
        ) {
            let cal = Calendar::new(zone).unwrap();
            let from = start.parse::<jiff::civil::DateTime>().unwrap().to_zoned(cal.time_zone().clone()).unwrap().timestamp().as_millisecond();
            let series = Series::from_readings(offsets.iter().map(|(o, c)| (from + o, *c)), hold_s * 1000);
            let days_from = cal.bucket(Resolution::Day, from).unwrap().start;
            let days_to = cal.bucket(Resolution::Day, from + 2 * 24 * HOUR).unwrap().end;
            let direct = roll_up(&series, &cal, Resolution::Day, days_from, days_to).unwrap();
            let minutes = roll_up(&series, &cal, Resolution::Minute, days_from, days_to).unwrap();
            let levels = cascade(minutes, &cal).unwrap();
            prop_assert_eq!(&levels[3], &direct);
            for resolution in [Resolution::FifteenMinutes, Resolution::Hour] {
                let level = &levels[Resolution::ALL.iter().position(|r| *r == resolution).unwrap()];
                prop_assert_eq!(level, &roll_up(&series, &cal, resolution, days_from, days_to).unwrap());
            }
        }
    }
}
