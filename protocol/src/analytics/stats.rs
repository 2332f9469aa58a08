//! The statistics of one bucket: how long each count was held. Every figure (mean, median,
//! peak, minimum, occupied time, time above a target, coverage) derives from that, and two
//! buckets merge by adding, so a coarse bucket rolled up from fine ones equals one computed
//! from the raw readings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::TimestampMs;

/// One bucket `[start, end)` of a room, office or tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketStats {
    /// Bucket start.
    pub start: TimestampMs,
    /// Bucket end (exclusive): days in an office time zone last 23, 24 or 25 hours.
    pub end: TimestampMs,
    /// Milliseconds the bucket stands for: `end - start`, or less when a filter such as working
    /// hours kept only part of it. Coverage is measured against it.
    pub span_ms: u64,
    /// Readings in the bucket.
    pub samples: u32,
    /// Milliseconds each count was held while a sensor was live (count → ms).
    pub ms_by_count: BTreeMap<u32, u64>,
}

impl BucketStats {
    /// A bucket with nothing observed yet.
    pub fn empty(start: TimestampMs, end: TimestampMs) -> Self {
        Self {
            start,
            end,
            span_ms: u64::try_from(end - start).unwrap_or(0),
            ..Self::default()
        }
    }

    /// Records that `count` was held for `ms` milliseconds.
    pub fn hold(&mut self, count: u32, ms: u64) {
        if ms > 0 {
            *self.ms_by_count.entry(count).or_default() += ms;
        }
    }

    /// Adds another bucket's observations (a finer bucket inside this one, or one more bucket
    /// of a filtered range); the bounds grow to cover both.
    pub fn merge(&mut self, other: &BucketStats) {
        self.start = self.start.min(other.start);
        self.end = self.end.max(other.end);
        self.span_ms += other.span_ms;
        self.absorb(other);
    }

    /// Adds another bucket's readings and holds, keeping this bucket's bounds and span: a
    /// finer bucket inside this one, where the finer buckets without anything observed were
    /// never kept (a room's stored rollups).
    pub fn absorb(&mut self, other: &BucketStats) {
        self.samples += other.samples;
        for (count, ms) in &other.ms_by_count {
            *self.ms_by_count.entry(*count).or_default() += ms;
        }
    }

    /// Whether nothing was observed: no reading and no live sensor.
    pub fn is_empty(&self) -> bool {
        self.samples == 0 && self.ms_by_count.is_empty()
    }

    /// Milliseconds with a live sensor.
    pub fn covered_ms(&self) -> u64 {
        self.ms_by_count.values().sum()
    }

    /// Share of the span with a live sensor, 0 to 1 (0 for an empty span).
    pub fn coverage(&self) -> f64 {
        if self.span_ms == 0 {
            0.0
        } else {
            self.covered_ms() as f64 / self.span_ms as f64
        }
    }

    /// Time-weighted mean count over the covered time; `None` if nothing was covered.
    pub fn mean(&self) -> Option<f64> {
        let covered = self.covered_ms();
        let count_ms: u128 = self
            .ms_by_count
            .iter()
            .map(|(count, ms)| u128::from(*count) * u128::from(*ms))
            .sum();
        (covered > 0).then(|| count_ms as f64 / covered as f64)
    }

    /// Time-weighted (lower) median: the smallest count `c` such that the count was at most `c`
    /// for at least half the covered time.
    pub fn median(&self) -> Option<u32> {
        let covered = self.covered_ms();
        let mut below = 0u64;
        self.ms_by_count.iter().find_map(|(count, ms)| {
            below += ms;
            (below * 2 >= covered).then_some(*count)
        })
    }

    /// Highest count held for any time.
    pub fn peak(&self) -> Option<u32> {
        self.ms_by_count.keys().next_back().copied()
    }

    /// Lowest count held for any time.
    pub fn min(&self) -> Option<u32> {
        self.ms_by_count.keys().next().copied()
    }

    /// Milliseconds with at least one person.
    pub fn occupied_ms(&self) -> u64 {
        self.ms_over(0.0)
    }

    /// Milliseconds with a count strictly above `threshold`.
    pub fn ms_over(&self, threshold: f64) -> u64 {
        self.ms_by_count
            .iter()
            .filter(|(count, _)| f64::from(**count) > threshold)
            .map(|(_, ms)| ms)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(holds: &[(u32, u64)]) -> BucketStats {
        let mut b = BucketStats::empty(0, 60_000);
        for (count, ms) in holds {
            b.hold(*count, *ms);
        }
        b
    }

    #[test]
    fn figures_of_a_bucket() {
        // 10 s empty, 20 s with 2, 20 s with 6; the last 10 s silent.
        let b = bucket(&[(0, 10_000), (2, 20_000), (6, 20_000)]);
        assert_eq!(b.covered_ms(), 50_000);
        assert!((b.coverage() - 50.0 / 60.0).abs() < 1e-12);
        assert!((b.mean().unwrap() - 160.0 / 50.0).abs() < 1e-12);
        assert_eq!(b.median(), Some(2)); // ≤ 2 for 30 of 50 s
        assert_eq!(b.peak(), Some(6));
        assert_eq!(b.min(), Some(0));
        assert_eq!(b.occupied_ms(), 40_000);
        assert_eq!(b.ms_over(4.0), 20_000);
        assert_eq!(b.ms_over(6.0), 0, "above means strictly above");
    }

    #[test]
    fn median_at_exactly_half_takes_the_lower_count() {
        assert_eq!(bucket(&[(1, 30_000), (5, 30_000)]).median(), Some(1));
        assert_eq!(bucket(&[(1, 29_999), (5, 30_001)]).median(), Some(5));
    }

    #[test]
    fn an_uncovered_bucket_has_no_figures() {
        let b = bucket(&[]);
        assert_eq!(
            (b.mean(), b.median(), b.peak(), b.min()),
            (None, None, None, None)
        );
        assert_eq!(b.coverage(), 0.0);
    }

    #[test]
    fn merge_adds_spans_samples_and_holds() {
        let mut a = bucket(&[(1, 1_000)]);
        a.samples = 2;
        let mut b = BucketStats::empty(60_000, 120_000);
        b.hold(1, 500);
        b.hold(3, 500);
        b.samples = 1;
        a.merge(&b);
        assert_eq!(
            (a.start, a.end, a.span_ms, a.samples),
            (0, 120_000, 120_000, 3)
        );
        assert_eq!(a.ms_by_count, BTreeMap::from([(1, 1_500), (3, 500)]));
    }
}
