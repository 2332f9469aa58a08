//! The node supervisor: root of a node's actors. It owns the persister and the tenant
//! supervisors; a tenant that keeps failing is quarantined here (its actors stop, its requests get
//! `tenant_quarantined`), and nothing else on the node is touched.

use std::collections::BTreeSet;
use std::time::Duration;

use ractor::{
    Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr, SupervisionEvent,
};
use tally_protocol::{OfficeId, RoomId, TenantId};
use tally_storage::{Room, SharedStore};
use tokio::task::JoinHandle;

use crate::anchor_wanted::{AnchorWanted, AnchorsWanted};
use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::error::flatten_call;
use crate::office::room_actor;
use crate::office_stops::{OfficeStopped, OfficeStops};
use crate::persister::{Persister, PersisterArgs, PersisterMsg};
use crate::settings::Activation;
use crate::supervision::{ChildExit, Children, Started, spawn_child};
use crate::tenant::{OfficeActivation, TenantArgs, TenantSupervisor};
use crate::{ActorSettings, OfficeMsg, RoomMsg, ServiceError, StorageHealth, TenantMsg, telemetry};

/// Messages of the [`NodeSupervisor`].
#[derive(Debug)]
pub enum NodeMsg {
    /// The supervisor of a tenant, activating it if needed.
    GetTenant {
        /// The tenant.
        tenant: TenantId,
        /// The answer.
        reply: RpcReplyPort<Result<ActorRef<TenantMsg>, ServiceError>>,
    },
    /// A room was added to the registry.
    RoomCreated(Room),
    /// Tenants quarantined on this node.
    Quarantined(RpcReplyPort<BTreeSet<TenantId>>),
    /// Lifts a tenant's quarantine (an operator fixed the cause); answers whether it was
    /// quarantined. Its actors start again on the next request, from storage.
    Release {
        /// The tenant.
        tenant: TenantId,
        /// The answer.
        reply: RpcReplyPort<bool>,
    },
    /// Takes a tenant out of service on this node for good (its erasure): from now on it is
    /// never activated again (requests answer `not_found`, as for a missing tenant), and its
    /// actors stop, finishing what they were sent. Answers once they have stopped and their last
    /// writes are durable, so that nothing of the tenant is written after its erasure begins.
    RetireTenant {
        /// The tenant.
        tenant: TenantId,
        /// Answered when its actors have stopped and their writes are durable.
        reply: RpcReplyPort<()>,
    },
    /// A tenant's start ended (sent by its start task).
    TenantStarted(Started<TenantId, TenantMsg>),
}

// Local-only: ractor's `cluster` feature (on for the inter-node transport) asks every
// message type to opt in; this one never crosses nodes, so it keeps the default (no serialisation).
impl ractor::Message for NodeMsg {}

/// The node supervisor actor.
#[derive(Debug)]
pub(crate) struct NodeSupervisor;

/// Arguments of the [`NodeSupervisor`].
#[derive(Debug, Clone)]
pub(crate) struct NodeArgs {
    /// The node's store.
    pub store: SharedStore,
    /// Tunables.
    pub settings: ActorSettings,
    /// Where the node counts its live actors.
    pub census: ActorCensus,
    /// The node's storage health (the persister keeps it).
    pub health: StorageHealth,
    /// Where tenant supervisors announce stopped offices.
    pub stops: OfficeStops,
    /// Where tenant supervisors announce anchor offices wanted (a cluster).
    pub anchors: AnchorsWanted,
}

/// State of the [`NodeSupervisor`].
#[derive(Debug)]
pub(crate) struct NodeState {
    _census: CensusGuard,
    args: NodeArgs,
    persister: ActorRef<PersisterMsg>,
    tenants: Children<TenantId, TenantMsg>,
    quarantined: BTreeSet<TenantId>,
    /// Tenants taken out of service for their erasure: never activated again on this node.
    retired: BTreeSet<TenantId>,
}

