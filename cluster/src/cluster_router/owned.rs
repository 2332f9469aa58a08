//! [`OwnedOffices`]: the offices this node owns and serves, each activated under a claim.
//!
//! An office is activated here only when placement names this node its owner, and only under a
//! claim: its Redis lease, then its fencing token from the store ([`claim_office`]). Claims are
//! single-flight per office (one async lock per office), so concurrent first requests claim
//! once. A held office is given up by [`OwnedOffices::hand_off`] (passivate, so what its rooms
//! were sent is durable, then release the lease so the new owner can claim at once), or
//! forgotten when it stops by itself ([`OwnedOffices::forget`]: fenced off, failed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tally_actors::NodeHandle;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::{Room, SharedStore};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tracing::{info, warn};

use super::keeper;
use super::telemetry;
use crate::lease::{ClaimError, HeldLease, LeaseManager, claim_office};
use crate::membership::ClusterView;
use crate::ownership::decision::{self, ClaimDecision, GIVE_UP_STEPS, GiveUpStep};
use crate::{LocalRouter, OfficeHandle, RoomHandle, Router, ServedOffices, placement};

/// A tenant's office: the unit of placement.
pub(crate) type OfficeKey = (TenantId, OfficeId);

/// What this node holds of an office it activated.
#[derive(Debug)]
pub(crate) struct Held {
    /// The owner token its writes carry.
    token: u64,
    /// Its lease, renewed in the background (after a Redis outage, the one taken again; see
    /// [`keeper`]).
    lease: HeldLease,
    /// The task watching the lease.
    keeper: AbortHandle,
}

/// One office's slot: locked for the whole of a claim or a handoff.
type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

/// Why a held office is handed off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandoffReason {
    /// Placement names another owner.
    Rebalance,
    /// This node is draining.
    Drain,
    /// This node stops.
    Shutdown,
}

impl HandoffReason {
    fn as_str(self) -> &'static str {
        match self {
            HandoffReason::Rebalance => "rebalance",
            HandoffReason::Drain => "drain",
            HandoffReason::Shutdown => "shutdown",
        }
    }
}

/// The offices this node owns, and the claims it holds for them; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct OwnedOffices(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) node_id: String,
    pub(crate) region: String,
    pub(crate) actors: NodeHandle,
    pub(crate) store: SharedStore,
    pub(crate) local: LocalRouter,
    pub(crate) leases: LeaseManager,
    pub(crate) view: watch::Receiver<ClusterView>,
    draining: AtomicBool,
    slots: Mutex<HashMap<OfficeKey, Slot>>,
    held: watch::Sender<usize>,
}

impl std::ops::Deref for OwnedOffices {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl OwnedOffices {
    /// The offices node `node_id` of `region` owns under `view`.
    pub(crate) fn new(
        (node_id, region): (String, String),
        actors: NodeHandle,
        store: SharedStore,
        leases: LeaseManager,
        view: watch::Receiver<ClusterView>,
    ) -> Self {
        let local = LocalRouter::new(actors.clone(), store.clone());
        Self(Arc::new(Inner {
            node_id,
            region,
            actors,
            store,
            local,
            leases,
            view,
            draining: AtomicBool::new(false),
            slots: Mutex::default(),
            held: watch::channel(0).0,
        }))
    }

    /// The id of the member placement names owner of `office` now, if any is active.
    pub(crate) fn owner(&self, tenant: &TenantId, office: &OfficeId) -> Option<OwnerChoice> {
        let view = self.view.borrow();
        placement::owner(&view, &self.region, tenant, office).map(|member| OwnerChoice {
            id: member.id.clone(),
            epoch: view.epoch,
        })
    }

    /// Whether this node is draining (it claims nothing more).
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Stops claiming offices: from now on only hand-offs happen.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// How many offices this node holds; `changed()` wakes on every change.
    pub(crate) fn held(&self) -> watch::Receiver<usize> {
        self.held.subscribe()
    }

