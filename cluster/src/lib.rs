//! Placement and routing: which node and actor serve a `(tenant, office)`, and the assembly of
//! a node (store, actors, router).
//!
//! The gateway talks to [`RoomHandle`]s and [`OfficeHandle`]s from a [`Router`], never to actors.
//! For now the router is local ([`LocalRouter`]); the inter-node [`Transport`] (on
//! ractor_cluster) already gives handles on rooms and offices of other nodes behind the same
//! API, and multi-node placement (rendezvous hashing over the active members in Redis, fenced
//! leases) will route to it.

mod coordination;
mod handle;
pub mod lease;
mod local;
pub mod membership;
mod node;
pub mod placement;
mod retired;
mod router;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transport;

pub use coordination::{CoordinationConfig, CoordinationError, RedisUrl, telemetry};
pub use handle::{DisplayStream, OfficeHandle, PendingAck, RoomHandle, TenantStream};
pub use local::LocalRouter;
pub use node::{
    Node, NodeError, actor_settings, describe_metrics, open_store, postgres_config,
    retention_defaults, scylla_config,
};
pub use router::{Router, SharedRouter};
pub use tally_actors::{RetentionSweeper, StorageHealth, StorageStatus};
pub use transport::{
    PROTOCOL_VERSION, Peer, Transport, TransportError, TransportSettings,
    telemetry as transport_telemetry,
};
