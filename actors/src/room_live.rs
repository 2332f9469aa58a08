//! The pure state machine of a room: dedup by `(sensor, seq)`, the live count from several
//! sensors, and its rollups at every resolution (`rollup/`). The room actor wraps it; tests
//! drive it directly.

use std::time::Duration;

use tally_protocol::{Reading, SensorId, TimestampMs};
use tally_storage::{CountMode, Rollup, RoomState, SensorState, StoredReading};

use crate::rollup::{Lateness, RoomRollups};

/// What applying one batch changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// New raw readings to store (duplicates excluded).
    pub readings: Vec<(SensorId, StoredReading)>,
    /// Rollup buckets that closed or were corrected by a late reading.
    pub rollups: Vec<Rollup>,
    /// The sensor's highest applied seq after the batch.
    pub up_to_seq: u64,
    /// Readings dropped as duplicates.
    pub duplicates: usize,
    /// Late readings (older than the open minute) whose closed buckets were corrected.
    pub corrected: usize,
    /// Readings older than the rollup lateness: stored raw, their old buckets not corrected.
    pub late: usize,
    /// Whether the room's live count changed.
    pub count_changed: bool,
}

/// A room's live state.
#[derive(Debug, Clone)]
pub struct RoomLive {
    mode: CountMode,
    sensor_timeout_ms: i64,
    state: RoomState,
    rollups: RoomRollups,
}