impl Actor for NodeSupervisor {
    type Msg = NodeMsg;
    type State = NodeState;
    type Arguments = NodeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<NodeMsg>,
        args: NodeArgs,
    ) -> Result<NodeState, ActorProcessingErr> {
        let persister_args = PersisterArgs {
            store: args.store.clone(),
            max_batch_rows: args.settings.persister_max_batch_rows,
            census: args.census.clone(),
            health: args.health.clone(),
            retry: args.settings.write_retry,
        };
        let (persister, _) =
            Actor::spawn_linked(None, Persister, persister_args, myself.get_cell()).await?;
        Ok(NodeState {
            _census: args.census.enter(ActorKind::Node),
            tenants: Children::new("tenant", args.settings.restart),
            args,
            persister,
            quarantined: BTreeSet::new(),
            retired: BTreeSet::new(),
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<NodeMsg>,
        state: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        let timeout = Some(state.args.settings.call_timeout);
        state.tenants.drain(state.args.settings.call_timeout).await;
        // Every room has stopped: wait for their last writes, then stop the persister.
        let _ = state.persister.call(PersisterMsg::Barrier, timeout).await;
        let _ = state.persister.drain_and_wait(timeout).await;
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<NodeMsg>,
        message: NodeMsg,
        state: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            NodeMsg::GetTenant { tenant, reply } => {
                if state.retired.contains(&tenant) {
                    let _ = reply.send(Err(ServiceError::not_found("tenant", &tenant)));
                } else if state.quarantined.contains(&tenant) {
                    let _ = reply.send(Err(ServiceError::TenantQuarantined(tenant.to_string())));
                } else if state.tenants.request(&tenant, reply) {
                    state.start_tenant(&myself, tenant);
                }
            }
            NodeMsg::TenantStarted(started) => {
                let retired = state.retired.contains(started.key());
                if let Ok(actor) = state.tenants.started(started)
                    && retired
                {
                    // Its start task finished just as the tenant was retired.
                    actor.stop(Some("tenant erased".into()));
                }
            }
            NodeMsg::RetireTenant { tenant, reply } => state.retire_tenant(tenant, reply),
            NodeMsg::RoomCreated(room) => {
                let tenant = room.tenant.clone();
                state.tenants.send(&tenant, TenantMsg::RoomCreated(room));
            }
            NodeMsg::Quarantined(reply) => {
                let _ = reply.send(state.quarantined.clone());
            }
            NodeMsg::Release { tenant, reply } => {
                let released = state.quarantined.remove(&tenant);
                if released {
                    metrics::gauge!(telemetry::TENANTS_QUARANTINED).decrement(1.0);
                    tracing::warn!(tenant = %tenant, "tenant quarantine lifted by an operator");
                }
                let _ = reply.send(released);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<NodeMsg>,
        event: SupervisionEvent,
        state: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err)
                if cell.get_id() == state.persister.get_id() =>
            {
                // The persister fails when the store failed for good, or on a bug; without it
                // nothing can be acknowledged, so the node stops (and the binary exits non-zero).
                Err(format!("persister failed: {err}").into())
            }
            event => {
                if let Some(ChildExit::Failed(tenant, err)) = state.tenants.exited(&event) {
                    tracing::error!(tenant = %tenant, error = %err, "tenant quarantined after repeated failures");
                    state.quarantined.insert(tenant);
                    metrics::gauge!(telemetry::TENANTS_QUARANTINED).increment(1.0);
                }
                Ok(())
            }
        }
    }
}

impl NodeState {
    /// Retires `tenant` (see [`NodeMsg::RetireTenant`]); the wait for its actors and their
    /// writes runs in a task, so the node keeps serving the other tenants meanwhile.
    fn retire_tenant(&mut self, tenant: TenantId, reply: RpcReplyPort<()>) {
        if self.quarantined.remove(&tenant) {
            metrics::gauge!(telemetry::TENANTS_QUARANTINED).decrement(1.0);
        }
        let running = self.tenants.retire(&tenant);
        self.retired.insert(tenant.clone());
        let persister = self.persister.clone();
        let timeout = self.args.settings.call_timeout;
        tokio::spawn(async move {
            if let Some(actor) = running {
                let _ = actor.drain_and_wait(Some(timeout)).await;
            }
            let _ = persister.call(PersisterMsg::Barrier, Some(timeout)).await;
            tracing::info!(tenant = %tenant, "tenant retired for erasure: its actors stopped");
            let _ = reply.send(());
        });
    }

    /// Activates a tenant off the node's message loop: its existence is read from the store and
    /// its supervisor spawned (linked to the node) in a task; requests meanwhile wait for it.
    fn start_tenant(&mut self, myself: &ActorRef<NodeMsg>, tenant: TenantId) {
        let args = TenantArgs {
            tenant: tenant.clone(),
            store: self.args.store.clone(),
            persister: self.persister.clone(),
            settings: self.args.settings,
            census: self.args.census.clone(),
            stops: self.args.stops.clone(),
            anchors: self.args.anchors.clone(),
        };
        let node = myself.get_cell();
        self.tenants
            .start(tenant, myself, NodeMsg::TenantStarted, async move {
                let tenant = args.tenant.clone();
                if args.store.tenant(&tenant).await?.is_none() {
                    return Err(ServiceError::not_found("tenant", &tenant));
                }
                spawn_child("tenant", &tenant, TenantSupervisor, args, node).await
            });
    }
}

