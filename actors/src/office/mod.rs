//! The office actor: owns and supervises its rooms, aggregates their counts and publishes
//! coalesced deltas (at most one per `coalesce_interval`) to its display subscribers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tally_protocol::{DisplayFrame, RoomId, RoomOccupancy, TimestampMs};
use tally_storage::{Office, Room, SharedStore};

mod client;
mod view;

pub use client::{office_occupancy, room_actor, subscribe_display};
use view::{OfficeView, RoomSlot};

use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::display_fanout::{DisplayFanout, DisplaySink, SnapshotSource};
use crate::persister::PersisterMsg;
use crate::restart_policy::RestartTracker;
use crate::room::{RoomActor, RoomArgs};
use crate::{ActorSettings, RoomMsg, ServiceError, telemetry};

/// Messages of an [`OfficeActor`].
#[derive(Debug)]
pub enum OfficeMsg {
    /// The actor of one of the office's rooms (started on demand).
    GetRoom {
        /// The room.
        room: RoomId,
        /// The answer.
        reply: RpcReplyPort<Result<ActorRef<RoomMsg>, ServiceError>>,
    },
    /// A room's count changed (sent by the room).
    RoomCount {
        /// The room.
        room: RoomId,
        /// Its count.
        count: u32,
        /// Sensor time of the reading that set it.
        ts: TimestampMs,
        /// Sensors of the room that are silent for too long.
        stale_sensors: u32,
    },
    /// A room was added to the registry.
    RoomCreated(Room),
    /// Subscribe a display: it gets a snapshot now, then deltas.
    Subscribe {
        /// Only this room, if set.
        room: Option<RoomId>,
        /// Where the display's frames go.
        sender: DisplaySink,
        /// Answered once subscribed.
        reply: RpcReplyPort<Result<(), ServiceError>>,
    },
    /// The office's (or one room's) occupancy now, as a snapshot frame.
    Occupancy {
        /// Only this room, if set.
        room: Option<RoomId>,
        /// The answer.
        reply: RpcReplyPort<Result<DisplayFrame, ServiceError>>,
    },
    /// Publish pending changes (sent by the office to itself on a timer).
    Publish,
}

/// The office actor.
#[derive(Debug)]
pub struct OfficeActor;

/// Arguments of an [`OfficeActor`].
#[derive(Debug, Clone)]
pub struct OfficeArgs {
    /// The office's registry record.
    pub office: Office,
    /// The node's store.
    pub store: SharedStore,
    /// The node's persister.
    pub persister: ActorRef<PersisterMsg>,
    /// Tunables.
    pub settings: ActorSettings,
    /// Where the node counts its live actors.
    pub census: ActorCensus,
}
/// State of an [`OfficeActor`].
#[derive(Debug)]
pub struct OfficeState {
    _census: CensusGuard,
    args: OfficeArgs,
    view: OfficeView,
    by_actor: HashMap<ActorId, RoomId>,
    dirty: BTreeSet<RoomId>,
    publish_scheduled: bool,
    fanout: DisplayFanout,
    restarts: RestartTracker<RoomId>,
}

