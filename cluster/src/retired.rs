//! [`RetiredTenants`]: the tenants whose erasure has begun, shared by the router and every
//! [`crate::RoomHandle`] it hands out, so that an open connection of such a tenant is closed
//! with `not_found` at once (not only when its room actor is found stopped).

use std::collections::BTreeSet;
use std::sync::Arc;

use tally_protocol::{ServiceError, TenantId};
use tokio::sync::watch;

/// The set of retired tenants; cheap to clone (clones share it).
#[derive(Debug, Clone, Default)]
pub(crate) struct RetiredTenants {
    set: Arc<watch::Sender<BTreeSet<TenantId>>>,
}

impl RetiredTenants {
    /// Retires `tenant`: every handle of it fails from now on, and waiters are woken.
    pub(crate) fn retire(&self, tenant: &TenantId) {
        self.set.send_modify(|set| {
            set.insert(tenant.clone());
        });
    }

    /// What a handle of a retired tenant answers: the tenant is missing.
    fn missing(tenant: &TenantId) -> ServiceError {
        ServiceError::not_found("tenant", tenant)
    }

    /// `Err(not_found)` if `tenant` is retired.
    pub(crate) fn check(&self, tenant: &TenantId) -> Result<(), ServiceError> {
        if self.set.borrow().contains(tenant) {
            Err(Self::missing(tenant))
        } else {
            Ok(())
        }
    }

    /// Resolves, with the error to close a connection with, once `tenant` is retired.
    pub(crate) async fn retired(&self, tenant: &TenantId) -> ServiceError {
        let mut set = self.set.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = set.wait_for(|set| set.contains(tenant)).await;
        Self::missing(tenant)
    }
}
