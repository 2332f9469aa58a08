//! Activation of an office in a cluster: its lease, then its fencing token from the store.

use tally_protocol::{OfficeId, TenantId};
use tally_storage::{Store, StoreError};
use tracing::info;

use super::{HeldLease, LeaseManager};
use crate::coordination::CoordinationError;

/// The right to activate an office: its lease, renewed in the background, and the fencing token
/// the store minted for this activation (every write of the office carries it).
#[derive(Debug)]
pub struct OfficeClaim {
    /// The lease; watch [`HeldLease::lost`] to passivate the office when it is lost.
    pub lease: HeldLease,
    /// The office's owner token for this activation.
    pub token: u64,
}

/// Why an office could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Redis could not grant the lease.
    #[error(transparent)]
    Coordination(#[from] CoordinationError),
    /// The store could not mint the token (the lease was released again).
    #[error("cannot take the office's fencing token: {0}")]
    Store(#[from] StoreError),
}

/// Claims `office` for this node: takes its lease and, only if that succeeded, its fencing
/// token from `store`. `None` if another node holds the lease.
///
/// # Errors
/// [`ClaimError`] if Redis or the store fails; no lease is left held then.
pub async fn claim_office(
    leases: &LeaseManager,
    store: &dyn Store,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<Option<OfficeClaim>, ClaimError> {
    let Some(lease) = leases.try_acquire(tenant, office).await? else {
        return Ok(None);
    };
    match store.acquire_office(tenant, office).await {
        Ok(token) => {
            info!(tenant = %tenant, office = %office, token, "office claimed");
            Ok(Some(OfficeClaim {
                lease: lease.keep_renewed(),
                token,
            }))
        }
        Err(error) => {
            // Best effort: if the release fails too, the lease expires with its TTL.
            let _ = lease.release().await;
            Err(error.into())
        }
    }
}
