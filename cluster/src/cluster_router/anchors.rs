//! Anchor offices called for by this node's offices: a tenant's rollups are finalised by the
//! activation of its anchor office (`tally_actors::anchor_office`), which a cluster node may not
//! activate unless it claimed it. Each [`AnchorWanted`] is routed like a request for the office
//! (claimed here if placement names this node, else opened on its owner through the
//! transport), so the anchor runs on its owner while any office of the tenant is active.

use std::sync::Arc;

use tally_actors::AnchorWanted;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::OwnedOffices;
use crate::Transport;

/// Activates every anchor office called for where it is owned, one at a time; runs until the
/// node's actors stop.
pub(super) fn follow_anchors(owned: OwnedOffices, transport: Arc<Transport>) -> JoinHandle<()> {
    let mut wanted = owned.actors.anchors_wanted();
    tokio::spawn(async move {
        loop {
            match wanted.recv().await {
                Ok(AnchorWanted { tenant, office }) => {
                    // Not served now (its owner is unreachable, its lease still held, this node
                    // draining): the office that called asks again at its next tick.
                    if let Err(error) =
                        super::open_office(&owned, &transport, &tenant, &office).await
                    {
                        debug!(tenant = %tenant, office = %office, %error, "anchor office not activated yet");
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    warn!(
                        missed,
                        "missed anchor calls; their offices call again at their next tick"
                    );
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}
