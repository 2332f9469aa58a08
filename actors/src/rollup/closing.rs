//! Closing buckets as the frontier moves: the minutes in which the room had a live sensor, from
//! its recent readings, then every 15 min, hour and local day they complete, each merged from
//! the closed buckets one level finer.

use std::collections::BTreeSet;

use tally_protocol::TimestampMs;
use tally_protocol::analytics::{
    AnalyticsError, Bucket, BucketStats, Resolution as Width, Series, roll_up,
};
use tally_storage::{Resolution, Rollup, RollupFrontier};

use super::RoomRollups;

impl RoomRollups {
    /// Closes every bucket that ends in `(closed_from, frontier.to]`.
    pub(super) fn close(
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

    /// The bucket at `level` of the closed buckets one level finer inside it.
    pub(super) fn merged_children(&self, level: usize, bucket: Bucket) -> BucketStats {
        let mut stats = BucketStats::empty(bucket.start, bucket.end);
        for child in self.closed[level - 1].range(bucket.start..bucket.end) {
            stats.absorb(child.1);
        }
        stats
    }

    /// The bucket at `level` that contains `ts`.
    pub(super) fn parent(&self, level: usize, ts: TimestampMs) -> Result<Bucket, AnalyticsError> {
        self.rules
            .calendar
            .bucket(Resolution::ALL[level].analytics(), ts)
    }

    /// The minute-aligned stretches of `[from, to)` in which the room had a live sensor: only
    /// they can close a bucket with something in it (a sensor silent for a year closes no year
    /// of empty minutes).
    pub(super) fn live_minutes(
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
}
