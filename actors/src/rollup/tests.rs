//! The room's rollups against the figures computed from all its raw readings: bucket edges, a
//! DST day, late readings at every resolution, silence, restarts; and [`Fed`], the harness the
//! other files' tests share.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tally_protocol::analytics::{BucketStats, Resolution as Width, Series, roll_up};
use tally_storage::StoredReading;

use super::*;

pub(super) const MIN: i64 = 60_000;
pub(super) const HOUR: i64 = 3_600_000;

pub(super) fn ms(rfc3339: &str) -> TimestampMs {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

pub(super) fn rules(zone: &str, hold_ms: i64, lateness_ms: i64) -> RollupRules {
    RollupRules {
        calendar: Calendar::new(zone).unwrap(),
        hold_ms,
        combine: Combine::Sum,
        lateness_ms,
    }
}

fn sensor(i: usize) -> SensorId {
    SensorId::new(format!("s{i}")).unwrap()
}

/// A room fed readings, with what it stored (later rollups replace earlier ones).
pub(super) struct Fed {
    pub(super) rollups: RoomRollups,
    raw: Vec<(usize, u64, TimestampMs, u32)>,
    pub(super) stored: BTreeMap<(Resolution, TimestampMs), BucketStats>,
    pub(super) lateness: Vec<Lateness>,
}

impl Fed {
    pub(super) fn new(rules: RollupRules) -> Self {
        Self {
            rollups: RoomRollups::new(rules, None, true),
            raw: Vec::new(),
            stored: BTreeMap::new(),
            lateness: Vec::new(),
        }
    }

    pub(super) fn feed(&mut self, sensor_index: usize, ts: TimestampMs, count: u32) {
        let seq = self.raw.len() as u64 + 1;
        self.raw.push((sensor_index, seq, ts, count));
        let recorded = self
            .rollups
            .record(&sensor(sensor_index), seq, ts, count)
            .unwrap();
        self.lateness.push(recorded.lateness);
        for rollup in recorded.rollups {
            let stats = rollup.stats.unwrap();
            self.stored.insert((rollup.resolution, stats.start), stats);
        }
    }

    /// Seals the room at node time `now` (see [`RoomRollups::seal`]), storing what closed.
    pub(super) fn seal(
        &mut self,
        now: TimestampMs,
        last_heard: Option<TimestampMs>,
    ) -> Vec<Rollup> {
        let closed = self.rollups.seal(now, last_heard).unwrap();
        for rollup in &closed {
            let stats = rollup.stats.clone().unwrap();
            self.stored.insert((rollup.resolution, stats.start), stats);
        }
        closed
    }

    /// Stops the room and restores it from what it stored, as the room actor does.
    pub(super) fn restart(&mut self, rules: RollupRules) {
        let mut restored = RoomRollups::new(rules, self.rollups.frontier(), self.raw.is_empty());
        let Some(ranges) = restored.restore_ranges().unwrap() else {
            self.rollups = restored;
            return;
        };
        let readings =
            self.raw
                .iter()
                .filter(|r| r.2 >= ranges.readings_from)
                .map(|(s, seq, ts, count)| {
                    let reading = StoredReading {
                        seq: *seq,
                        ts: *ts,
                        count: *count,
                        received_at: 0,
                    };
                    (sensor(*s), reading)
                });
        let rollups: Vec<Rollup> = self
            .stored
            .iter()
            .filter(|((resolution, start), _)| *start >= ranges.rollups_from[level_of(*resolution)])
            .map(|((resolution, _), stats)| Rollup::of(*resolution, stats.clone()))
            .collect();
        restored.restore(readings, rollups);
        self.rollups = restored;
    }

    /// The stored buckets with something in them, at `resolution`.
    fn stored_at(&self, resolution: Resolution) -> Vec<BucketStats> {
        self.stored
            .iter()
            .filter(|((r, _), stats)| *r == resolution && !stats.is_empty())
            .map(|(_, stats)| stats.clone())
            .collect()
    }

    /// The buckets inside the frontier computed from every raw reading, as the analytics
    /// API does.
    fn computed_from_raw(&self, resolution: Resolution) -> Vec<BucketStats> {
        let rules = &self.rollups.rules;
        let mut by_sensor: BTreeMap<usize, Vec<(TimestampMs, u64, u32)>> = BTreeMap::new();
        for (s, seq, ts, count) in &self.raw {
            insert(by_sensor.entry(*s).or_default(), (*ts, *seq, *count));
        }
        let sensors: Vec<Series> = by_sensor
            .values()
            .map(|r| Series::from_readings(r.iter().map(|(ts, _, c)| (*ts, *c)), rules.hold_ms))
            .collect();
        let series = Series::combine(&sensors, rules.combine);
        let frontier = self.rollups.frontier().unwrap();
        if frontier.from >= frontier.to {
            return Vec::new();
        }
        roll_up(
            &series,
            &rules.calendar,
            resolution.analytics(),
            frontier.from,
            frontier.to,
        )
        .unwrap()
        .into_iter()
        .filter(|b| frontier.holds(b.start, b.end) && !b.is_empty())
        .collect()
    }

    pub(super) fn assert_equals_raw(&self) {
        for resolution in Resolution::ALL {
            assert_eq!(
                self.stored_at(resolution),
                self.computed_from_raw(resolution),
                "{resolution:?}"
            );
        }
    }
}

#[test]
fn minutes_close_by_sensor_time_and_days_follow_the_office_clock() {
    // Berlin, the day of the spring change (23 hours): one sensor, 2 people from 09:00:20
    // local, 0 from 09:01:00 (exactly on the edge).
    let mut fed = Fed::new(rules("Europe/Berlin", 10 * MIN, HOUR));
    let nine = ms("2026-03-29T07:00:00Z");
    fed.feed(0, nine + 20_000, 2);
    assert!(fed.stored.is_empty(), "nothing closed yet");
    fed.feed(0, nine + MIN, 0);
    let minute = &fed.stored[&(Resolution::Minute, nine)];
    assert_eq!(
        (minute.covered_ms(), minute.samples, minute.peak()),
        (40_000, 1, Some(2))
    );
    // The next local day begins: every level of 29 March closes, the day 23 hours long.
    fed.feed(0, ms("2026-03-29T22:00:00Z"), 1);
    let day = &fed.stored[&(Resolution::Day, ms("2026-03-28T23:00:00Z"))];
    assert_eq!(day.end - day.start, 23 * HOUR);
    assert_eq!(day.span_ms, 23 * HOUR as u64);
    assert_eq!((day.samples, day.occupied_ms()), (2, 40_000));
    // The 0 held for the sensor timeout, then silence: covered 40 s + 10 min.
    assert_eq!(day.covered_ms(), 40_000 + 10 * MIN as u64);
    fed.assert_equals_raw();
}

#[test]
fn a_late_reading_corrects_closed_buckets_at_every_resolution() {
    let mut fed = Fed::new(rules("UTC", 10 * MIN, 2 * HOUR));
    let t0 = ms("2026-03-04T23:00:00Z");
    fed.feed(0, t0, 1);
    fed.feed(0, t0 + 50 * MIN, 1);
    fed.feed(0, t0 + 70 * MIN, 0); // the day of 4 March closes: 23:00 to 24:00 rolled up
    let day = ms("2026-03-04T00:00:00Z");
    let before = fed.stored[&(Resolution::Day, day)].clone();
    assert_eq!(before.peak(), Some(1));
    // A second sensor reports 5 people at 23:52 of the closed day, late, while the first
    // one's 1 holds (23:50 to 24:00).
    fed.feed(1, t0 + 52 * MIN, 5);
    assert_eq!(fed.lateness.last(), Some(&Lateness::Corrected));
    let after = &fed.stored[&(Resolution::Day, day)];
    assert_eq!(after.peak(), Some(6), "1 + 5 at the same instants");
    assert_eq!(fed.stored[&(Resolution::Hour, t0)].peak(), Some(6));
    assert_eq!(
        fed.stored[&(Resolution::FifteenMinutes, t0 + 45 * MIN)].peak(),
        Some(6)
    );
    assert_eq!(fed.stored[&(Resolution::Minute, t0 + 52 * MIN)].samples, 1);
    fed.assert_equals_raw();
}

#[test]
fn a_reading_older_than_the_lateness_is_reported_too_late() {
    let mut fed = Fed::new(rules("UTC", 10 * MIN, 15 * MIN));
    let t0 = ms("2026-03-04T09:00:00Z");
    fed.feed(0, t0, 1);
    fed.feed(0, t0 + HOUR, 1);
    fed.feed(1, t0 + 5 * MIN, 3);
    assert_eq!(fed.lateness.last(), Some(&Lateness::TooLate));
    let minute = &fed.stored[&(Resolution::Minute, t0 + 5 * MIN)];
    assert_eq!(minute.peak(), Some(1), "not corrected");
}

#[test]
fn a_silent_year_closes_no_empty_minutes() {
    let mut fed = Fed::new(rules("UTC", 10 * MIN, HOUR));
    let t0 = ms("2026-03-04T09:00:00Z");
    fed.feed(0, t0, 1);
    fed.feed(0, t0 + 365 * 24 * HOUR, 1);
    assert_eq!(fed.stored_at(Resolution::Minute).len(), 10);
    fed.assert_equals_raw();
}

fn readings() -> impl Strategy<Value = Vec<(usize, i64, u32, bool)>> {
    // Two sensors, irregular times over two local days, some on minute edges, some late.
    proptest::collection::vec(
        (0usize..2, 0i64..2 * 24 * 3_600, 0u32..30, any::<bool>()),
        1..250,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn stored_rollups_equal_rollups_from_all_raw_readings(
        items in readings(),
        hold_s in 30i64..3_600,
        zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"]),
        start in prop::sample::select(vec!["2026-03-28T00:00:00", "2026-10-24T12:00:00"]),
        restart_at in 0usize..250,
        seal_at in 0usize..250,
        quiet_min in 181i64..=240,
    ) {
        let lateness = 3 * HOUR;
        let make = || rules(zone, hold_s * 1000, lateness);
        let from = start
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(make().calendar.time_zone().clone())
            .unwrap()
            .timestamp()
            .as_millisecond();
        let mut fed = Fed::new(make());
        let mut watermark = i64::MIN;
        let mut first_day: Option<TimestampMs> = None;
        for (i, (s, offset_s, count, edge)) in items.iter().enumerate() {
            let mut ts = from + if *edge { offset_s / 60 * MIN } else { offset_s * 1000 + offset_s % 997 };
            // Every reading within the lateness (a late one at most two hours back) and
            // in the local day of the room's first reading or later.
            ts = ts.max(watermark.saturating_sub(2 * HOUR));
            let first_day = *first_day.get_or_insert_with(|| {
                make().calendar.bucket(Width::Day, ts).unwrap().start
            });
            ts = ts.max(first_day);
            if i == seal_at && watermark > i64::MIN {
                // Quiet for the lateness and up to an hour more (node time = sensor time):
                // sealed, and every later reading still within the lateness of the frontier.
                fed.seal(watermark + quiet_min * MIN, Some(watermark));
            }
            watermark = watermark.max(ts);
            if i == restart_at {
                fed.restart(make());
            }
            fed.feed(*s, ts, *count);
        }
        prop_assert!(!fed.lateness.contains(&Lateness::TooLate));
        for resolution in Resolution::ALL {
            prop_assert_eq!(fed.stored_at(resolution), fed.computed_from_raw(resolution), "{:?}", resolution);
        }
    }
}

#[test]
fn widths_are_the_cascade() {
    let levels: Vec<Width> = Resolution::ALL.iter().map(|r| r.analytics()).collect();
    assert_eq!(levels, Width::ALL);
}
