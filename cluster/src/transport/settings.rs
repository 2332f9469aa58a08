//! [`TransportSettings`] and [`Peer`]: what the inter-node transport is told.
//!
//! Both are plain values on purpose: the cluster configuration and the membership fill them in
//! (the peer list as a `tokio::sync::watch` of [`Peer`]s), and tests build them by hand.

use std::net::SocketAddr;
use std::time::Duration;

use crate::transport::TransportTls;
use crate::transport::wire::PROTOCOL_VERSION;

/// How a node's transport listens, authenticates and decides a peer is gone.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    /// This node's id: unique in the cluster, the name peers know it by.
    pub node_id: String,
    /// Where the node listens for peers (port 0 picks a free one; see
    /// [`crate::Transport::local_addr`]).
    pub listen: SocketAddr,
    /// Shared secret of the cluster (ractor_cluster's cookie challenge on every link).
    pub cookie: String,
    /// How often a link's peer is pinged.
    pub heartbeat_interval: Duration,
    /// A peer that has not answered a ping for this long is down: its pending calls fail with
    /// `unavailable` and its link is closed and dialed again.
    pub heartbeat_timeout: Duration,
    /// How long a forwarded request waits for the peer's answer.
    pub call_timeout: Duration,
    /// How long a new connection may take to authenticate and say hello.
    pub handshake_timeout: Duration,
    /// First pause before dialing a peer again; doubles up to `redial_max`.
    pub redial_min: Duration,
    /// Longest pause between two dials of a peer.
    pub redial_max: Duration,
    /// The inter-node protocol version this node speaks (a peer of another one is refused).
    /// Always [`PROTOCOL_VERSION`] outside tests.
    pub protocol_version: u32,
    /// Most bytes sent to a peer and not yet confirmed by its heartbeat; past it, calls and
    /// casts to that peer are refused with `unavailable` (a slow or paused peer must not make
    /// this node's memory grow).
    pub max_unconfirmed_bytes: u64,
    /// TLS on every link (both ways, certificates checked against the cluster's CA); `None`:
    /// plaintext TCP, authenticated by the cookie only.
    pub tls: Option<TransportTls>,
}

impl TransportSettings {
    /// Defaults for a node called `node_id` listening on `listen` with `cookie`: ping every
    /// 500 ms, down after 1.5 s of silence, calls wait 5 s, redial between 100 ms and 5 s, at
    /// most 64 MiB on the way to a peer.
    pub fn new(node_id: impl Into<String>, listen: SocketAddr, cookie: impl Into<String>) -> Self {
        Self {
            node_id: node_id.into(),
            listen,
            cookie: cookie.into(),
            heartbeat_interval: Duration::from_millis(500),
            heartbeat_timeout: Duration::from_millis(1500),
            call_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(2),
            redial_min: Duration::from_millis(100),
            redial_max: Duration::from_secs(5),
            protocol_version: PROTOCOL_VERSION,
            max_unconfirmed_bytes: 64 * 1024 * 1024,
            tls: None,
        }
    }
}

/// A peer node the transport links to: its id and cluster address.
///
/// Of two nodes that know each other, the one with the smaller id dials; the other accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The peer's node id.
    pub node_id: String,
    /// Its cluster (transport) address.
    pub addr: SocketAddr,
}
