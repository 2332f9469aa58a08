//! [`AnchorWanted`]: a cluster node's call for a tenant's anchor office, which must be active
//! somewhere for the tenant's rollups to advance (`office_rollups.rs`). On a single node the
//! tenant supervisor activates the anchor itself; a cluster node may activate only offices it
//! claimed, so it announces the call, and the cluster's router activates the anchor on the
//! node placement names its owner.

use tally_protocol::{OfficeId, TenantId};

use crate::announcements::Announcements;

/// An active office of `tenant` on this node is not its anchor, and the anchor `office` is
/// not active here: it should be activated where it is owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorWanted {
    /// The tenant.
    pub tenant: TenantId,
    /// Its anchor office.
    pub office: OfficeId,
}

/// Where tenant supervisors announce wanted anchor offices.
pub(crate) type AnchorsWanted = Announcements<AnchorWanted>;
