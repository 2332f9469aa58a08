//! What a room keeps in memory for late readings (the recent readings and closed buckets a
//! correction may still need), forgetting the rest as the frontier moves, and reading it back
//! from the store when the room restarts.

use tally_protocol::analytics::AnalyticsError;
use tally_protocol::{SensorId, TimestampMs};
use tally_storage::{Resolution, Rollup, RollupFrontier, StoredReading};

use super::{RoomRollups, insert, level_of};

/// The store reads that restore a room's rollups: its raw readings from `readings_from`, and
/// at each resolution (finest first) the stored rollups from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestoreRanges {
    /// Readings with `ts` from here on.
    pub readings_from: TimestampMs,
    /// Per resolution in [`Resolution::ALL`] order, rollups starting from here on.
    pub rollups_from: [TimestampMs; 4],
}

impl RoomRollups {
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

    /// Readings older than this cannot change a correctable minute: they expired before it.
    pub(super) fn horizon(&self, frontier: RollupFrontier) -> Result<TimestampMs, AnalyticsError> {
        Ok(self
            .correctable_from(frontier)?
            .saturating_sub(self.rules.hold_ms))
    }

    /// First bucket start at `level` worth keeping: buckets whose parent a late reading may
    /// still change (for days, the days themselves).
    pub(super) fn keep_from(
        &self,
        level: usize,
        frontier: RollupFrontier,
    ) -> Result<TimestampMs, AnalyticsError> {
        let correctable = self.correctable_from(frontier)?;
        let above = (level + 1).min(Resolution::ALL.len() - 1);
        Ok(self.parent(above, correctable)?.start)
    }

    /// Forgets the readings and buckets no late reading can change any more.
    pub(super) fn prune(&mut self, frontier: RollupFrontier) -> Result<(), AnalyticsError> {
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
