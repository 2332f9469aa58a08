//! The tenant supervisor: activates a tenant's offices on demand and supervises them. An office
//! that fails is reactivated from storage on its next use; one that keeps failing escalates, and
//! the node quarantines the tenant. No other tenant notices.

use std::collections::HashMap;
use std::time::Instant;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tally_protocol::{OfficeId, TenantId};
use tally_storage::{Room, SharedStore};

use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::office::{OfficeActor, OfficeArgs};
use crate::persister::PersisterMsg;
use crate::restart_policy::RestartTracker;
use crate::{ActorSettings, OfficeMsg, ServiceError, telemetry};

/// Messages of a [`TenantSupervisor`].
#[derive(Debug)]
pub enum TenantMsg {
    /// The actor of an office of this tenant, activating it if needed.
    GetOffice {
        /// The office.
        office: OfficeId,
        /// The answer.
        reply: RpcReplyPort<Result<ActorRef<OfficeMsg>, ServiceError>>,
    },
    /// A room was added to the registry; its office (if active) starts it.
    RoomCreated(Room),
}

/// The tenant supervisor actor.
#[derive(Debug)]
pub struct TenantSupervisor;

/// Arguments of a [`TenantSupervisor`].
#[derive(Debug, Clone)]
pub struct TenantArgs {
    /// The tenant.
    pub tenant: TenantId,
    /// The node's store.
    pub store: SharedStore,
    /// The node's persister.
    pub persister: ActorRef<PersisterMsg>,
    /// Tunables.
    pub settings: ActorSettings,
    /// Where the node counts its live actors.
    pub census: ActorCensus,
}

/// State of a [`TenantSupervisor`].
#[derive(Debug)]
pub struct TenantState {
    _census: CensusGuard,
    args: TenantArgs,
    offices: HashMap<OfficeId, ActorRef<OfficeMsg>>,
    by_actor: HashMap<ActorId, OfficeId>,
    restarts: RestartTracker<OfficeId>,
}

impl Actor for TenantSupervisor {
    type Msg = TenantMsg;
    type State = TenantState;
    type Arguments = TenantArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<TenantMsg>,
        args: TenantArgs,
    ) -> Result<TenantState, ActorProcessingErr> {
        tracing::info!(tenant = %args.tenant, "tenant activated");
        Ok(TenantState {
            _census: args.census.enter(ActorKind::Tenant),
            restarts: RestartTracker::new(args.settings.restart),
            args,
            offices: HashMap::new(),
            by_actor: HashMap::new(),
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<TenantMsg>,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        let timeout = Some(state.args.settings.call_timeout);
        for office in state.offices.values() {
            let _ = office.drain_and_wait(timeout).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<TenantMsg>,
        message: TenantMsg,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            TenantMsg::GetOffice { office, reply } => {
                let _ = reply.send(state.office(&myself, office).await);
            }
            TenantMsg::RoomCreated(room) => {
                if let Some(office) = state.offices.get(&room.office) {
                    let _ = office.cast(OfficeMsg::RoomCreated(room));
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<TenantMsg>,
        event: SupervisionEvent,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                let Some(office) = state.by_actor.remove(&cell.get_id()) else {
                    return Ok(());
                };
                state.offices.remove(&office);
                metrics::counter!(telemetry::ACTOR_FAILURES, "kind" => "office").increment(1);
                tracing::warn!(tenant = %state.args.tenant, office = %office, error = %err, "office failed; it reactivates from storage on next use");
                if !state.restarts.allow_restart(office.clone(), Instant::now()) {
                    let policy = state.args.settings.restart;
                    return Err(format!(
                        "office {office} failed more than {} times within {:?}; escalating: {err}",
                        policy.max_restarts, policy.window
                    )
                    .into());
                }
                metrics::counter!(telemetry::ACTOR_RESTARTS, "kind" => "office").increment(1);
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                if let Some(office) = state.by_actor.remove(&cell.get_id()) {
                    state.offices.remove(&office);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl TenantState {
    async fn office(
        &mut self,
        myself: &ActorRef<TenantMsg>,
        office: OfficeId,
    ) -> Result<ActorRef<OfficeMsg>, ServiceError> {
        if let Some(actor) = self.offices.get(&office) {
            return Ok(actor.clone());
        }
        let record = self
            .args
            .store
            .office(&self.args.tenant, &office)
            .await?
            .ok_or_else(|| ServiceError::not_found("office", &office))?;
        let args = OfficeArgs {
            office: record,
            store: self.args.store.clone(),
            persister: self.args.persister.clone(),
            settings: self.args.settings,
            census: self.args.census.clone(),
        };
        let (actor, _) = Actor::spawn_linked(None, OfficeActor, args, myself.get_cell())
            .await
            .map_err(|err| {
                ServiceError::Unavailable(format!("office {office} could not start: {err}"))
            })?;
        self.by_actor.insert(actor.get_id(), office.clone());
        self.offices.insert(office, actor.clone());
        Ok(actor)
    }
}
