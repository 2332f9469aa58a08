//! [`OfficeStopped`]: what a node tells about offices that stopped, so that whoever activated
//! them (the cluster's router, which holds their leases) can let them go.

use tally_protocol::{OfficeId, TenantId};
use tokio::sync::broadcast;

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

/// How many stop notices wait for a slow listener before it misses some.
const STOPS_CAPACITY: usize = 1024;

/// Where tenant supervisors announce stopped offices.
#[derive(Debug, Clone)]
pub(crate) struct OfficeStops(broadcast::Sender<OfficeStopped>);

impl OfficeStops {
    /// A channel nobody listens to yet.
    pub(crate) fn new() -> Self {
        Self(broadcast::channel(STOPS_CAPACITY).0)
    }

    /// Announces a stop (dropped if nobody listens).
    pub(crate) fn announce(&self, stopped: OfficeStopped) {
        let _ = self.0.send(stopped);
    }

    /// Stops announced from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<OfficeStopped> {
        self.0.subscribe()
    }
}
