//! Metric names of membership and leases, defined once with their unit and labels.

/// Gauge: 1 while this node reaches Redis, 0 while it does not.
pub const REDIS_UP: &str = "tally_cluster_redis_up";
/// Counter: failed Redis operations (label `op`: heartbeat, read_view, subscribe, leave,
/// lease_acquire, lease_renew, lease_release).
pub const REDIS_ERRORS: &str = "tally_cluster_redis_errors_total";
/// Gauge: the membership epoch of this node's view.
pub const EPOCH: &str = "tally_cluster_epoch";
/// Gauge: members in this node's view (label `state`: joining, active, draining).
pub const MEMBERS: &str = "tally_cluster_members";
/// Counter: membership changes seen by this node (label `change`: joined, left, state).
pub const MEMBERSHIP_CHANGES: &str = "tally_cluster_membership_changes_total";
/// Counter: members removed by this node because their heartbeat expired.
pub const MEMBERS_EXPIRED: &str = "tally_cluster_members_expired_total";
/// Counter: times this node re-created its own member keys (Redis lost them, or this node
/// was expired while stalled).
pub const REREGISTRATIONS: &str = "tally_cluster_reregistrations_total";
/// Counter: office leases taken.
pub const LEASE_ACQUIRED: &str = "tally_cluster_lease_acquired_total";
/// Counter: office lease attempts that failed (label `reason`: held, redis).
pub const LEASE_ACQUIRE_FAILURES: &str = "tally_cluster_lease_acquire_failures_total";
/// Counter: lease renewals that failed (label `reason`: not_held, redis).
pub const LEASE_RENEW_FAILURES: &str = "tally_cluster_lease_renew_failures_total";
/// Counter: leases lost while held (label `reason`: not_held, expired).
pub const LEASES_LOST: &str = "tally_cluster_leases_lost_total";

/// Gives every metric above its Prometheus HELP text (from the comments above); call once
/// the recorder is installed.
pub fn describe() {
    metrics::describe_gauge!(
        REDIS_UP,
        "1 while this node reaches Redis, 0 while it does not."
    );
    metrics::describe_counter!(
        REDIS_ERRORS,
        "Failed Redis operations (label op: heartbeat, read_view, subscribe, leave, lease_acquire, lease_renew, lease_release)."
    );
    metrics::describe_gauge!(EPOCH, "The membership epoch of this node's view.");
    metrics::describe_gauge!(
        MEMBERS,
        "Members in this node's view (label state: joining, active, draining)."
    );
    metrics::describe_counter!(
        MEMBERSHIP_CHANGES,
        "Membership changes seen by this node (label change: joined, left, state)."
    );
    metrics::describe_counter!(
        MEMBERS_EXPIRED,
        "Members removed by this node because their heartbeat expired."
    );
    metrics::describe_counter!(
        REREGISTRATIONS,
        "Times this node re-created its own member keys (Redis lost them, or this node was expired while stalled)."
    );
    metrics::describe_counter!(LEASE_ACQUIRED, "Office leases taken.");
    metrics::describe_counter!(
        LEASE_ACQUIRE_FAILURES,
        "Office lease attempts that failed (label reason: held, redis)."
    );
    metrics::describe_counter!(
        LEASE_RENEW_FAILURES,
        "Lease renewals that failed (label reason: not_held, redis)."
    );
    metrics::describe_counter!(
        LEASES_LOST,
        "Leases lost while held (label reason: not_held, expired)."
    );
}