impl Actor for OfficeActor {
    type Msg = OfficeMsg;
    type State = OfficeState;
    type Arguments = OfficeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<OfficeMsg>,
        args: OfficeArgs,
    ) -> Result<OfficeState, ActorProcessingErr> {
        let records = args
            .store
            .rooms(&args.office.tenant, &args.office.id)
            .await?;
        let mut state = OfficeState {
            _census: args.census.enter(ActorKind::Office),
            view: OfficeView {
                office: args.office.id.clone(),
                version: 0,
                rooms: BTreeMap::new(),
            },
            restarts: RestartTracker::new(args.settings.restart),
            args,
            by_actor: HashMap::new(),
            dirty: BTreeSet::new(),
            publish_scheduled: false,
            fanout: DisplayFanout::default(),
        };
        for record in records {
            state.add_room(&myself, record).await?;
        }
        tracing::info!(tenant = %state.args.office.tenant, office = %state.args.office.id, rooms = state.view.rooms.len(), "office activated");
        Ok(state)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<OfficeMsg>,
        state: &mut OfficeState,
    ) -> Result<(), ActorProcessingErr> {
        // Rooms finish what they were sent (their rows reach the persister) before the office ends.
        let timeout = Some(state.args.settings.call_timeout);
        for room in state
            .view
            .rooms
            .values()
            .filter_map(|slot| slot.actor.as_ref())
        {
            let _ = room.drain_and_wait(timeout).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<OfficeMsg>,
        message: OfficeMsg,
        state: &mut OfficeState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            OfficeMsg::GetRoom { room, reply } => {
                let _ = reply.send(state.room_actor(&myself, &room).await);
            }
            OfficeMsg::RoomCount {
                room,
                count,
                ts,
                stale_sensors,
            } => {
                if let Some(slot) = state.view.rooms.get_mut(&room)
                    && (slot.count, slot.ts, slot.stale_sensors) != (count, ts, stale_sensors)
                {
                    slot.count = count;
                    slot.ts = ts;
                    slot.stale_sensors = stale_sensors;
                    state.dirty.insert(room);
                    state.schedule_publish(&myself);
                }
            }
            OfficeMsg::RoomCreated(record) => {
                if record.office == state.args.office.id
                    && !state.view.rooms.contains_key(&record.id)
                {
                    if let Err(err) = state.add_room(&myself, record).await {
                        tracing::warn!(office = %state.args.office.id, error = %err, "new room could not start; it starts on its first reading");
                    }
                    state.schedule_publish(&myself);
                }
            }
            OfficeMsg::Subscribe {
                room,
                sender,
                reply,
            } => {
                // Publish pending changes first, so the snapshot's version is exactly its state.
                state.publish();
                let answer = state
                    .check_room(room.as_ref())
                    .map(|()| state.fanout.subscribe(room, sender, &state.view));
                let _ = reply.send(answer);
            }
            OfficeMsg::Occupancy { room, reply } => {
                state.publish();
                let answer = state
                    .check_room(room.as_ref())
                    .map(|()| state.view.snapshot(room.as_ref()));
                let _ = reply.send(answer);
            }
            OfficeMsg::Publish => {
                state.publish_scheduled = false;
                state.publish();
                if state.fanout.has_stale() {
                    state.schedule_publish(&myself);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<OfficeMsg>,
        event: SupervisionEvent,
        state: &mut OfficeState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                let Some(room) = state.by_actor.remove(&cell.get_id()) else {
                    return Ok(());
                };
                metrics::counter!(telemetry::ACTOR_FAILURES, "kind" => "room").increment(1);
                tracing::warn!(tenant = %state.args.office.tenant, office = %state.args.office.id, room = %room, error = %err, "room failed");
                if let Some(slot) = state.view.rooms.get_mut(&room) {
                    slot.actor = None;
                }
                if !state.restarts.allow_restart(room.clone(), Instant::now()) {
                    let policy = state.args.settings.restart;
                    return Err(format!(
                        "room {room} failed more than {} times within {:?}; escalating: {err}",
                        policy.max_restarts, policy.window
                    )
                    .into());
                }
                state.start_room(&myself, &room).await?;
                metrics::counter!(telemetry::ACTOR_RESTARTS, "kind" => "room").increment(1);
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                if let Some(room) = state.by_actor.remove(&cell.get_id())
                    && let Some(slot) = state.view.rooms.get_mut(&room)
                {
                    slot.actor = None;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl OfficeState {
    /// Adds a room record and starts its actor.
    async fn add_room(
        &mut self,
        myself: &ActorRef<OfficeMsg>,
        record: Room,
    ) -> Result<(), ActorProcessingErr> {
        let id = record.id.clone();
        self.view.rooms.insert(id.clone(), RoomSlot::new(record));
        self.start_room(myself, &id).await.map(|_| ())
    }

    /// Starts (or restarts) a known room's actor from its stored state.
    async fn start_room(
        &mut self,
        myself: &ActorRef<OfficeMsg>,
        room: &RoomId,
    ) -> Result<ActorRef<RoomMsg>, ActorProcessingErr> {
        let slot = self
            .view
            .rooms
            .get_mut(room)
            .ok_or_else(|| format!("room {room} is not in this office"))?;
        let args = RoomArgs {
            room: slot.record.clone(),
            store: self.args.store.clone(),
            persister: self.args.persister.clone(),
            office: myself.clone(),
            census: self.args.census.clone(),
            sensor_timeout: self.args.settings.sensor_timeout,
        };
        let (actor, _) = Actor::spawn_linked(None, RoomActor, args, myself.get_cell()).await?;
        self.by_actor.insert(actor.get_id(), room.clone());
        slot.actor = Some(actor.clone());
        Ok(actor)
    }

    /// The actor of a room of this office, starting it if needed.
    async fn room_actor(
        &mut self,
        myself: &ActorRef<OfficeMsg>,
        room: &RoomId,
    ) -> Result<ActorRef<RoomMsg>, ServiceError> {
        if let Some(actor) = self
            .view
            .rooms
            .get(room)
            .and_then(|slot| slot.actor.clone())
        {
            return Ok(actor);
        }
        if !self.view.rooms.contains_key(room) {
            let office = &self.args.office;
            match self.args.store.room(&office.tenant, room).await? {
                Some(record) if record.office == office.id => {
                    self.view.rooms.insert(room.clone(), RoomSlot::new(record));
                }
                _ => return Err(ServiceError::not_found("room", room)),
            }
        }
        self.start_room(myself, room)
            .await
            .map_err(|err| ServiceError::Unavailable(format!("room {room} could not start: {err}")))
    }

    fn check_room(&self, room: Option<&RoomId>) -> Result<(), ServiceError> {
        match room {
            Some(room) if !self.view.rooms.contains_key(room) => {
                Err(ServiceError::not_found("room", room))
            }
            _ => Ok(()),
        }
    }

    fn schedule_publish(&mut self, myself: &ActorRef<OfficeMsg>) {
        if !self.publish_scheduled {
            self.publish_scheduled = true;
            myself.send_after(self.args.settings.coalesce_interval, || OfficeMsg::Publish);
        }
    }

    /// Publishes one delta with every room changed since the last one.
    fn publish(&mut self) {
        if self.dirty.is_empty() {
            self.fanout.resync_stale(&self.view);
            return;
        }
        self.view.version += 1;
        let changed: Vec<RoomOccupancy> = std::mem::take(&mut self.dirty)
            .iter()
            .filter_map(|room| self.view.rooms.get(room))
            .map(RoomSlot::occupancy)
            .collect();
        let total = self
            .view
            .rooms
            .values()
            .map(|slot| u64::from(slot.count))
            .sum();
        self.fanout.publish(
            &self.view.office,
            self.view.version,
            total,
            &changed,
            &self.view,
        );
    }
}
