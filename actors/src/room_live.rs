//! The pure state machine of a room: dedup by `(sensor, seq)`, the live count from several
//! sensors, and the minute accumulator. The room actor wraps it; tests drive it directly.

use std::time::Duration;

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
    sensor_timeout_ms: i64,
    state: RoomState,
}

impl RoomLive {
    /// Restores a room from its stored state (or a fresh one). A sensor silent (by node time)
    /// for longer than `sensor_timeout` stops contributing to the count.
    pub fn new(mode: CountMode, sensor_timeout: Duration, state: RoomState) -> Self {
        let sensor_timeout_ms = i64::try_from(sensor_timeout.as_millis()).unwrap_or(i64::MAX);
        Self {
            mode,
            sensor_timeout_ms,
            state,
        }
    }

    fn is_stale(&self, sensor: &SensorState, now: TimestampMs) -> bool {
        now.saturating_sub(sensor.received_at) > self.sensor_timeout_ms
    }

    /// The count of the sensors heard from within the timeout, at node time `now`.
    fn fresh_count(&self, now: TimestampMs) -> u32 {
        combine(
            self.mode,
            self.state
                .sensors
                .values()
                .filter(|s| !self.is_stale(s, now)),
        )
    }

    /// Sensors silent longer than the timeout at node time `now`.
    pub fn stale_sensors(&self, now: TimestampMs) -> u32 {
        let stale = self
            .state
            .sensors
            .values()
            .filter(|s| self.is_stale(s, now))
            .count();
        u32::try_from(stale).unwrap_or(u32::MAX)
    }

    /// Node time at which the next sensor that still counts turns stale, if any.
    pub fn next_stale_at(&self, now: TimestampMs) -> Option<TimestampMs> {
        self.state
            .sensors
            .values()
            .filter(|s| !self.is_stale(s, now))
            .map(|s| {
                s.received_at
                    .saturating_add(self.sensor_timeout_ms)
                    .saturating_add(1)
            })
            .min()
    }

    /// Re-evaluates staleness at node time `now`. When the count changes, integrates it into
    /// the minute accumulator from `now` and returns the rollups that closed on the way.
    pub fn refresh(&mut self, now: TimestampMs) -> Option<Vec<Rollup>> {
        let count = self.fresh_count(now);
        if count == self.state.count {
            return None;
        }
        self.state.count = count;
        let at = self
            .state
            .open_minute
            .map_or(now, |open| now.max(open.integrated_to));
        match advance(&mut self.state.open_minute, at, count) {
            Advance::Applied(closed) => Some(closed),
            Advance::Late => Some(Vec::new()),
        }
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
                received_at,
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
            self.state.count = self.fresh_count(received_at);
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
    const TIMEOUT: Duration = Duration::from_secs(600);

    fn sensor(id: &str) -> SensorId {
        SensorId::new(id).unwrap()
    }

    fn reading(seq: u64, ts: TimestampMs, count: i64) -> Reading {
        Reading { seq, ts, count }
    }

    #[test]
    fn drops_already_applied_seqs() {
        let mut room = RoomLive::new(CountMode::Sum, TIMEOUT, RoomState::default());
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
        let mut room = RoomLive::new(CountMode::Sum, TIMEOUT, RoomState::default());
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
        let mut sum = RoomLive::new(CountMode::Sum, TIMEOUT, RoomState::default());
        let mut max = RoomLive::new(CountMode::Max, TIMEOUT, RoomState::default());
        for room in [&mut sum, &mut max] {
            room.apply(&a, &[reading(1, T0, 4)], T0);
            room.apply(&b, &[reading(1, T0 + 1, 6)], T0);
        }
        assert_eq!((sum.count(), max.count()), (10, 6));
    }

    #[test]
    fn restored_state_keeps_dedup_marks() {
        let mut room = RoomLive::new(CountMode::Sum, TIMEOUT, RoomState::default());
        room.apply(&sensor("s1"), &[reading(5, T0, 2)], T0);
        let mut restored = RoomLive::new(CountMode::Sum, TIMEOUT, room.state().clone());
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
        let mut room = RoomLive::new(CountMode::Sum, TIMEOUT, RoomState::default());
        room.apply(&sensor("s1"), &[reading(1, T0, 2)], T0);
        let applied = room.apply(&sensor("s1"), &[reading(2, T0 + 60_000, 0)], T0);
        assert_eq!(applied.rollups.len(), 1);
        assert!((applied.rollups[0].avg - 2.0).abs() < 1e-9);
    }

    #[test]
    fn silent_sensors_stop_counting_and_come_back() {
        let (a, b) = (sensor("a"), sensor("b"));
        let mut room = RoomLive::new(
            CountMode::Sum,
            Duration::from_secs(60),
            RoomState::default(),
        );
        room.apply(&a, &[reading(1, T0, 4)], T0);
        room.apply(&b, &[reading(1, T0 + 30_000, 6)], T0 + 30_000);
        assert_eq!(room.count(), 10);
        assert_eq!(room.next_stale_at(T0 + 30_000), Some(T0 + 60_001));
        assert_eq!(
            room.refresh(T0 + 60_000),
            None,
            "a is silent for exactly the timeout: still counts"
        );
        assert!(room.refresh(T0 + 60_001).is_some());
        assert_eq!((room.count(), room.stale_sensors(T0 + 60_001)), (6, 1));
        assert_eq!(room.next_stale_at(T0 + 60_001), Some(T0 + 90_001));
        room.refresh(T0 + 90_001);
        assert_eq!(
            (
                room.count(),
                room.stale_sensors(T0 + 90_001),
                room.next_stale_at(T0 + 90_001)
            ),
            (0, 2, None)
        );
        room.apply(&a, &[reading(2, T0 + 100_000, 3)], T0 + 100_000);
        assert_eq!((room.count(), room.stale_sensors(T0 + 100_000)), (3, 1));
    }

    #[test]
    fn staleness_closes_minutes_at_the_right_count() {
        let mut room = RoomLive::new(
            CountMode::Sum,
            Duration::from_secs(30),
            RoomState::default(),
        );
        room.apply(&sensor("a"), &[reading(1, T0, 8)], T0);
        assert!(room.refresh(T0 + 30_001).unwrap().is_empty());
        let closed = room
            .apply(&sensor("a"), &[reading(2, T0 + 60_000, 8)], T0 + 60_000)
            .rollups;
        assert_eq!(closed.len(), 1);
        assert!(
            (closed[0].avg - 8.0 * 30_001.0 / 60_000.0).abs() < 1e-9,
            "{}",
            closed[0].avg
        );
    }

    #[test]
    fn restored_state_is_judged_by_when_sensors_were_last_heard() {
        let mut room = RoomLive::new(
            CountMode::Sum,
            Duration::from_secs(60),
            RoomState::default(),
        );
        room.apply(&sensor("a"), &[reading(1, T0, 5)], T0);
        let mut restored = RoomLive::new(
            CountMode::Sum,
            Duration::from_secs(60),
            room.state().clone(),
        );
        assert_eq!(restored.refresh(T0 + 10_000), None);
        assert!(
            restored.refresh(T0 + 3_600_000).is_some(),
            "the node was down for an hour: the sensor is stale"
        );
        assert_eq!(restored.count(), 0);
    }
}
