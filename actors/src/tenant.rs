//! The tenant supervisor: activates a tenant's offices on demand and supervises them. An office
//! that fails is reactivated from storage on its next use; one that keeps failing escalates, and
//! the node quarantines the tenant. No other tenant notices.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tally_protocol::{OfficeId, TenantId};
use tally_storage::{Room, SharedStore};

use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::office::{OfficeActor, OfficeArgs};
use crate::persister::PersisterMsg;
use crate::supervision::{ChildExit, Children, Started, spawn_child};
use crate::{ActorSettings, OfficeMsg, ServiceError};

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
    /// An office's start ended (sent by its start task).
    OfficeStarted(Started<OfficeId, OfficeMsg>),
}

// Local-only: ractor's `cluster` feature (on for the inter-node transport) asks every
// message type to opt in; this one never crosses nodes, so it keeps the default (no serialisation).
impl ractor::Message for TenantMsg {}

/// The tenant supervisor actor.
#[derive(Debug)]
pub(crate) struct TenantSupervisor;

/// Arguments of a [`TenantSupervisor`].
#[derive(Debug, Clone)]
pub(crate) struct TenantArgs {
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
pub(crate) struct TenantState {
    _census: CensusGuard,
    args: TenantArgs,
    offices: Children<OfficeId, OfficeMsg>,
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
            offices: Children::new("office", args.settings.restart),
            args,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<TenantMsg>,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        state.offices.drain(state.args.settings.call_timeout).await;
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
                if state.offices.request(&office, reply) {
                    state.start_office(&myself, office);
                }
            }
            TenantMsg::OfficeStarted(started) => {
                let _ = state.offices.started(started);
            }
            TenantMsg::RoomCreated(room) => {
                let office = room.office.clone();
                state.offices.send(&office, OfficeMsg::RoomCreated(room));
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
        if let Some(ChildExit::Failed(office, err)) = state.offices.exited(&event) {
            tracing::warn!(tenant = %state.args.tenant, office = %office, error = %err, "office failed; it reactivates from storage on next use");
            state.offices.allow_restart(&office, &err)?;
        }
        Ok(())
    }
}

impl TenantState {
    /// Activates an office off the tenant's message loop: its record is read and the office
    /// spawned (linked to the tenant; its `pre_start` starts its rooms) in a task, while requests
    /// for it wait and the tenant serves its other offices.
    fn start_office(&mut self, myself: &ActorRef<TenantMsg>, office: OfficeId) {
        let args = self.args.clone();
        let tenant = myself.get_cell();
        let id = office.clone();
        self.offices
            .start(office, myself, TenantMsg::OfficeStarted, async move {
                let record = args
                    .store
                    .office(&args.tenant, &id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("office", &id))?;
                let args = OfficeArgs {
                    office: record,
                    store: args.store,
                    persister: args.persister,
                    settings: args.settings,
                    census: args.census,
                };
                spawn_child("office", &id, OfficeActor, args, tenant).await
            });
    }
}
