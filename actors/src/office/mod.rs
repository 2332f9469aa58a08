//! The office actor: owns and supervises its rooms, aggregates their counts and publishes
//! coalesced deltas (at most one per `coalesce_interval`) to its display subscribers; a task of
//! the activation finalises the office's rollups, and the tenant's while the office is its anchor,
//! or else asks its tenant supervisor for the anchor (`office_rollups.rs`).

use std::collections::{BTreeMap, BTreeSet};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tally_protocol::{DisplayFrame, RoomId, RoomOccupancy, TimestampMs};
use tally_storage::{Office, Room, SharedStore};

mod client;
mod rooms;
mod view;

pub(crate) use client::room_actor;
pub use client::{office_occupancy, subscribe_display};
use rooms::RoomStarter;
use view::{OfficeView, RoomSlot};

use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::display_fanout::{DisplayFanout, DisplaySink, SnapshotSource};
use crate::office_rollups::OfficeRollups;
use crate::office_rollups_task::{FinaliserContext, FinaliserTask};
use crate::persister::PersisterMsg;
use crate::room::FENCED;
use crate::supervision::{ChildExit, Children, Started};
use crate::{ActorSettings, RoomMsg, ServiceError, TenantMsg};

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
    /// A display's subscription ended (its stream was dropped): release closed subscriptions
    /// now, not at the next publish (a quiet office may not publish for hours).
    DisplayLeft,
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
    /// A room's start ended (sent by its start task).
    RoomStarted(Started<RoomId, RoomMsg>),
}

// Local-only: ractor's `cluster` feature (on for the inter-node transport) asks every
// message type to opt in; this one never crosses nodes, so it keeps the default (no serialisation).
impl ractor::Message for OfficeMsg {}

/// The office actor.
#[derive(Debug)]
pub(crate) struct OfficeActor;

/// Arguments of an [`OfficeActor`].
#[derive(Debug, Clone)]
pub(crate) struct OfficeArgs {
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
    /// The owner token of this activation (0 on a single node; the claimed one in a cluster).
    pub owner_token: u64,
    /// The tenant supervisor (asked for the tenant's anchor office by the finaliser).
    pub supervisor: ActorRef<TenantMsg>,
}

/// State of an [`OfficeActor`].
#[derive(Debug)]
pub(crate) struct OfficeState {
    _census: CensusGuard,
    args: OfficeArgs,
    view: OfficeView,
    rooms: Children<RoomId, RoomMsg>,
    dirty: BTreeSet<RoomId>,
    publish_scheduled: bool,
    fanout: DisplayFanout,
    /// Finalises the office's rollups (and the tenant's, as its anchor) while this activation
    /// lives.
    _rollups: FinaliserTask,
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
        let starter = RoomStarter {
            office: myself.clone(),
            args: args.clone(),
        };
        let mut state = OfficeState {
            _census: args.census.enter(ActorKind::Office),
            _rollups: finaliser(&args).spawn(FinaliserContext {
                store: args.store.clone(),
                every: args.settings.finalise_every,
                supervisor: args.supervisor.clone(),
            }),
            view: OfficeView {
                office: args.office.id.clone(),
                version: 0,
                rooms: BTreeMap::new(),
            },
            rooms: Children::new("room", args.settings.restart),
            args,
            dirty: BTreeSet::new(),
            publish_scheduled: false,
            fanout: DisplayFanout::default(),
        };
        for record in &records {
            let slot = RoomSlot::new(record.clone());
            state.view.rooms.insert(record.id.clone(), slot);
        }
        // Rooms start concurrently; their counts are queued here before the office is handed out.
        for (room, actor) in starter.spawn_all(records).await? {
            // A room that already failed is left out; it starts again when asked for.
            let _ = state.rooms.started(Started::new(room, Ok(actor)));
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
        state.rooms.drain(state.args.settings.call_timeout).await;
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
                if state.rooms.request(&room, reply) {
                    state.start_room(&myself, room);
                }
            }
            OfficeMsg::RoomStarted(started) => {
                let _ = state.rooms.started(started);
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
                    let room = record.id.clone();
                    state.view.rooms.insert(room.clone(), RoomSlot::new(record));
                    // A room being looked up by a `GetRoom` is already starting.
                    if !state.rooms.is_active(&room) {
                        state.start_room(&myself, room);
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
                state.fanout.release_closed();
                let answer = state
                    .check_room(room.as_ref())
                    .map(|()| state.fanout.subscribe(room, sender, &state.view));
                let _ = reply.send(answer);
            }
            OfficeMsg::DisplayLeft => state.fanout.release_closed(),
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
        match state.rooms.exited(&event) {
            Some(ChildExit::Failed(room, err)) => {
                tracing::warn!(tenant = %state.args.office.tenant, office = %state.args.office.id, room = %room, error = %err, "room failed");
                state.rooms.allow_restart(&room, &err)?;
                state.start_room(&myself, room);
            }
            // The store failed, not the room: restart it from storage, outside restart intensity.
            // If the store is still down the start fails, and the next request tries again.
            Some(ChildExit::StorageFault(room)) => state.start_room(&myself, room),
            // A newer owner took the office over: the whole office stops here.
            Some(ChildExit::Fenced(_)) => myself.stop(Some(FENCED.to_owned())),
            _ => {}
        }
        Ok(())
    }
}

/// The finaliser of the office's (and, as its anchor, the tenant's) rollups under this
/// activation's owner token.
fn finaliser(args: &OfficeArgs) -> OfficeRollups {
    let millis = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    OfficeRollups {
        tenant: args.office.tenant.clone(),
        office: args.office.id.clone(),
        owner_token: args.owner_token,
        hold_ms: millis(args.settings.sensor_timeout),
        lateness_ms: millis(args.settings.rollup_lateness),
    }
}

impl OfficeState {
    /// Starts (or restarts) a room in a task, off the office's loop; `GetRoom`s for it wait.
    /// A room the office does not know yet is looked up in the registry first.
    fn start_room(&mut self, myself: &ActorRef<OfficeMsg>, room: RoomId) {
        let starter = RoomStarter {
            office: myself.clone(),
            args: self.args.clone(),
        };
        let known = self.view.rooms.get(&room).map(|slot| slot.record.clone());
        let id = room.clone();
        self.rooms
            .start(room, myself, OfficeMsg::RoomStarted, async move {
                match known {
                    Some(record) => starter.spawn(record).await,
                    None => starter.look_up_and_spawn(id).await,
                }
            });
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
