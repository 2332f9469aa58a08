//! [`OfficeStopped`]: what a node tells about offices that stopped, so that whoever activated
//! them (the cluster's router, which holds their leases) can let them go.

use tally_protocol::{OfficeId, TenantId};

use crate::announcements::Announcements;

/// An office of this node stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeStopped {
    /// Its tenant.
    pub tenant: TenantId,
    /// The office.
    pub office: OfficeId,
    /// The owner token of the activation that stopped.
    pub owner_token: u64,
    /// Why it stopped.
    pub reason: OfficeStopReason,
}

/// Why an office stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeStopReason {
    /// It was passivated (handed off, drained) or stopped with its tenant or node.
    Passivated,
    /// A write of it was rejected because a newer owner took the office over (a higher owner
    /// token in the store): it moved to another node.
    Fenced,
    /// It failed (a panic or a handler error); on a single node it reactivates on next use.
    Failed,
}

/// Where tenant supervisors announce stopped offices.
pub(crate) type OfficeStops = Announcements<OfficeStopped>;
