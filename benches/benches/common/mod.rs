//! Settings shared by the criterion benchmarks: quick enough for 2 shared cores.

use std::time::Duration;

use criterion::Criterion;

/// 20 samples over 3 s after a 1 s warm-up.
pub(crate) fn quick() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
