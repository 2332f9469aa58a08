//! A late reading (older than the frontier, within the lateness): the closed minutes it changes
//! are recomputed from the recent readings, and every closed bucket above one that changed.

use std::collections::BTreeSet;

use tally_protocol::TimestampMs;
use tally_protocol::analytics::{
    AnalyticsError, Bucket, BucketStats, Resolution as Width, roll_up,
};
use tally_storage::{Resolution, Rollup, RollupFrontier};

use super::RoomRollups;

impl RoomRollups {
    /// Recomputes the closed minutes from `from` to the frontier and every closed bucket above
    /// one that changed; returns the buckets that changed.
    pub(super) fn recompute(
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
    pub(super) fn replace(&mut self, level: usize, stats: &BucketStats) -> bool {
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

    /// Start of the closed minutes a late reading may still change.
    pub(super) fn correctable_from(
        &self,
        frontier: RollupFrontier,
    ) -> Result<TimestampMs, AnalyticsError> {
        let at = frontier.to.saturating_sub(self.rules.lateness_ms);
        Ok(self.rules.calendar.bucket(Width::Minute, at)?.start)
    }
}