/// A handle on a running node's actors: resolves offices and rooms, and shuts the node down.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    node: ActorRef<NodeMsg>,
    settings: ActorSettings,
    census: ActorCensus,
    health: StorageHealth,
    stops: OfficeStops,
    anchors: AnchorsWanted,
}

impl NodeHandle {
    /// Starts the node supervisor (and its persister) over `store`.
    ///
    /// # Errors
    /// [`SpawnErr`] if the supervisor could not start.
    pub async fn start(
        store: SharedStore,
        settings: ActorSettings,
    ) -> Result<(Self, JoinHandle<()>), SpawnErr> {
        let census = ActorCensus::default();
        let health = StorageHealth::default();
        let stops = OfficeStops::new();
        let anchors = AnchorsWanted::new();
        let args = NodeArgs {
            store,
            settings,
            census: census.clone(),
            health: health.clone(),
            stops: stops.clone(),
            anchors: anchors.clone(),
        };
        let (node, join) = Actor::spawn(None, NodeSupervisor, args).await?;
        Ok((
            Self {
                node,
                settings,
                census,
                health,
                stops,
                anchors,
            },
            join,
        ))
    }

    /// Whether the node's store takes writes now (the gateway refuses readings while not).
    pub fn storage_health(&self) -> &StorageHealth {
        &self.health
    }

    /// Actors of this node still alive (0 after [`NodeHandle::shutdown`]).
    pub fn live_actors(&self) -> usize {
        self.census.total()
    }

    /// The tunables the node runs with.
    pub fn settings(&self) -> &ActorSettings {
        &self.settings
    }

