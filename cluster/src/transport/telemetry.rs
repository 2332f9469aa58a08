//! Metric names of the inter-node transport, defined once with their unit and labels.

/// Counter: readings forwarded to their office's owner through a remote room handle.
pub const FORWARDED_READINGS: &str = "tally_cluster_forwarded_readings_total";
/// Counter: display frames an office's owner relayed to an interested peer.
pub const RELAYED_FRAMES: &str = "tally_cluster_relayed_frames_total";
/// Counter: links to peers that came up (hello answered with our protocol version).
pub const PEER_UP: &str = "tally_cluster_peer_up_total";
/// Counter: links to peers that went down (label `reason`: heartbeat, disconnected, shutdown).
pub const PEER_DOWN: &str = "tally_cluster_peer_down_total";
/// Gauge: peers linked now.
pub const PEERS_LINKED: &str = "tally_cluster_peers_linked";
/// Counter: calls to a peer that got no answer within the call timeout.
pub const CALL_TIMEOUTS: &str = "tally_cluster_call_timeouts_total";
/// Counter: peers refused (label `reason`: protocol_version, wrong_node, tls).
pub const PEER_REFUSED: &str = "tally_cluster_peer_refused_total";
/// Counter: calls and casts to a peer refused because too many bytes sent to it were not yet
/// confirmed by its heartbeat (label `kind`: call, cast).
pub const BACKLOG_REFUSED: &str = "tally_cluster_peer_backlog_refused_total";

/// Gives every metric above its Prometheus HELP text (from the comments above); call once
/// the recorder is installed.
pub fn describe() {
    metrics::describe_counter!(
        FORWARDED_READINGS,
        "Readings forwarded to their office's owner through a remote room handle."
    );
    metrics::describe_counter!(
        RELAYED_FRAMES,
        "Display frames an office's owner relayed to an interested peer."
    );
    metrics::describe_counter!(
        PEER_UP,
        "Links to peers that came up (hello answered with our protocol version)."
    );
    metrics::describe_counter!(
        PEER_DOWN,
        "Links to peers that went down (label reason: heartbeat, disconnected, shutdown)."
    );
    metrics::describe_gauge!(PEERS_LINKED, "Peers linked now.");
    metrics::describe_counter!(
        CALL_TIMEOUTS,
        "Calls to a peer that got no answer within the call timeout."
    );
    metrics::describe_counter!(
        PEER_REFUSED,
        "Peers refused (label reason: protocol_version, wrong_node, tls)."
    );
    metrics::describe_counter!(
        BACKLOG_REFUSED,
        "Calls and casts to a peer refused because too many bytes sent to it were not yet confirmed by its heartbeat (label kind: call, cast)."
    );
}
