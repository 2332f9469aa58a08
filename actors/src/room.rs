//! The room actor: live state of one room. Sensors' readings arrive here directly (the gateway
//! caches the room's [`ActorRef`]); the room dedups and applies them, tells its office the new
//! count and hands its rows to the persister, which acknowledges once they are durable. Two
//! timers of its own: one drops silent sensors from the count, one seals the room's rollups
//! once it has heard nothing for the rollup lateness (`rollup/sealing.rs`).

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tally_protocol::{Reading, SensorId, TimestampMs, now_ms};
use tally_storage::{Rollup, Room, RoomWrite, SharedStore};

use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::error::flatten_call;
use crate::persister::{PersistRequest, PersisterMsg};
use crate::room_live::RoomLive;
use crate::room_rollups;
use crate::tenant_labels::count_room_readings;
use crate::{OfficeMsg, ServiceError};

/// The stop reason of a room whose write failed: its supervisor restarts it from storage without
/// counting the restart toward restart intensity.
pub(crate) const STORAGE_FAULT: &str = "storage fault: restart from storage";

/// The stop reason of a room (and then of its office) whose write was rejected because a newer
/// owner of its office took over (a higher owner token): the office moved to another node, so
/// nothing of it restarts here and no supervisor counts it as a failure.
pub(crate) const FENCED: &str = "fenced off: the office has a newer owner";

/// How long a starting room waits for the persister to drain earlier writes.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(30);

/// Messages of a [`RoomActor`].
#[derive(Debug)]
pub enum RoomMsg {
    /// Apply a batch of validated readings of one sensor; answered with the sensor's highest
    /// durable seq once the rows are durable. An empty batch just reports that seq.
    Ingest {
        /// The sensor (authenticated by the gateway to this room).
        sensor: SensorId,
        /// Validated readings.
        items: Vec<Reading>,
        /// Node time of arrival.
        received_at: TimestampMs,
        /// Where the answer goes (forwarded to the persister).
        reply: RpcReplyPort<Result<u64, ServiceError>>,
        /// The sender's span (the gateway's, or the transport's for a forwarded batch): the
        /// parent of the room's span of this batch, so one trace follows it.
        caller: tracing::Span,
    },
    /// A write of this room failed: its memory is ahead of storage, so it stops on purpose (with
    /// [`STORAGE_FAULT`] as the reason) and its office restarts it from storage.
    PersistFailed,
    /// A write of this room was rejected because its office has a newer owner: the room stops
    /// (with [`FENCED`] as the reason) and so does its office.
    Fenced,
    /// Re-evaluate which sensors are silent for too long (sent by the room to itself).
    CheckStale,
    /// Seal the room's rollups if it received no reading for the rollup lateness (sent by the
    /// room to itself every [`seal_every`] of the lateness).
    Seal,
    /// Test-only fault: panic inside the handler.
    #[cfg(feature = "fault-injection")]
    InjectPanic,
}

// Local-only: ractor's `cluster` feature (on for the inter-node transport) asks every
// message type to opt in; this one never crosses nodes, so it keeps the default (no serialisation).
impl ractor::Message for RoomMsg {}

/// The room actor.
#[derive(Debug)]
pub(crate) struct RoomActor;

/// Arguments of a [`RoomActor`].
#[derive(Debug, Clone)]
pub(crate) struct RoomArgs {
    /// The room's registry record.
    pub room: Room,
    /// Where its state is restored from.
    pub store: SharedStore,
    /// The node's persister.
    pub persister: ActorRef<PersisterMsg>,
    /// The office that aggregates the room.
    pub office: ActorRef<OfficeMsg>,
    /// Where the node counts its live actors.
    pub census: ActorCensus,
    /// A sensor silent this long stops counting.
    pub sensor_timeout: Duration,
    /// How far behind its rolled-up part a late reading still corrects the room's rollups.
    pub rollup_lateness: Duration,
    /// The owner token of its office's activation, carried by every write.
    pub owner_token: u64,
}

/// State of a [`RoomActor`].
#[derive(Debug)]
pub(crate) struct RoomState {
    _census: CensusGuard,
    room: Room,
    live: RoomLive,
    persister: ActorRef<PersisterMsg>,
    office: ActorRef<OfficeMsg>,
    /// When the next staleness check is scheduled (node time).
    stale_check_at: Option<TimestampMs>,
    /// Stale sensors as last told to the office.
    published_stale: u32,
    /// The owner token of its office's activation, carried by every write.
    owner_token: u64,
}

