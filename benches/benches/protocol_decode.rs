//! Decoding a sensor `Readings` frame: the first thing the gateway does with every frame.
//!
//! `Codec::{MsgPack, Json}.decode_sensor_frame` (parse + validation of every reading) of frames
//! holding 1, 50 and 500 readings (500 is `Limits::default().max_batch_items`). Throughput is in
//! readings, so criterion prints readings per second. `decode_bare_readings` decodes the same 50
//! readings as a plain list, to show what the tagged frame costs.

mod common;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tally_protocol::{Codec, Limits, Reading, SensorFrame, TimestampMs};

/// Node clock used for validation; every reading is a little older.
const NOW: TimestampMs = 1_764_000_000_000;

/// A `Readings` frame of `items` readings, 100 ms apart, ending at [`NOW`].
fn frame(items: u64) -> SensorFrame {
    let items = (1..=items)
        .map(|seq| Reading {
            seq,
            ts: NOW - i64::try_from((items - seq) * 100).unwrap_or(0),
            count: i64::try_from(seq % 40).unwrap_or(0),
        })
        .collect();
    SensorFrame::Readings { items }
}

fn decode_sensor_frame(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("decode_sensor_frame");
    for items in [1u64, 50, 500] {
        let frame = frame(items);
        group.throughput(Throughput::Elements(items));
        for (name, codec) in [("msgpack", Codec::MsgPack), ("json", Codec::Json)] {
            let bytes = codec.encode(&frame);
            assert_eq!(
                codec.decode_sensor_frame(&bytes, &limits, NOW).unwrap(),
                frame
            );
            group.bench_with_input(BenchmarkId::new(name, items), &bytes, |b, bytes| {
                b.iter(|| codec.decode_sensor_frame(black_box(bytes), &limits, NOW));
            });
        }
    }
    group.finish();
}

/// Reference point: the same 50 readings as a bare `Vec<Reading>`, without the internally tagged
/// `SensorFrame` around them (serde buffers an internally tagged enum's content before decoding
/// it) and without validation. The gap to `decode_sensor_frame/*/50` is the frame's overhead.
fn decode_bare_readings(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("decode_bare_readings");
    let SensorFrame::Readings { items } = frame(50) else {
        unreachable!("frame() builds readings")
    };
    group.throughput(Throughput::Elements(50));
    for (name, codec) in [("msgpack", Codec::MsgPack), ("json", Codec::Json)] {
        let bytes = codec.encode(&items);
        group.bench_with_input(BenchmarkId::new(name, 50), &bytes, |b, bytes| {
            b.iter(|| codec.decode::<Vec<Reading>>(black_box(bytes), &limits));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = decode_sensor_frame, decode_bare_readings
}
criterion_main!(benches);
