//! Metric names of the actor system, defined once with their unit and labels.

/// Counter: readings applied (label `tenant`).
pub const READINGS_APPLIED: &str = "tally_readings_applied_total";
/// Counter: readings dropped because their seq was already applied (label `tenant`).
pub const READINGS_DUPLICATE: &str = "tally_readings_duplicate_total";
/// Counter: readings older than `rollup.lateness` behind a room's rolled-up part; stored raw,
/// the closed rollups older than the lateness not corrected (label `tenant`).
pub const READINGS_LATE: &str = "tally_readings_late_total";
/// Counter: late readings within `rollup.lateness` whose closed rollups were corrected (label `tenant`).
pub const READINGS_CORRECTED: &str = "tally_readings_corrected_total";
/// Counter: group commits written.
pub const PERSIST_BATCHES: &str = "tally_persist_batches_total";
/// Histogram: rows (readings + states + rollups) per group commit.
pub const PERSIST_BATCH_ROWS: &str = "tally_persist_batch_rows";
/// Histogram: seconds one group commit took to become durable.
pub const PERSIST_SECONDS: &str = "tally_persist_seconds";
/// Counter: group commits that failed (nothing acknowledged).
pub const PERSIST_FAILURES: &str = "tally_persist_failures_total";
/// Counter: child actors restarted by their supervisor (label `kind`: room, office).
pub const ACTOR_RESTARTS: &str = "tally_actor_restarts_total";
/// Counter: child actors that failed (label `kind`: room, office, tenant).
pub const ACTOR_FAILURES: &str = "tally_actor_failures_total";
/// Counter: child actors restarted from storage after a failed write, outside restart intensity
/// (label `kind`: room).
pub const STORAGE_RESTARTS: &str = "tally_storage_restarts_total";
/// Gauge: 1 while the node's store takes writes, 0 while it is degraded or failed.
pub const STORAGE_HEALTHY: &str = "tally_storage_healthy";
/// Gauge: tenants quarantined on this node.
pub const TENANTS_QUARANTINED: &str = "tally_tenants_quarantined";
/// Counter: frames replaced by a fresh snapshot because their display had not taken the
/// previous one yet (it fell behind, or waits for its pong).
pub const DISPLAY_RESYNCS: &str = "tally_display_resyncs_total";
/// Counter: display frames published by offices (conflations not included).
pub const DISPLAY_FRAMES: &str = "tally_display_frames_total";
/// Gauge: display subscriptions held by this node's offices.
pub const DISPLAY_SUBSCRIPTIONS: &str = "tally_display_subscriptions";
/// Gauge: actors alive on this node (label `kind`: node, persister, tenant, office, room).
pub const ACTORS_LIVE: &str = "tally_actors_live";
/// Counter: retention sweeps run (label `outcome`: ok, error).
pub const RETENTION_SWEEPS: &str = "tally_retention_sweeps_total";
/// Counter: rows deleted by retention sweeps (label `kind`: readings, rollups).
pub const RETENTION_DELETED: &str = "tally_retention_deleted_total";
/// Counter: whole time partitions of raw readings dropped by retention sweeps (PostgreSQL).
pub const RETENTION_PARTITIONS_DROPPED: &str = "tally_retention_partitions_dropped_total";
/// Histogram: seconds one retention sweep took.
pub const RETENTION_SWEEP_SECONDS: &str = "tally_retention_sweep_seconds";
/// Room writes rejected because a newer owner of their office took over (a stale owner token).
pub const FENCED_WRITES: &str = "tally_fenced_writes_total";

/// Gives every metric above its Prometheus HELP text (from the comments above); call once
/// the recorder is installed.
pub fn describe() {
    metrics::describe_counter!(READINGS_APPLIED, "Readings applied (label tenant).");
    metrics::describe_counter!(
        READINGS_DUPLICATE,
        "Readings dropped because their seq was already applied (label tenant)."
    );
    metrics::describe_counter!(
        READINGS_LATE,
        "Readings older than rollup.lateness behind a room's rolled-up part; stored raw, older closed rollups not corrected (label tenant)."
    );
    metrics::describe_counter!(
        READINGS_CORRECTED,
        "Late readings within rollup.lateness; the closed rollups they change were recomputed at every resolution (label tenant)."
    );
    metrics::describe_counter!(PERSIST_BATCHES, "Group commits written.");
    metrics::describe_histogram!(
        PERSIST_BATCH_ROWS,
        "Rows (readings + states + rollups) per group commit."
    );
    metrics::describe_histogram!(
        PERSIST_SECONDS,
        "Seconds one group commit took to become durable."
    );
    metrics::describe_counter!(
        PERSIST_FAILURES,
        "Group commits that failed (nothing acknowledged)."
    );
    metrics::describe_counter!(
        ACTOR_RESTARTS,
        "Child actors restarted by their supervisor (label kind: room, office)."
    );
    metrics::describe_counter!(
        ACTOR_FAILURES,
        "Child actors that failed (label kind: room, office, tenant)."
    );
    metrics::describe_counter!(
        STORAGE_RESTARTS,
        "Child actors restarted from storage after a failed write, outside restart intensity (label kind: room)."
    );
    metrics::describe_gauge!(
        STORAGE_HEALTHY,
        "1 while the node's store takes writes, 0 while it is degraded or failed."
    );
    metrics::describe_gauge!(TENANTS_QUARANTINED, "Tenants quarantined on this node.");
    metrics::describe_counter!(
        DISPLAY_RESYNCS,
        "Frames replaced by a fresh snapshot because their display had not taken the previous one yet (it fell behind, or waits for its pong)."
    );
    metrics::describe_counter!(
        DISPLAY_FRAMES,
        "Display frames published by offices (conflations not included)."
    );
    metrics::describe_gauge!(
        DISPLAY_SUBSCRIPTIONS,
        "Display subscriptions held by this node's offices."
    );
    metrics::describe_gauge!(
        ACTORS_LIVE,
        "Actors alive on this node (label kind: node, persister, tenant, office, room)."
    );
    metrics::describe_counter!(
        RETENTION_SWEEPS,
        "Retention sweeps run (label outcome: ok, error)."
    );
    metrics::describe_counter!(
        RETENTION_DELETED,
        "Rows deleted by retention sweeps (label kind: readings, rollups)."
    );
    metrics::describe_counter!(
        RETENTION_PARTITIONS_DROPPED,
        "Whole time partitions of raw readings dropped by retention sweeps (PostgreSQL)."
    );
    metrics::describe_histogram!(RETENTION_SWEEP_SECONDS, "Seconds one retention sweep took.");
    metrics::describe_counter!(
        FENCED_WRITES,
        "Room writes refused because a newer owner of their office took over (a stale owner token)."
    );
}
