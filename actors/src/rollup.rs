//! A room's rollups at every resolution (1 min → 15 min → 1 h → 1 d, in its office's local
//! time), pure: minutes are rolled up from the room's recent raw readings with the same math as
//! the analytics API (`tally_protocol::analytics`), coarser buckets from the finer ones they
//! contain. A late reading (older than the rolled-up part, within the lateness) recomputes the
//! minutes it changes and every closed bucket above them.
//!
//! Buckets close by sensor time: a minute closes once a reading at or after its end arrives.
//! Only buckets with something observed (a reading or a live sensor) are stored; inside the
//! room's [`RollupFrontier`] an absent bucket had neither.

use std::collections::{BTreeMap, BTreeSet};

use tally_protocol::analytics::{
    AnalyticsError, Bucket, BucketStats, Calendar, Combine, Resolution as Width, Series, roll_up,
};
use tally_protocol::{SensorId, TimestampMs};
use tally_storage::{Resolution, Rollup, RollupFrontier, StoredReading};

/// How a room rolls up.
#[derive(Debug, Clone)]
pub struct RollupRules {
    /// The office's calendar: buckets are its local minutes, quarter hours, hours and days.
    pub calendar: Calendar,
    /// A reading's count holds this long at most (the sensor timeout).
    pub hold_ms: i64,
    /// How the room combines its sensors.
    pub combine: Combine,
    /// How far behind the rolled-up part a late reading still corrects closed buckets.
    pub lateness_ms: i64,
}

/// How a reading stood to the rolled-up part of the room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Lateness {
    /// In the open minute or later.
    #[default]
    OnTime,
    /// Before the open minute, within the lateness: the closed buckets it changes were
    /// recomputed.
    Corrected,
    /// Older than the lateness (or than the room's first rollup): stored raw only; closed
    /// buckets older than the lateness keep what they had.
    TooLate,
}

/// What recording one reading did.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Recorded {
    /// Buckets that closed or changed, to store (each replaces the stored one).
    pub rollups: Vec<Rollup>,
    /// Whether the reading was late.
    pub lateness: Lateness,
}

/// The store reads that restore a room's rollups: its raw readings from `readings_from`, and
/// at each resolution (finest first) the stored rollups from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestoreRanges {
    /// Readings with `ts` from here on.
    pub readings_from: TimestampMs,
    /// Per resolution in [`Resolution::ALL`] order, rollups starting from here on.
    pub rollups_from: [TimestampMs; 4],
}

/// A room's rollup state.
#[derive(Debug, Clone)]
pub struct RoomRollups {
    rules: RollupRules,
    frontier: Option<RollupFrontier>,
    /// Whether the room had no reading before its first rollup (so its first day is whole).
    fresh: bool,
    /// Latest sensor time seen.
    watermark: TimestampMs,
    /// Readings since the horizon, per sensor, ordered by `(ts, seq)`.
    recent: BTreeMap<SensorId, Vec<(TimestampMs, u64, u32)>>,
    /// Closed buckets per resolution, kept while a late reading may still change them or the
    /// bucket above them.
    closed: [BTreeMap<TimestampMs, BucketStats>; 4],
}

impl RoomRollups {
    /// The rollups of a room whose stored state says `frontier`; `fresh` when the room never
    /// had a reading (its first rollup starts at the local midnight before its first reading).
    pub fn new(rules: RollupRules, frontier: Option<RollupFrontier>, fresh: bool) -> Self {
        Self {
            rules,
            frontier,
            fresh,
            watermark: frontier.map_or(TimestampMs::MIN, |f| f.to),
            recent: BTreeMap::new(),
            closed: Default::default(),
        }
    }

    /// How far the stored rollups reach.
    pub(crate) fn frontier(&self) -> Option<RollupFrontier> {
        self.frontier
    }

