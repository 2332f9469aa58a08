//! Time-weighted rollup math: a room's count is a step function of sensor time; each closed
//! bucket gets its average, peak, occupied time and sample count.

use tally_protocol::TimestampMs;
use tally_storage::{Resolution, Rollup, RollupAccumulator};

/// Most buckets closed by one reading. A sensor silent for longer than this many buckets does
/// not make the room write one rollup per empty minute of the gap: the accumulator jumps ahead.
pub(crate) const MAX_BUCKETS_PER_ADVANCE: usize = 1_440;

/// What [`advance`] did with a new room count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Advance {
    /// The count was integrated; these buckets closed on the way.
    Applied(Vec<Rollup>),
    /// The timestamp is before the integrated part of the open bucket: the reading is stored
    /// raw and counts live, but the closed rollups are not corrected (a later issue).
    Late,
}

/// Moves the minute accumulator of a room to `ts`, where the room count becomes `count`.
pub(crate) fn advance(acc: &mut Option<RollupAccumulator>, ts: TimestampMs, count: u32) -> Advance {
    let resolution = Resolution::Minute;
    let Some(open) = acc else {
        *acc = Some(RollupAccumulator {
            bucket_start: resolution.bucket_start(ts),
            integrated_to: ts,
            count,
            peak: count,
            samples: 1,
            ..RollupAccumulator::default()
        });
        return Advance::Applied(Vec::new());
    };
    if ts < open.integrated_to {
        return Advance::Late;
    }
    let width = resolution.width_ms();
    let mut closed = Vec::new();
    while ts >= open.bucket_start + width {
        if closed.len() == MAX_BUCKETS_PER_ADVANCE {
            // Skip the rest of the gap: start the bucket that contains `ts` afresh.
            let carried = open.count;
            *open = RollupAccumulator {
                bucket_start: resolution.bucket_start(ts),
                integrated_to: resolution.bucket_start(ts),
                count: carried,
                peak: carried,
                ..RollupAccumulator::default()
            };
            break;
        }
        let bucket_end = open.bucket_start + width;
        integrate(open, bucket_end);
        closed.push(close(open, resolution));
        let carried = open.count;
        *open = RollupAccumulator {
            bucket_start: bucket_end,
            integrated_to: bucket_end,
            count: carried,
            peak: carried,
            ..RollupAccumulator::default()
        };
    }
    integrate(open, ts);
    open.count = count;
    open.peak = open.peak.max(count);
    open.samples += 1;
    Advance::Applied(closed)
}

/// Adds the current count held from `integrated_to` until `to`.
fn integrate(open: &mut RollupAccumulator, to: TimestampMs) {
    let span = u64::try_from(to - open.integrated_to).unwrap_or(0);
    open.covered_ms += span;
    open.count_ms += span * u64::from(open.count);
    if open.count > 0 {
        open.occupied_ms += span;
    }
    open.integrated_to = to;
}

/// The rollup of a fully integrated bucket.
fn close(open: &RollupAccumulator, resolution: Resolution) -> Rollup {
    let avg = if open.covered_ms == 0 {
        f64::from(open.count)
    } else {
        open.count_ms as f64 / open.covered_ms as f64
    };
    Rollup {
        resolution,
        bucket_start: open.bucket_start,
        avg,
        peak: open.peak,
        occupied_s: open.occupied_ms as f64 / 1000.0,
        samples: open.samples,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const T0: TimestampMs = 1_764_000_000_000; // a minute boundary

    fn applied(a: Advance) -> Vec<Rollup> {
        match a {
            Advance::Applied(r) => r,
            Advance::Late => panic!("unexpected late"),
        }
    }

    #[test]
    fn time_weighted_average_and_peak() {
        assert_eq!(T0 % 60_000, 0);
        let mut acc = None;
        assert!(applied(advance(&mut acc, T0, 10)).is_empty());
        assert!(applied(advance(&mut acc, T0 + 30_000, 0)).is_empty());
        let closed = applied(advance(&mut acc, T0 + 60_000, 4));
        assert_eq!(closed.len(), 1);
        let minute = closed[0];
        assert_eq!(minute.bucket_start, T0);
        assert!((minute.avg - 5.0).abs() < 1e-9, "{}", minute.avg);
        assert_eq!(minute.peak, 10);
        assert!((minute.occupied_s - 30.0).abs() < 1e-9);
        assert_eq!(minute.samples, 2);
    }

    #[test]
    fn first_bucket_averages_only_the_covered_part() {
        let mut acc = None;
        advance(&mut acc, T0 + 45_000, 8);
        let closed = applied(advance(&mut acc, T0 + 61_000, 8));
        assert!((closed[0].avg - 8.0).abs() < 1e-9);
    }

    #[test]
    fn gaps_carry_the_count_through_empty_minutes() {
        let mut acc = None;
        advance(&mut acc, T0, 3);
        let closed = applied(advance(&mut acc, T0 + 3 * 60_000 + 1, 0));
        assert_eq!(closed.len(), 3);
        assert!(
            closed
                .iter()
                .all(|r| (r.avg - 3.0).abs() < 1e-9 && r.peak == 3)
        );
        assert_eq!(closed[1].samples, 0);
    }

    #[test]
    fn huge_gap_is_bounded() {
        let mut acc = None;
        advance(&mut acc, T0, 1);
        let closed = applied(advance(&mut acc, T0 + 30 * 86_400_000, 2));
        assert_eq!(closed.len(), MAX_BUCKETS_PER_ADVANCE);
        assert_eq!(
            acc.unwrap().bucket_start,
            Resolution::Minute.bucket_start(T0 + 30 * 86_400_000)
        );
    }

    #[test]
    fn late_reading_is_reported() {
        let mut acc = None;
        advance(&mut acc, T0 + 10_000, 1);
        assert_eq!(advance(&mut acc, T0 + 5_000, 2), Advance::Late);
    }

    proptest! {
        #[test]
        fn averages_stay_within_min_and_max(steps in proptest::collection::vec((1i64..200_000, 0u32..50), 1..60)) {
            let mut acc = None;
            let mut ts = T0;
            let mut counts = vec![];
            for (dt, count) in steps {
                ts += dt;
                counts.push(count);
                for rollup in applied(advance(&mut acc, ts, count)) {
                    prop_assert!(rollup.avg >= 0.0);
                    prop_assert!(rollup.avg <= f64::from(*counts.iter().max().unwrap()) + 1e-9);
                    prop_assert!(rollup.occupied_s <= 60.0 + 1e-9);
                    prop_assert!(f64::from(rollup.peak) + 1e-9 >= rollup.avg);
                }
            }
        }
    }
}
