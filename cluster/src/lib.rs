//! Placement and routing: which node and actor serve a `(tenant, office)`, and the assembly of
//! a node (store, actors, router).
//!
//! The gateway talks to [`RoomHandle`]s and [`OfficeHandle`]s from a [`Router`], never to actors.
//! For now a node is alone ([`LocalRouter`], local handles); multi-node placement (rendezvous
//! hashing over the active members in Redis, fenced leases, forwarding through ractor_cluster)
//! will implement the same trait and add remote targets behind the same handles.

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

pub use coordination::{CoordinationConfig, CoordinationError, RedisUrl, telemetry};
pub use handle::{DisplayStream, OfficeHandle, PendingAck, RoomHandle};
pub use local::LocalRouter;
pub use node::{
    Node, NodeError, actor_settings, open_store, postgres_config, retention_defaults, scylla_config,
};
pub use router::{Router, SharedRouter};
pub use tally_actors::{RetentionSweeper, StorageHealth, StorageStatus};
