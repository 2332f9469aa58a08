//! The finaliser task of an office activation: steps the office's area rollups, and the
//! tenant's while the office is its anchor, or else asks for the anchor, so that the tenant's
//! rollups advance while any of its offices is active (see `office_rollups.rs`).

use std::time::Duration;

use ractor::ActorRef;
use tally_protocol::{OfficeId, now_ms};
use tally_storage::{SharedStore, StoreError};

use crate::TenantMsg;
use crate::office_rollups::{FinaliseStep, OfficeRollups, TenantPart};

/// What the finaliser of an office activation runs with.
#[derive(Debug, Clone)]
pub(crate) struct FinaliserContext {
    /// The node's store.
    pub store: SharedStore,
    /// How long a caught-up finaliser waits before its next step.
    pub every: Duration,
    /// The office's tenant supervisor, asked for the anchor office.
    pub supervisor: ActorRef<TenantMsg>,
}

/// The running finaliser of an office activation; aborted when dropped.
#[derive(Debug)]
pub(crate) struct FinaliserTask(tokio::task::AbortHandle);

impl Drop for FinaliserTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl OfficeRollups {
    /// Spawns [`OfficeRollups::run`]; the task ends when the returned guard drops (the office
    /// activation ends).
    pub(crate) fn spawn(self, context: FinaliserContext) -> FinaliserTask {
        FinaliserTask(tokio::spawn(self.run(context)).abort_handle())
    }

    /// Finalises the office (and the tenant area, while the office is the tenant's anchor) for as
    /// long as the activation lives: a step of each per `context.every` when caught up, steps back
    /// to back while either is behind. An office that is not the anchor asks its tenant for the
    /// anchor at every tick instead. The first step waits one period, so an activation's own
    /// restore (and a failover's many activations) never compete with it for the store. Ends when a
    /// newer owner fences it or the tenant is erased; a failed step (the store down) is tried again
    /// at the next tick, its effect on the node reported by the writes of the rooms (a storage
    /// fault is the node's).
    async fn run(self, context: FinaliserContext) {
        let store = &*context.store;
        if !store.keeps_area_rollups() {
            return;
        }
        let mut wait = context.every;
        loop {
            tokio::time::sleep(wait).await;
            let now = now_ms();
            let Some(office) = self.next_wait(self.step(store, now).await, "office", &context)
            else {
                return;
            };
            let tenant = match self.tenant_part(store, now).await {
                Ok(TenantPart::Stepped(step)) => Ok(step),
                Ok(TenantPart::AnchorElsewhere(anchor)) => {
                    self.want_anchor(&context, anchor);
                    Ok(FinaliseStep::Idle)
                }
                Ok(TenantPart::NoAnchor) => Ok(FinaliseStep::Idle),
                Err(err) => Err(err),
            };
            let Some(tenant) = self.next_wait(tenant, "tenant", &context) else {
                return;
            };
            wait = office.min(tenant);
        }
    }

    /// Asks the tenant supervisor for the anchor office (activated, or called for in a
    /// cluster, unless it is active here already).
    fn want_anchor(&self, context: &FinaliserContext, anchor: OfficeId) {
        // A tenant supervisor that stopped takes this activation with it.
        let _ = context.supervisor.cast(TenantMsg::WakeAnchor(anchor));
    }

    /// How long to wait after a step of the `area` kind with this result; `None` when the
    /// activation must stop finalising (fenced, or its tenant erased).
    fn next_wait(
        &self,
        step: Result<FinaliseStep, StoreError>,
        area: &str,
        context: &FinaliserContext,
    ) -> Option<Duration> {
        match step {
            Ok(FinaliseStep::Behind(_)) => Some(Duration::ZERO),
            Ok(FinaliseStep::Idle | FinaliseStep::CaughtUp(_)) => Some(context.every),
            Err(StoreError::Fenced { .. } | StoreError::Erased(_)) => None,
            Err(err) => {
                tracing::warn!(tenant = %self.tenant, office = %self.office, area, error = %err, "area rollups not finalised; trying again");
                Some(context.every)
            }
        }
    }
}