impl RoomLive {
    /// Restores a room from its stored state (or a fresh one) and its restored rollups. A
    /// sensor silent (by node time) for longer than `sensor_timeout` stops contributing to the
    /// count.
    pub fn new(
        mode: CountMode,
        sensor_timeout: Duration,
        state: RoomState,
        rollups: RoomRollups,
    ) -> Self {
        let sensor_timeout_ms = i64::try_from(sensor_timeout.as_millis()).unwrap_or(i64::MAX);
        Self {
            mode,
            sensor_timeout_ms,
            state,
            rollups,
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

    /// Re-evaluates staleness at node time `now`; whether the live count changed. (Rollups
    /// follow sensor time: a reading's count holds there for the sensor timeout at most.)
    pub fn refresh(&mut self, now: TimestampMs) -> bool {
        let count = self.fresh_count(now);
        let changed = count != self.state.count;
        self.state.count = count;
        changed
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
            match self.rollups.record(sensor, reading.seq, reading.ts, count) {
                Ok(recorded) => {
                    applied.rollups.extend(recorded.rollups);
                    match recorded.lateness {
                        Lateness::OnTime => {}
                        Lateness::Corrected => applied.corrected += 1,
                        Lateness::TooLate => applied.late += 1,
                    }
                }
                Err(err) => {
                    // Out of the calendar's range: validated readings never are.
                    tracing::warn!(%sensor, ts = reading.ts, %err, "reading not rolled up");
                    applied.late += 1;
                }
            }
        }
        self.state.rollups = self.rollups.frontier();
        applied.up_to_seq = self.last_seq(sensor);
        applied.count_changed = self.state.count != before;
        applied
    }

    /// Node time of the last reading the room received (`None` if it never received one).
    fn last_heard(&self) -> Option<TimestampMs> {
        self.state.sensors.values().map(|s| s.received_at).max()
    }

    /// Seals the room's rollups at node time `now` if it received no reading for the rollup
    /// lateness (see `rollup/sealing.rs`). When its frontier moved: the buckets that closed,
    /// to store with [`state`](Self::state); `None` when nothing moved.
    pub fn seal(&mut self, now: TimestampMs) -> Option<Vec<Rollup>> {
        let before = self.rollups.frontier();
        let closed = match self.rollups.seal(now, self.last_heard()) {
            Ok(closed) => closed,
            Err(err) => {
                // Out of the calendar's range: the node's clock never is.
                tracing::warn!(now, %err, "room rollups not sealed");
                return None;
            }
        };
        self.state.rollups = self.rollups.frontier();
        (self.state.rollups != before).then_some(closed)
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
    use tally_protocol::analytics::{Calendar, Combine};

    use super::*;
    use crate::rollup::RollupRules;

    const T0: TimestampMs = 1_764_000_000_000;
    const TIMEOUT: Duration = Duration::from_secs(600);

    /// A room of `mode` in UTC whose readings hold for the sensor timeout.
    fn live(mode: CountMode, timeout: Duration, state: RoomState) -> RoomLive {
        let rules = RollupRules {
            calendar: Calendar::utc(),
            hold_ms: i64::try_from(timeout.as_millis()).unwrap(),
            combine: match mode {
                CountMode::Sum => Combine::Sum,
                CountMode::Max => Combine::Max,
            },
            lateness_ms: 3_600_000,
        };
        let rollups = RoomRollups::new(rules, state.rollups, state.sensors.is_empty());
        RoomLive::new(mode, timeout, state, rollups)
    }

    fn sensor(id: &str) -> SensorId {
        SensorId::new(id).unwrap()
    }

    fn reading(seq: u64, ts: TimestampMs, count: i64) -> Reading {
        Reading { seq, ts, count }
    }

    #[test]
    fn drops_already_applied_seqs() {
        let mut room = live(CountMode::Sum, TIMEOUT, RoomState::default());
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
        let mut room = live(CountMode::Sum, TIMEOUT, RoomState::default());
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
        let mut sum = live(CountMode::Sum, TIMEOUT, RoomState::default());
        let mut max = live(CountMode::Max, TIMEOUT, RoomState::default());
        for room in [&mut sum, &mut max] {
            room.apply(&a, &[reading(1, T0, 4)], T0);
            room.apply(&b, &[reading(1, T0 + 1, 6)], T0);
        }
        assert_eq!((sum.count(), max.count()), (10, 6));
    }

    #[test]
    fn restored_state_keeps_dedup_marks() {
        let mut room = live(CountMode::Sum, TIMEOUT, RoomState::default());
        room.apply(&sensor("s1"), &[reading(5, T0, 2)], T0);
        let mut restored = live(CountMode::Sum, TIMEOUT, room.state().clone());
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
        let mut room = live(CountMode::Sum, TIMEOUT, RoomState::default());
        room.apply(&sensor("s1"), &[reading(1, T0, 2)], T0);
        let applied = room.apply(&sensor("s1"), &[reading(2, T0 + 60_000, 0)], T0);
        assert_eq!(applied.rollups.len(), 1);
        assert!((applied.rollups[0].avg - 2.0).abs() < 1e-9);
    }

    #[test]
    fn silent_sensors_stop_counting_and_come_back() {
        let (a, b) = (sensor("a"), sensor("b"));
        let mut room = live(
            CountMode::Sum,
            Duration::from_secs(60),
            RoomState::default(),
        );
        room.apply(&a, &[reading(1, T0, 4)], T0);
        room.apply(&b, &[reading(1, T0 + 30_000, 6)], T0 + 30_000);
        assert_eq!(room.count(), 10);
        assert_eq!(room.next_stale_at(T0 + 30_000), Some(T0 + 60_001));
        assert!(
            !room.refresh(T0 + 60_000),
            "a is silent for exactly the timeout: still counts"
        );
        assert!(room.refresh(T0 + 60_001));
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
    fn restored_state_is_judged_by_when_sensors_were_last_heard() {
        let mut room = live(
            CountMode::Sum,
            Duration::from_secs(60),
            RoomState::default(),
        );
        room.apply(&sensor("a"), &[reading(1, T0, 5)], T0);
        let mut restored = live(
            CountMode::Sum,
            Duration::from_secs(60),
            room.state().clone(),
        );
        assert!(!restored.refresh(T0 + 10_000));
        assert!(
            restored.refresh(T0 + 3_600_000),
            "the node was down for an hour: the sensor is stale"
        );
        assert_eq!(restored.count(), 0);
    }

    #[test]
    fn a_quiet_room_seals_its_rollups_by_node_time() {
        // T0 is on an hour; the lateness is an hour, the sensor timeout 10 min.
        let mut room = live(CountMode::Sum, TIMEOUT, RoomState::default());
        room.apply(&sensor("s1"), &[reading(1, T0, 2)], T0);
        let first = room.state().rollups.unwrap();
        assert_eq!(first.to, T0, "nothing closed yet");
        assert_eq!(room.seal(T0 + 1_800_000), None, "heard half an hour ago");
        let closed = room.seal(T0 + 7_200_000).expect("quiet for the lateness");
        assert_eq!(
            room.state().rollups.map(|f| f.to),
            Some(T0 + 3_600_000),
            "sealed at node time − lateness"
        );
        // The 2 held for the sensor timeout: ten minutes, the quarter hour and the hour.
        assert_eq!(closed.len(), 12);
        assert_eq!(room.seal(T0 + 7_200_000), None, "nothing moves twice");
    }
}
