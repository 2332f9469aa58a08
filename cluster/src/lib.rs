//! Placement and routing: which node and actor serve a `(tenant, office)`, and the assembly of
//! a node (store, actors, router).
//!
//! The gateway talks to [`RoomHandle`]s and [`OfficeHandle`]s from a [`Router`], never to actors.
//! A single node routes to its own actors ([`LocalRouter`]); a cluster node routes with the
//! [`ClusterRouter`]: placement (rendezvous hashing over the active members in Redis) names
//! each office's owner, the owner activates it under a fenced claim (Redis lease, then the
//! store's owner token), and every other node reaches it through the inter-node [`Transport`]
//! (on ractor_cluster) behind the same handles.

mod alerted_series;
mod cluster_node;
pub mod cluster_router;
mod coordination;
mod handle;
pub mod lease;
mod local;
pub mod membership;
mod node;
pub mod ownership;
pub mod placement;
mod retired;
mod router;
#[cfg(feature = "testkit")]
pub mod testkit;
mod trace_context;
mod transport;

pub use cluster_node::{ClusterNode, NodeClusterStatus};
pub use cluster_router::ClusterRouter;
pub use coordination::{CoordinationConfig, CoordinationError, RedisUrl, telemetry};
pub use handle::{DisplayStream, OfficeHandle, PendingAck, RoomHandle, TenantStream};
pub use local::LocalRouter;
pub use node::{
    Node, NodeError, actor_settings, describe_metrics, open_store, postgres_config,
    retention_defaults, scylla_config,
};
pub use router::{Router, SharedRouter};
pub use tally_actors::{RetentionSweeper, StorageHealth, StorageStatus, tenant_label};
pub use trace_context::{TRACEPARENT, TRACESTATE, TraceContext};
pub use transport::{
    PROTOCOL_VERSION, Peer, ServedOffices, Transport, TransportError, TransportSettings,
    TransportTls, telemetry as transport_telemetry,
};