    /// What to read from the store to [`restore`](Self::restore) a room with a frontier.
    pub(crate) fn restore_ranges(&self) -> Result<Option<RestoreRanges>, AnalyticsError> {
        let Some(frontier) = self.frontier else {
            return Ok(None);
        };
        let mut rollups_from = [frontier.to; 4];
        for (level, from) in rollups_from.iter_mut().enumerate() {
            *from = self.keep_from(level, frontier)?;
        }
        Ok(Some(RestoreRanges {
            readings_from: self.horizon(frontier)?,
            rollups_from,
        }))
    }

    /// Restores the recent readings and closed buckets read as [`restore_ranges`] said.
    pub(crate) fn restore(
        &mut self,
        readings: impl IntoIterator<Item = (SensorId, StoredReading)>,
        rollups: impl IntoIterator<Item = Rollup>,
    ) {
        for (sensor, reading) in readings {
            self.watermark = self.watermark.max(reading.ts);
            insert(
                self.recent.entry(sensor).or_default(),
                (reading.ts, reading.seq, reading.count),
            );
        }
        for rollup in rollups {
            if let Some(stats) = rollup.stats {
                let level = level_of(rollup.resolution);
                self.closed[level].insert(stats.start, stats);
            }
        }
    }

    /// Records one applied reading of `sensor`: closes the buckets it ends, or corrects the
    /// closed ones it changes.
    pub(crate) fn record(
        &mut self,
        sensor: &SensorId,
        seq: u64,
        ts: TimestampMs,
        count: u32,
    ) -> Result<Recorded, AnalyticsError> {
        let cal = &self.rules.calendar.clone();
        let mut frontier = match self.frontier {
            Some(frontier) => frontier,
            None => {
                let from = if self.fresh {
                    cal.bucket(Width::Day, ts)?.start
                } else {
                    cal.bucket(Width::Minute, ts)?.start
                };
                RollupFrontier { from, to: from }
            }
        };
        let mut out = Recorded::default();
        if ts >= self.horizon(frontier)? {
            insert(
                self.recent.entry(sensor.clone()).or_default(),
                (ts, seq, count),
            );
        }
        if ts < frontier.to {
            let correctable = self.correctable_from(frontier)?;
            out.lateness = if ts < correctable || ts < frontier.from {
                Lateness::TooLate
            } else {
                Lateness::Corrected
            };
            let first = cal.bucket(Width::Minute, ts)?.start;
            let from = first.max(correctable).max(frontier.from);
            if from < frontier.to {
                out.rollups = self.recompute(frontier, from)?;
            }
        }
        self.watermark = self.watermark.max(ts);
        let to = cal.bucket(Width::Minute, self.watermark)?.start;
        if to > frontier.to {
            let closed_from = frontier.to;
            frontier.to = to;
            out.rollups.extend(self.close(frontier, closed_from)?);
            self.prune(frontier)?;
        }
        self.frontier = Some(frontier);
        Ok(out)
    }

    /// The room's count from its recent readings.
    fn series(&self) -> Series {
        let sensors: Vec<Series> = self
            .recent
            .values()
            .map(|readings| {
                Series::from_readings(
                    readings.iter().map(|(ts, _, count)| (*ts, *count)),
                    self.rules.hold_ms,
                )
            })
            .collect();
        Series::combine(&sensors, self.rules.combine)
    }

    /// Closes every bucket that ends in `(closed_from, frontier.to]`.
    fn close(
        &mut self,
        frontier: RollupFrontier,
        closed_from: TimestampMs,
    ) -> Result<Vec<Rollup>, AnalyticsError> {
        let series = self.series();
        let mut out = Vec::new();
        for (a, b) in self.live_minutes(&series, closed_from, frontier.to)? {
            for minute in roll_up(&series, &self.rules.calendar, Width::Minute, a, b)? {
                if !minute.is_empty() {
                    self.closed[0].insert(minute.start, minute.clone());
                    out.push(Rollup::of(Resolution::Minute, minute));
                }
            }
        }
        for level in 1..Resolution::ALL.len() {
            let mut parents = BTreeSet::new();
            for start in self.closed[level - 1].keys() {
                let parent = self.parent(level, *start)?;
                if closed_from < parent.end
                    && parent.end <= frontier.to
                    && parent.start >= frontier.from
                {
                    parents.insert((parent.start, parent.end));
                }
            }
            for (start, end) in parents {
                let stats = self.merged_children(level, Bucket { start, end });
                if !stats.is_empty() {
                    self.closed[level].insert(start, stats.clone());
                    out.push(Rollup::of(Resolution::ALL[level], stats));
                }
            }
        }
        Ok(out)
    }

