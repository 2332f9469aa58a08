//! Metric names of the cluster router, defined once with their unit and labels.

/// Counter: offices this node activated under a claim (lease, then store token).
pub const ACTIVATIONS: &str = "tally_cluster_activations_total";
/// Counter: offices this node handed off (label `reason`: rebalance, drain, shutdown).
pub const HANDOFFS: &str = "tally_cluster_handoffs_total";
/// Counter: held offices this node forgot because they stopped by themselves (label `reason`:
/// passivated, fenced, failed, lease_taken).
pub const OFFICES_DROPPED: &str = "tally_cluster_offices_dropped_total";
/// Gauge: offices this node holds (claimed and active) now.
pub const OFFICES_HELD: &str = "tally_cluster_offices_held";
/// Counter: requests for an office refused because another node owns it or holds its lease
/// (label `reason`: not_owner, lease_held, redis).
pub const CLAIMS_REFUSED: &str = "tally_cluster_claims_refused_total";

/// Gives every metric above its Prometheus HELP text (from the comments above); call once
/// the recorder is installed.
pub fn describe() {
    metrics::describe_counter!(
        ACTIVATIONS,
        "Offices this node activated under a claim (lease, then store token)."
    );
    metrics::describe_counter!(
        HANDOFFS,
        "Offices this node handed off (label reason: rebalance, drain, shutdown)."
    );
    metrics::describe_counter!(
        OFFICES_DROPPED,
        "Held offices this node forgot because they stopped by themselves (label reason: passivated, fenced, failed, lease_taken)."
    );
    metrics::describe_gauge!(
        OFFICES_HELD,
        "Offices this node holds (claimed and active) now."
    );
    metrics::describe_counter!(
        CLAIMS_REFUSED,
        "Requests for an office refused because another node owns it or holds its lease (label reason: not_owner, lease_held, redis)."
    );
}
