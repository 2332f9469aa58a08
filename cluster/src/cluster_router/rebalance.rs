//! The background work of a cluster router: hand offices off when the view moves them, and
//! forget those that stopped by themselves.

use tally_actors::{OfficeStopReason, OfficeStopped};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tracing::warn;

use super::owned::{HandoffReason, OwnedOffices};
use crate::ownership::decision;

/// On every new view, hands off (one by one) each held office whose owner is no longer this
/// node; runs until the view's sender is gone.
pub(super) fn follow_view(owned: OwnedOffices) -> JoinHandle<()> {
    let mut view = owned.view.clone();
    tokio::spawn(async move {
        while view.changed().await.is_ok() {
            hand_off_moved(&owned).await;
        }
    })
}

/// Hands off every held office placement no longer gives this node (every one while draining).
pub(super) async fn hand_off_moved(owned: &OwnedOffices) {
    let reason = if owned.draining() {
        HandoffReason::Drain
    } else {
        HandoffReason::Rebalance
    };
    for key in owned.known() {
        let (tenant, office) = &key;
        let mine = owned
            .owner(tenant, office)
            .is_some_and(|owner| owner.id == owned.node_id);
        if decision::hand_off_on_view(mine, owned.draining()) {
            owned.hand_off(&key, reason).await;
        }
    }
}

/// Forgets held offices that stopped by themselves: fenced off by a newer owner's token,
/// failed for good, or passivated by the actors.
pub(super) fn follow_stops(owned: OwnedOffices) -> JoinHandle<()> {
    let mut stops = owned.actors.office_stops();
    tokio::spawn(async move {
        loop {
            match stops.recv().await {
                Ok(OfficeStopped {
                    tenant,
                    office,
                    owner_token,
                    reason,
                }) => {
                    let reason = match reason {
                        OfficeStopReason::Passivated => "passivated",
                        OfficeStopReason::Fenced => "fenced",
                        OfficeStopReason::Failed => "failed",
                    };
                    owned.forget(&(tenant, office), owner_token, reason).await;
                }
                Err(RecvError::Lagged(missed)) => {
                    warn!(
                        missed,
                        "missed office stops; a stopped office is forgotten on its next handoff"
                    );
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}
