//! The keeper of a held office's lease: what happens when the lease is lost.
//!
//! # Redis trouble
//! A [`crate::lease::HeldLease`] reports [`LeaseLost::Expired`] when Redis could not be reached
//! to renew it before its TTL ran out. Passivating then would stop every office of a healthy
//! cluster during a Redis outage, so the keeper does not: the office keeps serving under its
//! owner token, and the keeper takes the lease again as soon as Redis answers. The store's
//! token is the safety: no other node can activate the office without the lease (no new
//! activation happens while Redis is down), and if another node did take it (Redis lost its
//! data, or only this node was cut off and was expired from the membership), its newer token
//! fences this node's writes off and the office stops with `Fenced`. If Redis answers that
//! another node holds the lease ([`LeaseLost::NotHeld`], or the lease cannot be taken again),
//! the office is passivated and forgotten at once.

use tally_protocol::{OfficeId, TenantId};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tracing::{info, warn};

use super::owned::{OfficeKey, OwnedOffices};
use crate::lease::LeaseLost;
use crate::ownership::decision::{self, LeaseLossDecision};

/// Watches the lease of `key`, held with `token`, until the office is given up.
pub(super) fn spawn(
    owned: OwnedOffices,
    key: OfficeKey,
    token: u64,
    lost: watch::Receiver<Option<LeaseLost>>,
) -> AbortHandle {
    tokio::spawn(keep(owned, key, token, lost)).abort_handle()
}

async fn keep(
    owned: OwnedOffices,
    key: OfficeKey,
    token: u64,
    mut lost: watch::Receiver<Option<LeaseLost>>,
) {
    loop {
        let reason = match lost.wait_for(Option::is_some).await {
            Ok(reason) => *reason,
            // The lease was released: the office was given up.
            Err(_) => return,
        };
        match reason.map(decision::on_lease_lost) {
            Some(LeaseLossDecision::ServeOnAndRetake) => {
                let (tenant, office) = &key;
                warn!(tenant = %tenant, office = %office, token,
                      "office lease expired while redis was unreachable; serving on under the \
                       store's owner token until redis answers");
                match take_again(&owned, tenant, office).await {
                    Some(renewed) => {
                        lost = renewed.lost();
                        if !owned.relet(&key, token, renewed).await {
                            return;
                        }
                        info!(tenant = %tenant, office = %office, token, "office lease taken again");
                    }
                    None => break,
                }
            }
            _ => break,
        }
    }
    // Another node holds the lease: forgotten in a task of its own, since forgetting aborts
    // this one.
    tokio::spawn(async move { owned.forget(&key, token, "lease_taken").await });
}

/// Takes the lease of `office` again once Redis answers: `None` if another node holds it.
async fn take_again(
    owned: &OwnedOffices,
    tenant: &TenantId,
    office: &OfficeId,
) -> Option<crate::lease::HeldLease> {
    let mut retry = tokio::time::interval(owned.leases.renew_interval());
    loop {
        retry.tick().await;
        match owned.leases.try_acquire(tenant, office).await {
            Ok(Some(lease)) => return Some(lease.keep_renewed()),
            Ok(None) => return None,
            Err(_) => continue,
        }
    }
}