    /// The node supervisor's cell (to watch or stop it).
    pub fn cell(&self) -> ActorCell {
        self.node.get_cell()
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.settings.call_timeout)
    }

    /// The actor of an office. On a single node ([`Activation::OnDemand`]) its tenant and the
    /// office are activated if needed; in a cluster ([`Activation::Claimed`]) only an office
    /// activated with [`NodeHandle::activate_office`] is handed out.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for an unknown tenant or office,
    /// [`ServiceError::TenantQuarantined`], or [`ServiceError::Unavailable`] (also for an office
    /// not active here in a cluster).
    pub async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<ActorRef<OfficeMsg>, ServiceError> {
        let activation = match self.settings.activation {
            Activation::OnDemand => OfficeActivation::OnDemand,
            Activation::Claimed => OfficeActivation::ExistingOnly,
        };
        self.get_office(tenant, office, activation).await
    }

    /// Activates an office (and its tenant) under `owner_token`, the fencing token its owner
    /// claimed: every room write of this activation carries it, and the store rejects them once
    /// a higher token was taken (the office then stops, [`OfficeStopReason::Fenced`]). Already
    /// active under the same token: returns it. Active under another token: that activation
    /// is passivated first.
    ///
    /// [`OfficeStopReason::Fenced`]: crate::OfficeStopReason::Fenced
    ///
    /// # Errors
    /// As [`NodeHandle::office`].
    pub async fn activate_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        owner_token: u64,
    ) -> Result<ActorRef<OfficeMsg>, ServiceError> {
        let tenant_actor = self.tenant(tenant).await?;
        let id = office.clone();
        let current = tenant_actor
            .call(
                |reply| TenantMsg::OwnerToken { office: id, reply },
                self.timeout(),
            )
            .await;
        if let Some(current) = flatten_call("tenant", current.map(|a| a.map(Ok)))?
            && current != owner_token
        {
            tracing::info!(tenant = %tenant, office = %office, current, owner_token, "office active under another owner token: passivating it first");
            self.passivate_office(tenant, office).await?;
        }
        self.get_office(tenant, office, OfficeActivation::Claimed(owner_token))
            .await
    }

    /// Stops an active office once what its rooms were sent is durable (its rooms drained, then
    /// a persister barrier): its display streams end and its room handles fail with
    /// `unavailable`. `false` if it was not active (a start in flight is cancelled).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node or the tenant's supervisor did not answer.
    pub async fn passivate_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<bool, ServiceError> {
        let tenant_actor = match self.tenant(tenant).await {
            Ok(actor) => actor,
            // Nothing of a missing, erased or quarantined tenant runs here.
            Err(ServiceError::NotFound { .. } | ServiceError::TenantQuarantined(_)) => {
                return Ok(false);
            }
            Err(err) => return Err(err),
        };
        let office = office.clone();
        // Draining the office and the persister's barrier each take up to the call timeout.
        let answer = tenant_actor
            .call(
                |reply| TenantMsg::Passivate { office, reply },
                Some(3 * self.settings.call_timeout),
            )
            .await;
        flatten_call("tenant", answer.map(|a| a.map(Ok)))
    }

    /// Offices of this node that stop from now on (passivated, fenced off, failed).
    pub fn office_stops(&self) -> tokio::sync::broadcast::Receiver<OfficeStopped> {
        self.stops.subscribe()
    }

    /// Anchor offices this node's offices call for from now on (a cluster; see
    /// [`AnchorWanted`]): the cluster's router activates each where it is owned.
    pub fn anchors_wanted(&self) -> tokio::sync::broadcast::Receiver<AnchorWanted> {
        self.anchors.subscribe()
    }

    /// The supervisor of a tenant, activating it if needed.
    async fn tenant(&self, tenant: &TenantId) -> Result<ActorRef<TenantMsg>, ServiceError> {
        flatten_call(
            "node",
            self.node
                .call(
                    |reply| NodeMsg::GetTenant {
                        tenant: tenant.clone(),
                        reply,
                    },
                    self.timeout(),
                )
                .await,
        )
    }

    async fn get_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        activation: OfficeActivation,
    ) -> Result<ActorRef<OfficeMsg>, ServiceError> {
        let tenant_actor = self.tenant(tenant).await?;
        let office = office.clone();
        flatten_call(
            "tenant",
            tenant_actor
                .call(
                    |reply| TenantMsg::GetOffice {
                        office,
                        activation,
                        reply,
                    },
                    self.timeout(),
                )
                .await,
        )
    }

    /// The actor of a room.
    ///
    /// # Errors
    /// As [`NodeHandle::office`], and [`ServiceError::NotFound`] for a room not in the office.
    pub async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<ActorRef<RoomMsg>, ServiceError> {
        let office = self.office(tenant, office).await?;
        room_actor(&office, room.clone(), self.settings.call_timeout).await
    }

    /// Tells the node a room was added to the registry, so an active office shows it at once.
    pub fn room_created(&self, room: Room) {
        let _ = self.node.cast(NodeMsg::RoomCreated(room));
    }

    /// Tenants quarantined on this node.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node supervisor is not running.
    pub async fn quarantined(&self) -> Result<BTreeSet<TenantId>, ServiceError> {
        let answer = self.node.call(NodeMsg::Quarantined, self.timeout()).await;
        flatten_call("node", answer.map(|a| a.map(Ok)))
    }

    /// Lifts a tenant's quarantine; `true` if it was quarantined.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node supervisor is not running.
    pub async fn release(&self, tenant: &TenantId) -> Result<bool, ServiceError> {
        let tenant = tenant.clone();
        let answer = self
            .node
            .call(|reply| NodeMsg::Release { tenant, reply }, self.timeout())
            .await;
        flatten_call("node", answer.map(|a| a.map(Ok)))
    }

    /// Takes a tenant out of service on this node for its erasure (see
    /// [`NodeMsg::RetireTenant`]); returns once its actors have stopped and their writes are
    /// durable.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node supervisor is not running or did not answer
    /// within the call timeout.
    pub async fn retire_tenant(&self, tenant: &TenantId) -> Result<(), ServiceError> {
        let tenant = tenant.clone();
        // Draining the tenant and the persister's barrier each take up to the call timeout.
        let timeout = Some(3 * self.settings.call_timeout);
        let answer = self
            .node
            .call(|reply| NodeMsg::RetireTenant { tenant, reply }, timeout)
            .await;
        flatten_call("node", answer.map(|a| a.map(Ok)))
    }

    /// Stops every actor of the node in order: rooms finish what they were sent, their writes
    /// become durable, then the persister and the supervisors stop. Returns once no actor of the
    /// node is alive (or the call timeout passed; [`NodeHandle::live_actors`] tells).
    pub async fn shutdown(&self) {
        let _ = self
            .node
            .stop_and_wait(Some("shutdown".into()), self.timeout())
            .await;
        self.census.wait_empty(self.settings.call_timeout).await;
    }
}