impl Actor for RoomActor {
    type Msg = RoomMsg;
    type State = RoomState;
    type Arguments = RoomArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RoomMsg>,
        args: RoomArgs,
    ) -> Result<RoomState, ActorProcessingErr> {
        // Writes of an earlier incarnation may still be in flight: wait for them, then read.
        let barrier = args
            .persister
            .call(PersisterMsg::Barrier, Some(BARRIER_TIMEOUT))
            .await;
        flatten_call(
            "persister",
            barrier.map(|answer| answer.map(|()| Ok::<(), ServiceError>(()))),
        )?;
        let stored = args
            .store
            .room_state(&args.room.tenant, &args.room.id)
            .await?
            .unwrap_or_default();
        let rollups = room_rollups::restore(
            args.store.as_ref(),
            &args.room,
            &stored,
            args.sensor_timeout,
            args.rollup_lateness,
        )
        .await?;
        let live = RoomLive::new(args.room.count_mode, args.sensor_timeout, stored, rollups);
        let stale = live.stale_sensors(now_ms());
        // Queued before the office hands out this room, so snapshots never miss its count.
        args.office
            .cast(OfficeMsg::RoomCount {
                room: args.room.id.clone(),
                count: live.count(),
                ts: live.ts(),
                stale_sensors: stale,
            })
            .map_err(|err| format!("office of room {} is gone: {err}", args.room.id))?;
        // Sensors may have gone silent while the room was down: check at once.
        myself.cast(RoomMsg::CheckStale)?;
        // The timer task ends when the room stops (its sends fail).
        myself.send_interval(seal_every(args.rollup_lateness), || RoomMsg::Seal);
        tracing::debug!(tenant = %args.room.tenant, room = %args.room.id, count = live.count(), "room started");
        Ok(RoomState {
            _census: args.census.enter(ActorKind::Room),
            room: args.room,
            live,
            persister: args.persister,
            office: args.office,
            stale_check_at: None,
            published_stale: stale,
            owner_token: args.owner_token,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<RoomMsg>,
        message: RoomMsg,
        state: &mut RoomState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RoomMsg::Ingest {
                sensor,
                items,
                received_at,
                reply,
                caller,
            } => {
                let span = tracing::info_span!(parent: &caller, "room.ingest", tenant = %state.room.tenant, office = %state.room.office, room = %state.room.id, sensor = %sensor, readings = items.len());
                span.in_scope(|| ingest(myself, state, &sensor, &items, received_at, reply));
                Ok(())
            }
            RoomMsg::CheckStale => {
                check_stale(&myself, state);
                Ok(())
            }
            RoomMsg::Seal => {
                if let Some(rollups) = state.live.seal(now_ms()) {
                    tracing::debug!(tenant = %state.room.tenant, room = %state.room.id, frontier = ?state.live.state().rollups, "quiet room sealed its rollups");
                    persist_unanswered(&myself, state, rollups);
                }
                Ok(())
            }
            RoomMsg::PersistFailed => {
                // A stop, not a failure: the store failed, not this room, so its restart does
                // not count toward restart intensity (no tenant is quarantined for a storage fault).
                tracing::warn!(tenant = %state.room.tenant, room = %state.room.id, "a write of the room failed; restarting from storage");
                myself.stop(Some(STORAGE_FAULT.to_owned()));
                Ok(())
            }
            RoomMsg::Fenced => {
                tracing::warn!(tenant = %state.room.tenant, office = %state.room.office, room = %state.room.id, owner_token = state.owner_token, "the office has a newer owner; stopping");
                myself.stop(Some(FENCED.to_owned()));
                Ok(())
            }
            #[cfg(feature = "fault-injection")]
            RoomMsg::InjectPanic => panic!("injected fault in room {}", state.room.id),
        }
    }
}

/// Applies a batch and sends its rows to the persister with the reply port.
fn ingest(
    myself: ActorRef<RoomMsg>,
    state: &mut RoomState,
    sensor: &SensorId,
    items: &[Reading],
    received_at: TimestampMs,
    reply: RpcReplyPort<Result<u64, ServiceError>>,
) {
    let applied = state.live.apply(sensor, items, received_at);
    count_room_readings(
        state.room.tenant.as_str(),
        applied.readings.len() as u64,
        applied.duplicates as u64,
        applied.late as u64,
        applied.corrected as u64,
    );
    if applied.count_changed || !applied.readings.is_empty() {
        publish_count(state, received_at);
    }
    schedule_stale_check(&myself, state, received_at);
    let write = (!applied.readings.is_empty() || !applied.rollups.is_empty()).then(|| RoomWrite {
        tenant: state.room.tenant.clone(),
        office: state.room.office.clone(),
        room: state.room.id.clone(),
        owner_token: state.owner_token,
        readings: applied.readings,
        state: state.live.state().clone(),
        rollups: applied.rollups,
    });
    let rows = write
        .as_ref()
        .map_or(0, |w| w.readings.len() + w.rollups.len());
    let request = PersistRequest {
        write,
        up_to_seq: applied.up_to_seq,
        reply,
        room: myself,
        span: tracing::info_span!("persister.persist", up_to_seq = applied.up_to_seq, rows),
    };
    // If the persister is gone, the request (and its reply port) comes back: answer it here.
    if let Err(ractor::MessagingErr::SendErr(PersisterMsg::Persist(request))) =
        state.persister.cast(PersisterMsg::Persist(request))
    {
        let _ = request.reply.send(Err(ServiceError::Unavailable(
            "persister is not running".into(),
        )));
    }
}

/// The pending answer to [`send_readings`]: the sensor's highest durable seq.
pub type AckReceiver = tokio::sync::oneshot::Receiver<Result<u64, ServiceError>>;

