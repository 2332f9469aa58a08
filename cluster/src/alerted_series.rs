//! The series the shipped alert rules and dashboard read (`gateway/ops/`), created at zero when
//! a node starts: a counter that appears only at its first failure would leave the rule on it
//! without data until then, and `rate()` would miss that first failure.

use tally_actors::telemetry as actors;

use crate::cluster_router::telemetry as router;
use crate::coordination::telemetry as coordination;

/// Creates the alerted series at zero (a node's counters and gauges start there anyway); the
/// cluster's only when `cluster` is set, so a single node does not show cluster series.
pub(crate) fn register_alerted_series(cluster: bool) {
    metrics::counter!(actors::PERSIST_FAILURES).increment(0);
    metrics::gauge!(actors::TENANTS_QUARANTINED).increment(0.0);
    if !cluster {
        return;
    }
    for reason in ["not_held", "redis"] {
        metrics::counter!(coordination::LEASE_RENEW_FAILURES, "reason" => reason).increment(0);
    }
    for reason in ["rebalance", "drain", "shutdown"] {
        metrics::counter!(router::HANDOFFS, "reason" => reason).increment(0);
    }
}