    /// The offices with a slot (held or once claimed here).
    pub(crate) fn known(&self) -> Vec<OfficeKey> {
        self.slots.lock().unwrap().keys().cloned().collect()
    }

    fn slot(&self, key: &OfficeKey) -> Slot {
        self.slots
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn count(&self, change: isize) {
        self.held
            .send_modify(|held| *held = held.saturating_add_signed(change));
        metrics::gauge!(telemetry::OFFICES_HELD).set(*self.held.borrow() as f64);
    }

    /// Makes sure `office` is active here under a claim: `Ok` once it is.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] (retryable) if this node does not own it, is draining,
    /// another node still holds its lease, or Redis cannot be reached;
    /// [`ServiceError::NotFound`] for an office that does not exist; the store's or the
    /// actors' error otherwise.
    pub(crate) async fn ensure(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<(), ServiceError> {
        let key = (tenant.clone(), office.clone());
        let slot = self.slot(&key);
        let mut held = slot.lock().await;
        let owner = self.owner(tenant, office);
        let owner_is_me = owner.as_ref().is_some_and(|owner| owner.id == self.node_id);
        match decision::on_request(held.is_some(), owner_is_me, self.draining()) {
            ClaimDecision::Serve => return Ok(()),
            ClaimDecision::Claim => {}
            ClaimDecision::Refuse => {
                metrics::counter!(telemetry::CLAIMS_REFUSED, "reason" => "not_owner").increment(1);
                return Err(ServiceError::Unavailable(format!(
                    "office {office} is not served by node {}; connect again",
                    self.node_id
                )));
            }
        }
        let epoch = owner.map_or(0, |owner| owner.epoch);
        // No token for an office that does not exist (nor for another tenant's).
        if self.store.office(tenant, office).await?.is_none() {
            return Err(ServiceError::not_found("office", office));
        }
        let claim = match claim_office(&self.leases, self.store.as_ref(), tenant, office).await {
            Ok(Some(claim)) => claim,
            Ok(None) => {
                metrics::counter!(telemetry::CLAIMS_REFUSED, "reason" => "lease_held").increment(1);
                return Err(ServiceError::Unavailable(format!(
                    "office {office} is still held by its previous owner; connect again"
                )));
            }
            Err(ClaimError::Coordination(error)) => {
                metrics::counter!(telemetry::CLAIMS_REFUSED, "reason" => "redis").increment(1);
                return Err(ServiceError::Unavailable(format!(
                    "cannot take the lease of office {office} (redis: {error}); connect again"
                )));
            }
            Err(ClaimError::Store(error)) => return Err(error.into()),
        };
        // Logged before the office runs, and ended by a `hand_off` or `drop` line: the lines of
        // all nodes show who held which office when.
        info!(tenant = %tenant, office = %office, owner = %self.node_id, epoch,
              token = claim.token, decision = "activate", "placement");
        if let Err(error) = self
            .actors
            .activate_office(tenant, office, claim.token)
            .await
        {
            warn!(tenant = %tenant, office = %office, node = %self.node_id, token = claim.token,
                  reason = "activation_failed", %error, decision = "drop", "placement");
            let _ = claim.lease.release().await;
            return Err(error);
        }
        metrics::counter!(telemetry::ACTIVATIONS).increment(1);
        let keeper = keeper::spawn(self.clone(), key, claim.token, claim.lease.lost());
        *held = Some(Held {
            token: claim.token,
            lease: claim.lease,
            keeper,
        });
        self.count(1);
        Ok(())
    }

    /// Hands `office` off if held here: passivates it (what its rooms were sent becomes
    /// durable), then releases its lease so that the new owner claims it at once. `true` if it
    /// was held.
    pub(crate) async fn hand_off(&self, key: &OfficeKey, reason: HandoffReason) -> bool {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        let Some(taken) = held.take() else {
            return false;
        };
        let (tenant, office) = key;
        let new_owner = self.owner(tenant, office);
        self.give_up_in_order(key, taken, true, || {
            // Logged before the lease is released: the next owner's activation comes after.
            info!(tenant = %tenant, office = %office, from = %self.node_id,
                  owner = new_owner.as_ref().map_or("none", |owner| owner.id.as_str()),
                  epoch = new_owner.as_ref().map_or(0, |owner| owner.epoch),
                  reason = reason.as_str(), decision = "hand_off", "placement");
        })
        .await;
        metrics::counter!(telemetry::HANDOFFS, "reason" => reason.as_str()).increment(1);
        self.count(-1);
        true
    }

    /// Forgets `office` if it is held with `token`: it stopped by itself (`reason`: fenced off
    /// by a newer owner, failed for good, passivated) or its lease went to another node, in
    /// which case it is passivated first. Its lease is released (only if still ours).
    pub(crate) async fn forget(&self, key: &OfficeKey, token: u64, reason: &'static str) {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        if !decision::concerns(held.as_ref().map(|held| held.token), token) {
            return;
        }
        let Some(taken) = held.take() else { return };
        let (tenant, office) = key;
        // Only an office whose lease went elsewhere still runs; one that stopped by itself has
        // passivated already.
        self.give_up_in_order(key, taken, reason == "lease_taken", || {
            warn!(tenant = %tenant, office = %office, node = %self.node_id, token, reason,
                  decision = "drop", "placement");
        })
        .await;
        metrics::counter!(telemetry::OFFICES_DROPPED, "reason" => reason).increment(1);
        self.count(-1);
    }

    /// Installs a lease taken again after a Redis outage into the office held with `token`;
    /// `false` (and the lease is released) if the office is no longer held with it.
    pub(crate) async fn relet(&self, key: &OfficeKey, token: u64, lease: HeldLease) -> bool {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        match held.as_mut() {
            Some(held) if held.token == token => {
                held.lease = lease;
                true
            }
            _ => {
                drop(held);
                let _ = lease.release().await;
                false
            }
        }
    }

    /// Gives `taken` up in the order of [`GIVE_UP_STEPS`]: passivates the office (if
    /// `passivate`), then logs (`log`) and releases its lease.
    async fn give_up_in_order(
        &self,
        (tenant, office): &OfficeKey,
        taken: Held,
        passivate: bool,
        log: impl FnOnce(),
    ) {
        let (mut taken, mut log) = (Some(taken), Some(log));
        for step in GIVE_UP_STEPS {
            match step {
                GiveUpStep::Passivate if passivate => {
                    if let Err(error) = self.actors.passivate_office(tenant, office).await {
                        warn!(tenant = %tenant, office = %office, %error,
                              "passivating an office given up failed; its lease is released \
                               anyway, the next owner's token fences off anything it still writes");
                    }
                }
                GiveUpStep::Passivate => {}
                GiveUpStep::Release => {
                    if let Some(log) = log.take() {
                        log();
                    }
                    if let Some(taken) = taken.take() {
                        self.give_up(taken).await;
                    }
                }
            }
        }
    }

    /// Stops watching and releases the lease of an office given up.
    async fn give_up(&self, held: Held) {
        held.keeper.abort();
        if let Err(error) = held.lease.release().await {
            warn!(%error, "cannot release an office lease; it expires with its TTL");
        }
    }
}

/// The owner placement picked, and the epoch of the view it picked it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerChoice {
    /// The owner's node id.
    pub(crate) id: String,
    /// The membership epoch of the decision.
    pub(crate) epoch: u64,
}

/// Peers are served only offices this node owns, activated under a claim.
#[async_trait]
impl ServedOffices for OwnedOffices {
    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError> {
        self.ensure(tenant, office).await?;
        Router::room(&self.local, tenant, office, room).await
    }

    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError> {
        self.ensure(tenant, office).await?;
        Router::office(&self.local, tenant, office).await
    }

    fn room_created(&self, room: Room) {
        // Reaches the office only if it runs here, i.e. this node holds it.
        self.actors.room_created(room);
    }
}
