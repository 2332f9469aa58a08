//! The tenant supervisor: activates a tenant's offices on demand and supervises them. An office
//! that fails is reactivated from storage on its next use; one that keeps failing escalates, and
//! the node quarantines the tenant. No other tenant notices. The tenant's anchor office, asked
//! for by the finaliser of any other active office, is activated here on a single node and
//! called for in a cluster (`office_rollups.rs`).

use std::collections::HashMap;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tally_protocol::{OfficeId, TenantId};
use tally_storage::{Room, SharedStore};

use crate::anchor_wanted::{AnchorWanted, AnchorsWanted};
use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::office::{OfficeActor, OfficeArgs};
use crate::office_stops::{OfficeStopReason, OfficeStopped, OfficeStops};
use crate::persister::PersisterMsg;
use crate::settings::Activation;
use crate::supervision::{ChildExit, Children, Started, spawn_child};
use crate::{ActorSettings, OfficeMsg, ServiceError};

/// Whether looking up an office may activate it, and under which owner token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeActivation {
    /// Activate it if needed, with owner token 0 (a single node).
    OnDemand,
    /// Only if it is active already (a cluster node asked for an office it has not claimed).
    ExistingOnly,
    /// Activate it if needed under this owner token (a cluster node that claimed it); an
    /// office active under another token is not handed out.
    Claimed(u64),
}

/// Messages of a [`TenantSupervisor`].
#[derive(Debug)]
pub enum TenantMsg {
    /// The actor of an office of this tenant, activating it if needed.
    GetOffice {
        /// The office.
        office: OfficeId,
        /// Whether (and how) it may be activated.
        activation: OfficeActivation,
        /// The answer.
        reply: RpcReplyPort<Result<ActorRef<OfficeMsg>, ServiceError>>,
    },
    /// The owner token of the office's activation, if it is active or starting.
    OwnerToken {
        /// The office.
        office: OfficeId,
        /// The answer.
        reply: RpcReplyPort<Option<u64>>,
    },
    /// Stops the office once what its rooms were sent is durable; answers whether it was active.
    Passivate {
        /// The office.
        office: OfficeId,
        /// Answered once it stopped and its writes are durable.
        reply: RpcReplyPort<bool>,
    },
    /// A room was added to the registry; its office (if active) starts it.
    RoomCreated(Room),
    /// An active office of the tenant that is not its anchor asks for the anchor `office`
    /// (sent by its finaliser): activated here on a single node, announced as an
    /// [`AnchorWanted`] in a cluster; nothing if it is active here already.
    WakeAnchor(OfficeId),
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
    /// Where stopped offices are announced.
    pub stops: OfficeStops,
    /// Where anchor offices wanted in a cluster are announced.
    pub anchors: AnchorsWanted,
}

/// State of a [`TenantSupervisor`].
#[derive(Debug)]
pub(crate) struct TenantState {
    _census: CensusGuard,
    args: TenantArgs,
    offices: Children<OfficeId, OfficeMsg>,
    /// Owner tokens of the offices running or starting.
    tokens: HashMap<OfficeId, u64>,
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
            tokens: HashMap::new(),
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
            TenantMsg::GetOffice {
                office,
                activation,
                reply,
            } => state.get_office(&myself, office, activation, reply),
            TenantMsg::OwnerToken { office, reply } => {
                let _ = reply.send(state.tokens.get(&office).copied());
            }
            TenantMsg::Passivate { office, reply } => state.passivate(&office, reply),
            TenantMsg::OfficeStarted(started) => {
                let office = started.key().clone();
                if state.offices.started(started).is_err() {
                    state.tokens.remove(&office);
                }
            }
            TenantMsg::RoomCreated(room) => {
                let office = room.office.clone();
                state.offices.send(&office, OfficeMsg::RoomCreated(room));
            }
            TenantMsg::WakeAnchor(office) => state.wake_anchor(&myself, office),
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<TenantMsg>,
        event: SupervisionEvent,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        match state.offices.exited(&event) {
            Some(ChildExit::Failed(office, err)) => {
                tracing::warn!(tenant = %state.args.tenant, office = %office, error = %err, "office failed; it reactivates from storage on next use");
                state.stopped(office.clone(), OfficeStopReason::Failed);
                state.offices.allow_restart(&office, &err)?;
            }
            Some(ChildExit::Fenced(office)) => state.stopped(office, OfficeStopReason::Fenced),
            Some(ChildExit::Stopped(office) | ChildExit::StorageFault(office)) => {
                state.stopped(office, OfficeStopReason::Passivated);
            }
            None => {}
        }
        Ok(())
    }
}

