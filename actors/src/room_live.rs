//! The pure state machine of a room: dedup by `(sensor, seq)`, the live count from several
//! sensors, and the minute accumulator. The room actor wraps it; tests drive it directly.

use tally_protocol::{Reading, SensorId, TimestampMs};
use tally_storage::{CountMode, Rollup, RoomState, SensorState, StoredReading};

use crate::rollup::{Advance, advance};

/// What applying one batch changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// New raw readings to store (duplicates excluded).
    pub readings: Vec<(SensorId, StoredReading)>,
    /// Rollup buckets that closed.
    pub rollups: Vec<Rollup>,
    /// The sensor's highest applied seq after the batch.
    pub up_to_seq: u64,
    /// Readings dropped as duplicates.
    pub duplicates: usize,
    /// Readings older than the open bucket's integrated time.
    pub late: usize,
    /// Whether the room's live count changed.
    pub count_changed: bool,
}

/// A room's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomLive {
    mode: CountMode,
    state: RoomState,
}

impl RoomLive {
    /// Restores a room from its stored state (or a fresh one).
    pub fn new(mode: CountMode, state: RoomState) -> Self {
        Self { mode, state }
    }

    /// The state to persist.
    pub fn state(&self) -> &RoomState {
        &self.state
    }

    /// The live count.
    pub fn count(&self) -> u32 {
        self.state.count
    }

    /// Sensor time of the reading that set the count.
    pub fn ts(&self) -> TimestampMs {
        self.state.ts
    }

    /// Highest seq applied for `sensor` (0 if none).
    pub fn last_seq(&self, sensor: &SensorId) -> u64 {
        self.state.sensors.get(sensor).map_or(0, |s| s.last_seq)
    }

    /// Applies a batch of validated readings of one sensor, in seq order; readings with a seq
    /// already applied are dropped.
    pub fn apply(
        &mut self,
        sensor: &SensorId,
        items: &[Reading],
        received_at: TimestampMs,
    ) -> Applied {
        let mut sorted: Vec<&Reading> = items.iter().collect();
        sorted.sort_by_key(|r| r.seq);
        let mut applied = Applied::default();
        let before = self.state.count;
        for reading in sorted {
            let sensor_state = self.state.sensors.entry(sensor.clone()).or_default();
            if reading.seq <= sensor_state.last_seq {
                applied.duplicates += 1;
                continue;
            }
            let count = reading.count_u32();
            *sensor_state = SensorState {
                last_seq: reading.seq,
                count,
                ts: reading.ts,
            };
            applied.readings.push((
                sensor.clone(),
                StoredReading {
                    seq: reading.seq,
                    ts: reading.ts,
                    count,
                    received_at,
                },
            ));
            self.state.count = combine(self.mode, self.state.sensors.values());
            self.state.ts = self.state.ts.max(reading.ts);
            match advance(&mut self.state.open_minute, reading.ts, self.state.count) {
                Advance::Applied(closed) => applied.rollups.extend(closed),
                Advance::Late => applied.late += 1,
            }
        }
        applied.up_to_seq = self.last_seq(sensor);
        applied.count_changed = self.state.count != before;
        applied
    }
}

/// Combines the latest counts of a room's sensors.
fn combine<'a>(mode: CountMode, sensors: impl Iterator<Item = &'a SensorState>) -> u32 {
    match mode {
        CountMode::Sum => sensors.map(|s| s.count).fold(0u32, u32::saturating_add),
        CountMode::Max => sensors.map(|s| s.count).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: TimestampMs = 1_764_000_000_000;

    fn sensor(id: &str) -> SensorId {
        SensorId::new(id).unwrap()
    }

    fn reading(seq: u64, ts: TimestampMs, count: i64) -> Reading {
        Reading { seq, ts, count }
    }

    #[test]
    fn drops_already_applied_seqs() {
        let mut room = RoomLive::new(CountMode::Sum, RoomState::default());
        let s1 = sensor("s1");
        let first = room.apply(&s1, &[reading(1, T0, 2), reading(2, T0 + 1, 3)], T0);
        assert_eq!(
            (first.readings.len(), first.up_to_seq, room.count()),
            (2, 2, 3)
        );
        let again = room.apply(&s1, &[reading(2, T0 + 1, 9), reading(3, T0 + 2, 4)], T0);
        assert_eq!(
            (
                again.readings.len(),
                again.duplicates,
                again.up_to_seq,
                room.count()
            ),
            (1, 1, 3, 4)
        );
        let replay = room.apply(&s1, &[reading(1, T0, 7)], T0);
        assert!(replay.readings.is_empty());
        assert_eq!(
            (replay.up_to_seq, room.count(), replay.count_changed),
            (3, 4, false)
        );
    }

    #[test]
    fn applies_out_of_order_batch_in_seq_order() {
        let mut room = RoomLive::new(CountMode::Sum, RoomState::default());
        let applied = room.apply(
            &sensor("s1"),
            &[reading(2, T0 + 1, 5), reading(1, T0, 1)],
            T0,
        );
        assert_eq!(applied.readings.len(), 2);
        assert_eq!(room.count(), 5);
    }

    #[test]
    fn sum_and_max_modes() {
        let (a, b) = (sensor("a"), sensor("b"));
        let mut sum = RoomLive::new(CountMode::Sum, RoomState::default());
        let mut max = RoomLive::new(CountMode::Max, RoomState::default());
        for room in [&mut sum, &mut max] {
            room.apply(&a, &[reading(1, T0, 4)], T0);
            room.apply(&b, &[reading(1, T0 + 1, 6)], T0);
        }
        assert_eq!((sum.count(), max.count()), (10, 6));
    }

    #[test]
    fn restored_state_keeps_dedup_marks() {
        let mut room = RoomLive::new(CountMode::Sum, RoomState::default());
        room.apply(&sensor("s1"), &[reading(5, T0, 2)], T0);
        let mut restored = RoomLive::new(CountMode::Sum, room.state().clone());
        assert!(
            restored
                .apply(&sensor("s1"), &[reading(5, T0, 9)], T0)
                .readings
                .is_empty()
        );
        assert_eq!(restored.count(), 2);
    }

    #[test]
    fn closes_minutes_into_rollups() {
        let mut room = RoomLive::new(CountMode::Sum, RoomState::default());
        room.apply(&sensor("s1"), &[reading(1, T0, 2)], T0);
        let applied = room.apply(&sensor("s1"), &[reading(2, T0 + 60_000, 0)], T0);
        assert_eq!(applied.rollups.len(), 1);
        assert!((applied.rollups[0].avg - 2.0).abs() < 1e-9);
    }
}