/// Enqueues a batch of one sensor's validated readings at the room, now, and returns where the
/// answer will arrive; the room's span of the batch is a child of the current span. Batches sent one after another are applied in that order; a caller that
/// pipelines batches must send them with this, in seq order, before awaiting any answer.
///
/// # Errors
/// [`ServiceError::Unavailable`] if the room is not running.
pub fn send_readings(
    room: &ActorRef<RoomMsg>,
    sensor: SensorId,
    items: Vec<Reading>,
    received_at: TimestampMs,
) -> Result<AckReceiver, ServiceError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    room.cast(RoomMsg::Ingest {
        sensor,
        items,
        received_at,
        reply: reply.into(),
        caller: tracing::Span::current(),
    })
    .map_err(|_| ServiceError::Unavailable("room is not running".into()))?;
    Ok(answer)
}

/// Waits for the answer of [`send_readings`].
///
/// # Errors
/// [`ServiceError::Unavailable`] if the room stopped or did not answer within `timeout`,
/// [`ServiceError::Storage`] if the write failed.
pub async fn await_ack(answer: AckReceiver, timeout: Duration) -> Result<u64, ServiceError> {
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(ServiceError::Unavailable(
            "room stopped before answering".into(),
        )),
        Err(_) => Err(ServiceError::Unavailable(
            "room did not answer in time".into(),
        )),
    }
}

/// Tells the office the room's count and how many of its sensors are stale.
fn publish_count(state: &mut RoomState, now: TimestampMs) {
    state.published_stale = state.live.stale_sensors(now);
    let update = OfficeMsg::RoomCount {
        room: state.room.id.clone(),
        count: state.live.count(),
        ts: state.live.ts(),
        stale_sensors: state.published_stale,
    };
    if let Err(err) = state.office.cast(update) {
        tracing::warn!(room = %state.room.id, error = %err, "office gone; count not published");
    }
}

/// Schedules a staleness check for when the next counting sensor would turn stale, unless an
/// earlier one is already scheduled. One timer per room at most is pending at a time.
fn schedule_stale_check(myself: &ActorRef<RoomMsg>, state: &mut RoomState, now: TimestampMs) {
    let Some(at) = state.live.next_stale_at(now) else {
        return;
    };
    if state
        .stale_check_at
        .is_some_and(|scheduled| scheduled <= at)
    {
        return;
    }
    state.stale_check_at = Some(at);
    let delay = Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0));
    myself.send_after(delay, || RoomMsg::CheckStale);
}

/// Drops silent sensors from the count; publishes and persists the change.
fn check_stale(myself: &ActorRef<RoomMsg>, state: &mut RoomState) {
    state.stale_check_at = None;
    let now = now_ms();
    let changed = state.live.refresh(now);
    if changed || state.live.stale_sensors(now) != state.published_stale {
        tracing::debug!(room = %state.room.id, count = state.live.count(), "sensor staleness changed the room");
        publish_count(state, now);
    }
    if changed {
        persist_unanswered(myself, state, Vec::new());
    }
    schedule_stale_check(myself, state, now);
}

/// Hands the room's state and `rollups` to the persister, after every earlier write of the
/// room. Nobody waits for this write; if it fails the persister restarts the room as usual.
fn persist_unanswered(myself: &ActorRef<RoomMsg>, state: &RoomState, rollups: Vec<Rollup>) {
    let write = RoomWrite {
        tenant: state.room.tenant.clone(),
        office: state.room.office.clone(),
        room: state.room.id.clone(),
        owner_token: state.owner_token,
        readings: Vec::new(),
        state: state.live.state().clone(),
        rollups,
    };
    let (reply, _unanswered) = tokio::sync::oneshot::channel();
    let request = PersistRequest {
        write: Some(write),
        up_to_seq: 0,
        reply: reply.into(),
        room: myself.clone(),
        span: tracing::Span::none(),
    };
    let _ = state.persister.cast(PersisterMsg::Persist(request));
}

/// How often a room looks whether it is quiet enough to seal its rollups: half the lateness,
/// at least a second and at most a minute (the frontier moves by whole minutes).
pub(crate) fn seal_every(lateness: Duration) -> Duration {
    (lateness / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Sends a batch to a room and waits until it is durable; answers the sensor's highest durable
/// seq. An empty `items` just asks for that seq.
///
/// # Errors
/// As [`send_readings`] and [`await_ack`].
pub async fn ingest_readings(
    room: &ActorRef<RoomMsg>,
    sensor: SensorId,
    items: Vec<Reading>,
    received_at: TimestampMs,
    timeout: Duration,
) -> Result<u64, ServiceError> {
    await_ack(send_readings(room, sensor, items, received_at)?, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_every_is_half_the_lateness_between_a_second_and_a_minute() {
        let secs = Duration::from_secs;
        assert_eq!(seal_every(secs(3_600)), secs(60));
        assert_eq!(seal_every(secs(90)), secs(45));
        assert_eq!(seal_every(Duration::ZERO), secs(1));
    }
}
