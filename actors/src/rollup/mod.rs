//! A room's rollups at every resolution (1 min → 15 min → 1 h → 1 d, in its office's local
//! time), pure: minutes are rolled up from the room's recent raw readings with the same math as
//! the analytics API (`tally_protocol::analytics`), coarser buckets from the finer ones they
//! contain. Time is an argument everywhere (sensor time in readings, node time for
//! [`sealing`](RoomRollups::seal)); the room actor only calls in.
//!
//! - this file: the state ([`RoomRollups`]) and [`RoomRollups::record`], one reading;
//! - `closing.rs`: closing the buckets the frontier passes, the cascade above the minutes;
//! - `correction.rs`: a late reading recomputing the closed buckets it changes;
//! - `window.rs`: what is kept in memory for corrections, and restoring it after a restart;
//! - `sealing.rs`: the frontier of a quiet room moved on by node time.
//!
//! # The frontier
//!
//! The room's [`RollupFrontier`] says up to where every resolution is stored; inside it an
//! absent bucket had neither a reading nor a live sensor (only buckets with something observed
//! are stored). It moves two ways, never back:
//!
//! - **by sensor time**: a minute closes once a reading at or after its end arrives;
//! - **by node time (sealing)**: once the room has received no reading for `rollup.lateness`
//!   of node time, its frontier moves to the minute of `now − lateness` (node time), in steps
//!   of a quarter of the lateness (a minute to a quarter hour, so a quiet room writes its
//!   state at most four times an hour with the default lateness). Without
//!   it a room whose sensors went quiet (an unplugged sensor, a closed meeting room) would
//!   keep its frontier at its last reading, and its office, which finalises only what no room
//!   can still correct, would be held back for as long. Sensor clocks are assumed to agree
//!   with the node's within the lateness (README, `rollup.lateness`).
//!
//! A sealed stretch closes like any other: the buckets in which the last reading's count still
//! held are stored, the silence after it is not (no bucket, as for any silent minute).
//!
//! # Late readings
//!
//! A reading older than the frontier is late. Within the lateness counted back from the
//! frontier (however it moved) it recomputes the minutes it changes and every closed bucket
//! above them ([`Lateness::Corrected`]); older, it is stored raw only and counted in
//! `tally_readings_late_total` ([`Lateness::TooLate`]): closed buckets keep what they had. The
//! office finalises only what is older than the lateness before every room's frontier, so it
//! never finalises what a room may still correct; a sealed room lets it through up to
//! `now − 2 × lateness − step`. A sensor that comes back after a sealed stretch is on the normal path
//! (its new readings are newer than the frontier and close the minutes from it); a room that
//! never rolled anything up has no frontier, nothing to seal, and holds no office back.
//!
//! # Durability order
//!
//! Sealing is a write of the room like any other: its closed buckets and its state (the new
//! frontier) go to the persister in one request, after every earlier request of the room
//! (a room's requests reach the persister in the order it sent them, the persister writes one
//! group commit at a time in arrival order and merges a room's requests in order, and a room
//! whose write failed is refused every later one until it restarts from storage). So a
//! frontier is never stored before the readings and buckets it covers.

mod closing;
mod correction;
mod sealing;
mod window;

use std::collections::BTreeMap;

use tally_protocol::analytics::{
    AnalyticsError, BucketStats, Calendar, Combine, Resolution as Width, Series,
};
use tally_protocol::{SensorId, TimestampMs};
use tally_storage::{Resolution, Rollup, RollupFrontier};

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
mod tests;