    /// Recomputes the closed minutes from `from` to the frontier and every closed bucket above
    /// one that changed; returns the buckets that changed.
    fn recompute(
        &mut self,
        frontier: RollupFrontier,
        from: TimestampMs,
    ) -> Result<Vec<Rollup>, AnalyticsError> {
        let series = self.series();
        let minutes = roll_up(
            &series,
            &self.rules.calendar,
            Width::Minute,
            from,
            frontier.to,
        )?;
        let mut out = Vec::new();
        let mut changed: Vec<TimestampMs> = Vec::new();
        for minute in minutes {
            if self.replace(0, &minute) {
                changed.push(minute.start);
                out.push(Rollup::of(Resolution::Minute, minute));
            }
        }
        for level in 1..Resolution::ALL.len() {
            let mut parents = BTreeSet::new();
            for start in &changed {
                let parent = self.parent(level, *start)?;
                if parent.end <= frontier.to && parent.start >= frontier.from {
                    parents.insert((parent.start, parent.end));
                }
            }
            changed.clear();
            for (start, end) in parents {
                let stats = self.merged_children(level, Bucket { start, end });
                if self.replace(level, &stats) {
                    changed.push(start);
                    out.push(Rollup::of(Resolution::ALL[level], stats));
                }
            }
        }
        Ok(out)
    }

    /// Keeps `stats` as the closed bucket at `level`; whether it differs from what was kept (an
    /// absent bucket is an empty one).
    fn replace(&mut self, level: usize, stats: &BucketStats) -> bool {
        let before = self.closed[level].get(&stats.start);
        let same = match before {
            Some(before) => before == stats,
            None => stats.is_empty(),
        };
        if !same {
            self.closed[level].insert(stats.start, stats.clone());
        }
        !same
    }

    /// The bucket at `level` of the closed buckets one level finer inside it.
    fn merged_children(&self, level: usize, bucket: Bucket) -> BucketStats {
        let mut stats = BucketStats::empty(bucket.start, bucket.end);
        for child in self.closed[level - 1].range(bucket.start..bucket.end) {
            stats.absorb(child.1);
        }
        stats
    }

    /// The bucket at `level` that contains `ts`.
    fn parent(&self, level: usize, ts: TimestampMs) -> Result<Bucket, AnalyticsError> {
        self.rules
            .calendar
            .bucket(Resolution::ALL[level].analytics(), ts)
    }