impl TenantState {
    /// Answers a lookup of `office`, activating it if `activation` allows.
    fn get_office(
        &mut self,
        myself: &ActorRef<TenantMsg>,
        office: OfficeId,
        activation: OfficeActivation,
        reply: RpcReplyPort<Result<ActorRef<OfficeMsg>, ServiceError>>,
    ) {
        let token = match (activation, self.tokens.get(&office)) {
            (OfficeActivation::Claimed(wanted), Some(&current)) if wanted != current => {
                let _ = reply.send(Err(ServiceError::Unavailable(format!(
                    "office {office} is active here under owner token {current}, not {wanted}"
                ))));
                return;
            }
            (_, Some(&current)) => current,
            (OfficeActivation::ExistingOnly, None) => {
                let _ = reply.send(Err(ServiceError::Unavailable(format!(
                    "office {office} is not active on this node"
                ))));
                return;
            }
            (OfficeActivation::OnDemand, None) => 0,
            (OfficeActivation::Claimed(wanted), None) => wanted,
        };
        if self.offices.request(&office, reply) {
            self.tokens.insert(office.clone(), token);
            self.start_office(myself, office, token);
        }
    }

    /// Makes sure the anchor `office` is active (see [`TenantMsg::WakeAnchor`]).
    fn wake_anchor(&mut self, myself: &ActorRef<TenantMsg>, office: OfficeId) {
        if self.offices.is_active(&office) {
            return;
        }
        match self.args.settings.activation {
            Activation::OnDemand => {
                tracing::info!(tenant = %self.args.tenant, office = %office, "activating the anchor office: it finalises the tenant's rollups");
                self.tokens.insert(office.clone(), 0);
                self.start_office(myself, office, 0);
            }
            Activation::Claimed => self.args.anchors.announce(AnchorWanted {
                tenant: self.args.tenant.clone(),
                office,
            }),
        }
    }

    /// Stops `office` (see [`TenantMsg::Passivate`]); the wait runs in a task, so the tenant
    /// keeps serving its other offices meanwhile.
    fn passivate(&mut self, office: &OfficeId, reply: RpcReplyPort<bool>) {
        let Some(actor) = self.offices.retire(office) else {
            // Not running; a start in flight (if any) was cancelled.
            self.tokens.remove(office);
            let _ = reply.send(false);
            return;
        };
        let persister = self.args.persister.clone();
        let timeout = self.args.settings.call_timeout;
        let (tenant, office) = (self.args.tenant.clone(), office.clone());
        tokio::spawn(async move {
            let _ = actor.drain_and_wait(Some(timeout)).await;
            // Its rooms' last rows reached the persister before they stopped: wait for them.
            let _ = persister.call(PersisterMsg::Barrier, Some(timeout)).await;
            tracing::info!(tenant = %tenant, office = %office, "office passivated: its writes are durable");
            let _ = reply.send(true);
        });
    }

    /// Forgets a stopped office's token and announces the stop.
    fn stopped(&mut self, office: OfficeId, reason: OfficeStopReason) {
        let owner_token = self.tokens.remove(&office).unwrap_or_default();
        self.args.stops.announce(OfficeStopped {
            tenant: self.args.tenant.clone(),
            office,
            owner_token,
            reason,
        });
    }

    /// Activates an office off the tenant's message loop: its record is read and the office
    /// spawned (linked to the tenant; its `pre_start` starts its rooms) in a task, while requests
    /// for it wait and the tenant serves its other offices.
    fn start_office(&mut self, myself: &ActorRef<TenantMsg>, office: OfficeId, owner_token: u64) {
        let args = self.args.clone();
        let supervisor = myself.clone();
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
                    owner_token,
                    supervisor: supervisor.clone(),
                };
                spawn_child("office", &id, OfficeActor, args, supervisor.get_cell()).await
            });
    }
}
