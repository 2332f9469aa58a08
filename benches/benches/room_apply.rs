//! Applying a batch of readings to a room's live state (`tally_actors::RoomLive::apply`): dedup,
//! count combination and the rollups at every resolution (a closed minute rolls up from the
//! room's recent readings), i.e. the room actor's work per message.
//!
//! Every iteration applies fresh seqs with rising timestamps (100 ms apart across the room, so a
//! minute bucket closes every 600 readings, as for one sensor reporting at 10 Hz). Cases: batches of 1 and 50
//! readings from one sensor, and the same batches round-robin from 4 sensors of a
//! `CountMode::Sum` room. Throughput is in readings.

mod common;

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tally_actors::{RollupRules, RoomLive, RoomRollups};
use tally_protocol::analytics::{Calendar, Combine};
use tally_protocol::{Reading, SensorId, TimestampMs};
use tally_storage::{CountMode, RoomState};

/// Sensor time of the first reading.
const T0: TimestampMs = 1_764_000_000_000;
/// Sensor time between two readings of one sensor.
const STEP_MS: i64 = 100;

/// Produces the next batch for one of `sensors` sensors, round-robin, with fresh seqs.
#[derive(Debug)]
struct Feed {
    sensors: Vec<SensorId>,
    next_seq: Vec<u64>,
    /// Sensor time of the next reading, rising across all sensors.
    ts: TimestampMs,
    turn: usize,
    batch: u64,
}

impl Feed {
    fn new(sensors: usize, batch: u64) -> Self {
        Self {
            sensors: (1..=sensors)
                .map(|i| SensorId::new(format!("s-{i}")).unwrap())
                .collect(),
            next_seq: vec![1; sensors],
            ts: T0,
            turn: 0,
            batch,
        }
    }

    /// The next sensor and its batch: seqs follow on, counts alternate so the room count moves.
    fn next(&mut self) -> (SensorId, Vec<Reading>) {
        let i = self.turn % self.sensors.len();
        self.turn += 1;
        let first = self.next_seq[i];
        self.next_seq[i] += self.batch;
        let items = (first..first + self.batch)
            .map(|seq| {
                self.ts += STEP_MS;
                Reading {
                    seq,
                    ts: self.ts,
                    count: i64::try_from(seq % 2 + i as u64).unwrap_or(0),
                }
            })
            .collect();
        (self.sensors[i].clone(), items)
    }
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_apply");
    for sensors in [1usize, 4] {
        for batch in [1u64, 50] {
            group.throughput(Throughput::Elements(batch));
            let id = BenchmarkId::new(format!("{sensors}_sensor_sum"), batch);
            group.bench_function(id, |b| {
                let rules = RollupRules {
                    calendar: Calendar::utc(),
                    hold_ms: 600_000,
                    combine: Combine::Sum,
                    lateness_ms: 3_600_000,
                };
                let mut room = RoomLive::new(
                    CountMode::Sum,
                    Duration::from_secs(600),
                    RoomState::default(),
                    RoomRollups::new(rules, None, true),
                );
                let mut feed = Feed::new(sensors, batch);
                b.iter_batched(
                    || feed.next(),
                    |(sensor, items)| {
                        let applied = room.apply(&sensor, black_box(&items), T0);
                        debug_assert_eq!((applied.duplicates, applied.late), (0, 0));
                        applied
                    },
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = apply
}
criterion_main!(benches);
