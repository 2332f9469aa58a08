//! Placement and routing: which actor serves a `(tenant, office)`.
//!
//! For now a node is alone ([`LocalRouter`]); multi-node placement (rendezvous hashing over the
//! active members in Redis, leases, forwarding through ractor_cluster) will implement the same
//! [`Router`] trait, so the gateway does not change.

mod local;
mod router;

pub use local::LocalRouter;
pub use router::{Router, SharedRouter};
