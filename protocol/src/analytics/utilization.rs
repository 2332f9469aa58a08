//! The figures of a bucket as a facility team reads them: counts, utilization against the
//! room's capacity and time above the target utilization.

use serde::Serialize;

use crate::TimestampMs;
use crate::analytics::BucketStats;

/// What a room (or an office or tenant, with the sum of its rooms' capacities) is meant for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// People the space is meant for; 0 means unset, and every utilization is then undefined.
    pub seats: u32,
    /// Target utilization, 0 to 1: time with a count above `seats × target` is over target.
    pub target: f64,
}

/// The figures of one bucket. Counts are time-weighted over the covered time; utilization is
/// count ÷ capacity, `None` when the capacity is unset (0) or nothing was covered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utilization {
    /// Bucket start (ms since the epoch).
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub start: TimestampMs,
    /// Bucket end, exclusive.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub end: TimestampMs,
    /// Time-weighted mean count.
    pub mean: Option<f64>,
    /// Time-weighted lower median count.
    pub median: Option<u32>,
    /// Highest count held.
    pub peak: Option<u32>,
    /// Lowest count held.
    pub min: Option<u32>,
    /// Mean count over the time with at least one person ("average when used").
    pub mean_when_occupied: Option<f64>,
    /// Seconds with at least one person.
    pub occupied_s: f64,
    /// Share of the covered time with at least one person ("% of time used").
    pub occupied_share: Option<f64>,
    /// Mean count ÷ capacity.
    pub utilization: Option<f64>,
    /// Peak count ÷ capacity.
    pub peak_utilization: Option<f64>,
    /// Seconds with a count above capacity × target.
    pub above_target_s: Option<f64>,
    /// Readings in the bucket.
    pub samples: u32,
    /// Seconds with a live sensor.
    pub coverage_s: f64,
    /// Share of the bucket's span with a live sensor, 0 to 1.
    pub coverage: f64,
}

impl Utilization {
    /// The figures of `stats` against `capacity`.
    pub fn of(stats: &BucketStats, capacity: Capacity) -> Self {
        let seats = (capacity.seats > 0).then_some(f64::from(capacity.seats));
        let covered_ms = stats.covered_ms();
        let occupied_ms = stats.occupied_ms();
        let mean = stats.mean();
        let peak = stats.peak();
        Self {
            start: stats.start,
            end: stats.end,
            mean,
            median: stats.median(),
            peak,
            min: stats.min(),
            mean_when_occupied: (occupied_ms > 0)
                .then(|| mean.unwrap_or(0.0) * covered_ms as f64 / occupied_ms as f64),
            occupied_s: seconds(occupied_ms),
            occupied_share: (covered_ms > 0).then(|| occupied_ms as f64 / covered_ms as f64),
            utilization: seats.zip(mean).map(|(s, m)| m / s),
            peak_utilization: seats.zip(peak).map(|(s, p)| f64::from(p) / s),
            above_target_s: seats.map(|s| seconds(stats.ms_over(s * capacity.target))),
            samples: stats.samples,
            coverage_s: seconds(covered_ms),
            coverage: stats.coverage(),
        }
    }
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the README: a 10-seat room over one hour.
    fn hour() -> BucketStats {
        let mut b = BucketStats::empty(0, 3_600_000);
        b.hold(0, 1_200_000); // 20 min empty
        b.hold(4, 1_800_000); // 30 min with 4
        b.hold(9, 300_000); //  5 min with 9
        b.samples = 3; //       the last 5 min the sensor was silent
        b
    }

    #[test]
    fn worked_example() {
        let u = Utilization::of(
            &hour(),
            Capacity {
                seats: 10,
                target: 0.8,
            },
        );
        // mean = (4 × 30 + 9 × 5) / 55 = 3
        assert!((u.mean.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!((u.median, u.peak, u.min), (Some(4), Some(9), Some(0)));
        assert!((u.mean_when_occupied.unwrap() - 165.0 / 35.0).abs() < 1e-12);
        assert_eq!(u.occupied_s, 2_100.0);
        assert!((u.occupied_share.unwrap() - 35.0 / 55.0).abs() < 1e-12);
        assert!((u.utilization.unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(u.peak_utilization, Some(0.9));
        assert_eq!(u.above_target_s, Some(300.0)); // 9 > 8
        assert_eq!((u.coverage_s, u.samples), (3_300.0, 3));
        assert!((u.coverage - 55.0 / 60.0).abs() < 1e-12);
    }

    #[test]
    fn capacity_unset_leaves_utilization_undefined() {
        let u = Utilization::of(
            &hour(),
            Capacity {
                seats: 0,
                target: 0.8,
            },
        );
        assert_eq!(
            (u.utilization, u.peak_utilization, u.above_target_s),
            (None, None, None)
        );
        assert!(u.mean.is_some());
    }

    #[test]
    fn nothing_covered_leaves_counts_undefined() {
        let u = Utilization::of(
            &BucketStats::empty(0, 60_000),
            Capacity {
                seats: 4,
                target: 0.5,
            },
        );
        assert_eq!(
            (
                u.mean,
                u.utilization,
                u.occupied_share,
                u.mean_when_occupied
            ),
            (None, None, None, None)
        );
        assert_eq!((u.above_target_s, u.coverage), (Some(0.0), 0.0));
    }
}
