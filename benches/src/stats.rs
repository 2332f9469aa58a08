//! Latency histograms and error counters. Every connection task fills its own and the run merges
//! them at the end, so nothing is shared while the load runs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest value a histogram tracks: one hour in microseconds. Larger values count as this.
const HIGHEST: u64 = 3_600_000_000;

/// A latency histogram (hdrhistogram, 3 significant digits, 1..=[`HIGHEST`]) in one unit.
#[derive(Debug, Clone)]
pub(crate) struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram.
    pub(crate) fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, HIGHEST, 3).expect("valid bounds and precision");
        Self { hist }
    }

    /// Records one value; negative values (clock skew) count as 0, values over [`HIGHEST`] as
    /// [`HIGHEST`].
    pub(crate) fn record(&mut self, value: i64) {
        self.hist
            .saturating_record(u64::try_from(value).unwrap_or(0));
    }

    /// Adds another histogram's values.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.hist
            .add(&other.hist)
            .expect("histograms with the same bounds always add");
    }

    /// Count, mean, p50, p99 and max, with every value divided by `per_unit`
    /// (1000 to report microseconds as milliseconds).
    pub(crate) fn summary(&self, per_unit: f64) -> LatencySummary {
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        let at = |q: f64| self.hist.value_at_quantile(q) as f64 / per_unit;
        LatencySummary {
            count: self.hist.len(),
            mean: self.hist.mean() / per_unit,
            p50: at(0.50),
            p99: at(0.99),
            max: self.hist.max() as f64 / per_unit,
        }
    }
}

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

/// A failure: a stable code for counting and, when the node said more, its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Stable code (`close_4503`, `connect_failed`, an API error code, …).
    pub(crate) code: String,
    /// The node's message or close reason, if any.
    pub(crate) detail: Option<String>,
}

impl Failure {
    /// A failure with a code only.
    pub(crate) fn new(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            detail: None,
        }
    }

    /// A failure with the node's explanation.
    pub(crate) fn with_detail(code: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail: String = detail.into();
        Self {
            code: code.into(),
            detail: (!detail.is_empty()).then_some(detail),
        }
    }
}

/// How often one error code occurred, with the first explanation seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    /// Occurrences.
    pub count: u64,
    /// The first message or close reason the node gave with this code.
    pub example: Option<String>,
}

/// Errors counted by code (`close_4503`, `connect_failed`, `malformed_frame`, …).
#[derive(Debug, Clone, Default)]
pub(crate) struct Errors {
    by_code: BTreeMap<String, ErrorCount>,
}

impl Errors {
    /// Counts a failure.
    pub(crate) fn record(&mut self, failure: Failure) {
        let entry = self.by_code.entry(failure.code).or_default();
        entry.count += 1;
        if entry.example.is_none() {
            entry.example = failure.detail;
        }
    }

    /// Counts an error that has only a code.
    pub(crate) fn add(&mut self, code: impl Into<String>) {
        self.record(Failure::new(code));
    }

    /// Adds another counter's errors.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (code, theirs) in &other.by_code {
            let entry = self.by_code.entry(code.clone()).or_default();
            entry.count += theirs.count;
            if entry.example.is_none() {
                entry.example.clone_from(&theirs.example);
            }
        }
    }

    /// The counts, by code.
    pub(crate) fn into_map(self) -> BTreeMap<String, ErrorCount> {
        self.by_code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_scales_and_merges() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for v in 1..=99 {
            a.record(v * 1000);
        }
        b.record(1_000_000);
        b.record(-5);
        a.merge(&b);
        let s = a.summary(1000.0);
        assert_eq!(s.count, 101);
        assert!((s.p50 - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.max - 1000.0).abs() < 1.0, "{s:?}");
        assert_eq!(Latency::new().summary(1.0), LatencySummary::default());
    }

    #[test]
    fn errors_merge_by_code_and_keep_the_first_example() {
        let mut a = Errors::default();
        a.add("rate_limited");
        let mut b = Errors::default();
        b.record(Failure::with_detail("rate_limited", "slow down"));
        b.record(Failure::with_detail(
            "close_4503",
            "room r-1 did not answer",
        ));
        b.record(Failure::with_detail("close_4503", "another reason"));
        a.merge(&b);
        let map = a.into_map();
        assert_eq!(map["rate_limited"].count, 2);
        assert_eq!(map["rate_limited"].example.as_deref(), Some("slow down"));
        assert_eq!(map["close_4503"].count, 2);
        assert_eq!(
            map["close_4503"].example.as_deref(),
            Some("room r-1 did not answer")
        );
    }
}