    /// The minute-aligned stretches of `[from, to)` in which the room had a live sensor: only
    /// they can close a bucket with something in it (a sensor silent for a year closes no year
    /// of empty minutes).
    fn live_minutes(
        &self,
        series: &Series,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, TimestampMs)>, AnalyticsError> {
        let minute = |ts| self.rules.calendar.bucket(Width::Minute, ts);
        let mut spans: Vec<(TimestampMs, TimestampMs)> = Vec::new();
        for pair in series.steps().windows(2) {
            let (a, b) = (pair[0].ts.max(from), pair[1].ts.min(to));
            if pair[0].count.is_none() || a >= b {
                continue;
            }
            let (a, b) = (minute(a)?.start, minute(b - 1)?.end.min(to));
            match spans.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => spans.push((a, b)),
            }
        }
        Ok(spans)
    }

    /// Start of the closed minutes a late reading may still change.
    fn correctable_from(&self, frontier: RollupFrontier) -> Result<TimestampMs, AnalyticsError> {
        let at = frontier.to.saturating_sub(self.rules.lateness_ms);
        Ok(self.rules.calendar.bucket(Width::Minute, at)?.start)
    }

    /// Readings older than this cannot change a correctable minute: they expired before it.
    fn horizon(&self, frontier: RollupFrontier) -> Result<TimestampMs, AnalyticsError> {
        Ok(self
            .correctable_from(frontier)?
            .saturating_sub(self.rules.hold_ms))
    }

    /// First bucket start at `level` worth keeping: buckets whose parent a late reading may
    /// still change (for days, the days themselves).
    fn keep_from(
        &self,
        level: usize,
        frontier: RollupFrontier,
    ) -> Result<TimestampMs, AnalyticsError> {
        let correctable = self.correctable_from(frontier)?;
        let above = (level + 1).min(Resolution::ALL.len() - 1);
        Ok(self.parent(above, correctable)?.start)
    }

    /// Forgets the readings and buckets no late reading can change any more.
    fn prune(&mut self, frontier: RollupFrontier) -> Result<(), AnalyticsError> {
        let horizon = self.horizon(frontier)?;
        for readings in self.recent.values_mut() {
            readings.retain(|(ts, _, _)| *ts >= horizon);
        }
        self.recent.retain(|_, readings| !readings.is_empty());
        for level in 0..Resolution::ALL.len() {
            let keep = self.keep_from(level, frontier)?;
            self.closed[level].retain(|start, _| *start >= keep);
        }
        Ok(())
    }
}

/// Index of a resolution in [`Resolution::ALL`].
fn level_of(resolution: Resolution) -> usize {
    Resolution::ALL
        .iter()
        .position(|r| *r == resolution)
        .unwrap_or_default()
}

/// Inserts a reading into a sensor's readings ordered by `(ts, seq)`.
fn insert(readings: &mut Vec<(TimestampMs, u64, u32)>, reading: (TimestampMs, u64, u32)) {
    let at = readings.partition_point(|r| (r.0, r.1) < (reading.0, reading.1));
    readings.insert(at, reading);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tally_protocol::analytics::Resolution as Width;

    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    fn ms(rfc3339: &str) -> TimestampMs {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn rules(zone: &str, hold_ms: i64, lateness_ms: i64) -> RollupRules {
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
    struct Fed {
        rollups: RoomRollups,
        raw: Vec<(usize, u64, TimestampMs, u32)>,
        stored: BTreeMap<(Resolution, TimestampMs), BucketStats>,
        lateness: Vec<Lateness>,
    }

    impl Fed {
        fn new(rules: RollupRules) -> Self {
            Self {
                rollups: RoomRollups::new(rules, None, true),
                raw: Vec::new(),
                stored: BTreeMap::new(),
                lateness: Vec::new(),
            }
        }

        fn feed(&mut self, sensor_index: usize, ts: TimestampMs, count: u32) {
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

        /// Stops the room and restores it from what it stored, as the room actor does.
        fn restart(&mut self, rules: RollupRules) {
            let mut restored =
                RoomRollups::new(rules, self.rollups.frontier(), self.raw.is_empty());
            let Some(ranges) = restored.restore_ranges().unwrap() else {
                self.rollups = restored;
                return;
            };
            let readings = self.raw.iter().filter(|r| r.2 >= ranges.readings_from).map(
                |(s, seq, ts, count)| {
                    let reading = StoredReading {
                        seq: *seq,
                        ts: *ts,
                        count: *count,
                        received_at: 0,
                    };
                    (sensor(*s), reading)
                },
            );
            let rollups: Vec<Rollup> = self
                .stored
                .iter()
                .filter(|((resolution, start), _)| {
                    *start >= ranges.rollups_from[level_of(*resolution)]
                })
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

        fn assert_equals_raw(&self) {
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
}
