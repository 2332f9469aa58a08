//! Placement and routing: which node and actor serve a `(tenant, office)`, and the assembly of
//! a node (store, actors, router).
//!
//! The gateway talks to [`RoomHandle`]s and [`OfficeHandle`]s from a [`Router`], never to actors.
//! For now a node is alone ([`LocalRouter`], local handles); multi-node placement (rendezvous
//! hashing over the active members in Redis, fenced leases, forwarding through ractor_cluster)
//! will implement the same trait and add remote targets behind the same handles.

mod handle;
mod local;
mod node;
mod router;

pub use handle::{DisplayStream, OfficeHandle, PendingAck, RoomHandle, TenantStream};
pub use local::LocalRouter;
pub use node::{Node, NodeError, actor_settings, open_store, postgres_config};
pub use router::{Router, SharedRouter};
pub use tally_actors::{StorageHealth, StorageStatus};
