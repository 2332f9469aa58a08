//! Handles: what the gateway holds instead of actor refs. A handle serves one room or office
//! wherever its actor lives; today that is always this node, and a remote target (the owner
//! node's ingress, reached through ractor_cluster) will plug in behind the same methods.

mod office;
mod room;
mod tenant;

pub use office::{DisplayStream, OfficeHandle};
pub use room::{PendingAck, RoomHandle};
pub use tenant::TenantStream;
