//! The persister: one per node, it writes the rows of every room in group commits and answers
//! each waiting sensor only once its rows are durable.
//!
//! Group commit without a timer: when idle, a request is written at once; while a write is in
//! flight, requests accumulate and go out together in the next write. Writes are strictly
//! sequential, so an answer (or a [`PersisterMsg::Barrier`]) means every earlier request is durable.
//!
//! # When an office is fenced off
//!
//! A write whose owner token is lower than its office's stored one (a newer owner took the
//! office over, see ARCHITECTURE's fencing invariant) makes the store reject the whole batch.
//! The persister writes the rest again without that office (`fencing.rs`), answers the fenced
//! office's waiters `unavailable` (the office moved; sensors reconnect and resend to its new
//! owner), tells its rooms, which stop, and so does the office, and refuses its later writes
//! at once. Nothing of it is acknowledged after that; the other offices see no difference.
//!
//! # When the store fails
//!
//! - **Transiently** ([`StoreError::is_retryable`]): the same batch is retried with capped
//!   exponential backoff for [`WriteRetry::retry_for`] (`write_retry.rs`), its acknowledgements
//!   held meanwhile; the node's [`StorageHealth`] turns degraded, so the gateway stops admitting
//!   readings and `/readyz` answers 503. If the store answers in time, everyone is acknowledged
//!   and nothing else happened. If not, the batch fails (`unavailable`, nothing acknowledged) and
//!   its rooms are poisoned and restart from storage, like below, without counting toward
//!   restart intensity: a storage fault never quarantines a tenant.
//! - **About the batch's entries** (not found, already exists, corrupt): the batch fails and its
//!   rooms restart from storage; the store itself is fine.
//! - **For good** ([`StoreError::Backend`]: an I/O error such as a failed fsync, after which
//!   fjall poisons itself and refuses every later write, or PostgreSQL refusing tally's role):
//!   the batch fails, health becomes `Failed`, and the persister stops, which stops the node
//!   supervisor; the `tally` binary then exits non-zero so that its process supervisor (systemd,
//!   Kubernetes) restarts it, and the store is reopened with journal recovery. Exiting rather
//!   than reopening in place: after a failed fsync the process cannot tell what of its page
//!   cache reached the disk, every actor and the gateway hold the old store, and a fresh process
//!   rebuilds all in-memory state from what is durable, which is exactly the recovery that the
//!   kill -9 test proves. Sensors reconnect and resend after `welcome.last_seq`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort};
use tally_protocol::{OfficeId, RoomId, TenantId};
use tally_storage::{RoomWrite, SharedStore, StoreError, WriteBatch};
use tracing::Instrument;

use crate::census::{ActorCensus, ActorKind, CensusGuard};
use crate::fencing::{FencedOffice, write_unfenced};
use crate::storage_health::ProbeTask;
use crate::write_retry::WriteRetry;
use crate::{RoomMsg, ServiceError, StorageHealth, telemetry};

/// Answer port of a persisted request: the sensor's highest durable seq.
pub(crate) type AckPort = RpcReplyPort<Result<u64, ServiceError>>;

/// A room's request to persist its rows (or, with no rows, to be answered once everything
/// before it is durable).
#[derive(Debug)]
pub(crate) struct PersistRequest {
    /// The room's rows, if any changed.
    pub write: Option<RoomWrite>,
    /// Seq to acknowledge once durable.
    pub up_to_seq: u64,
    /// Where the acknowledgement goes.
    pub reply: AckPort,
    /// The room, told to restart from storage if the write fails.
    pub room: ActorRef<RoomMsg>,
    /// From the room's enqueueing until the answer (a child of the room's span of the batch):
    /// it closes when the request is answered and dropped.
    pub span: tracing::Span,
}

/// Messages of the [`Persister`].
#[derive(Debug)]
pub(crate) enum PersisterMsg {
    /// Persist a room's rows and acknowledge.
    Persist(PersistRequest),
    /// Answer once every request received before this one is durable.
    Barrier(RpcReplyPort<()>),
    /// A write finished (sent by the persister to itself).
    Written(WrittenBatch),
}

// Local-only: ractor's `cluster` feature (on for the inter-node transport) asks every
// message type to opt in; this one never crosses nodes, so it keeps the default (no serialisation).
impl ractor::Message for PersisterMsg {}

/// Outcome of one group commit (internal to the persister).
#[derive(Debug)]
pub(crate) struct WrittenBatch {
    result: Result<(), StoreError>,
    /// Offices taken out of the batch because a newer owner fenced them off.
    fenced: Vec<FencedOffice>,
    /// The rooms whose rows were taken out with them.
    fenced_rooms: HashSet<ActorId>,
    waiting: Vec<Waiting>,
    /// The rooms whose rows were in the batch (one entry per room).
    writers: Vec<ActorRef<RoomMsg>>,
    rows: usize,
    started: Instant,
}

/// A request waiting for its write.
#[derive(Debug)]
enum Waiting {
    Ack(Box<PersistRequest>),
    Barrier(RpcReplyPort<()>),
}

impl Waiting {
    fn rows(&self) -> usize {
        match self {
            Self::Ack(request) => request
                .write
                .as_ref()
                .map_or(0, |w| w.readings.len() + w.rollups.len() + 1),
            _ => 0,
        }
    }
}

/// The persister actor.
#[derive(Debug)]
pub(crate) struct Persister;

/// Arguments of the [`Persister`].
#[derive(Debug)]
pub(crate) struct PersisterArgs {
    /// Where rows go.
    pub store: SharedStore,
    /// Most rows per group commit.
    pub max_batch_rows: usize,
    /// Where the node counts its live actors.
    pub census: ActorCensus,
    /// The node's storage health, told the outcome of every write.
    pub health: StorageHealth,
    /// How transient write failures are retried.
    pub retry: WriteRetry,
}

/// State of the [`Persister`].
#[derive(Debug)]
pub(crate) struct PersisterState {
    _census: CensusGuard,
    store: SharedStore,
    max_batch_rows: usize,
    queued: Vec<Waiting>,
    writing: bool,
    /// Room incarnations whose write failed: their memory is ahead of storage, so nothing more
    /// of theirs is written or acknowledged; they restart from storage.
    poisoned: HashMap<ActorId, Instant>,
    /// Offices fenced off, with the highest token of theirs the store rejected: their writes
    /// under that token or a lower one are refused without a write.
    fenced: HashMap<(TenantId, OfficeId), u64>,
    health: StorageHealth,
    retry: WriteRetry,
    _probe: ProbeTask,
}

/// How long a failed room incarnation is remembered (it is dead long before).
const POISON_MEMORY: Duration = Duration::from_secs(300);

/// How often a degraded store is probed while nothing is written.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);

impl Actor for Persister {
    type Msg = PersisterMsg;
    type State = PersisterState;
    type Arguments = PersisterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<PersisterMsg>,
        args: PersisterArgs,
    ) -> Result<PersisterState, ActorProcessingErr> {
        let probe = ProbeTask::spawn(args.health.clone(), args.store.clone(), PROBE_INTERVAL);
        Ok(PersisterState {
            _census: args.census.enter(ActorKind::Persister),
            _probe: probe,
            health: args.health,
            retry: args.retry,
            store: args.store,
            max_batch_rows: args.max_batch_rows.max(1),
            queued: Vec::new(),
            writing: false,
            poisoned: HashMap::new(),
            fenced: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<PersisterMsg>,
        message: PersisterMsg,
        state: &mut PersisterState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PersisterMsg::Persist(request) => state.queued.push(Waiting::Ack(Box::new(request))),
            PersisterMsg::Barrier(reply) => state.queued.push(Waiting::Barrier(reply)),
            PersisterMsg::Written(batch) => {
                state.writing = false;
                finish(batch, state)?;
            }
        }
        if !state.writing && !state.queued.is_empty() {
            start_write(&myself, state);
        }
        Ok(())
    }
}

/// Takes queued requests up to the row limit (at least one) and writes them in the background.
fn start_write(myself: &ActorRef<PersisterMsg>, state: &mut PersisterState) {
    let (poisoned, fenced) = (&state.poisoned, &state.fenced);
    let (rejected, kept): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut state.queued)
        .into_iter()
        .partition(|w| match w {
            Waiting::Ack(request) => {
                poisoned.contains_key(&request.room.get_id()) || is_fenced(fenced, request)
            }
            Waiting::Barrier(_) => false,
        });
    state.queued = kept;
    for waiting in rejected {
        if let Waiting::Ack(request) = waiting {
            let answer = if is_fenced(&state.fenced, &request) {
                metrics::counter!(telemetry::FENCED_WRITES).increment(1);
                let _ = request.room.cast(RoomMsg::Fenced);
                moved(request.write.as_ref().map(|w| &w.office))
            } else {
                let reason = "an earlier write of this room failed; it restarts from storage";
                ServiceError::Storage(reason.into())
            };
            let _ = request.reply.send(Err(answer));
        }
    }
    if state.queued.is_empty() {
        return;
    }
    let mut rows = 0;
    let mut take = 0;
    for waiting in &state.queued {
        if take > 0 && rows + waiting.rows() > state.max_batch_rows {
            break;
        }
        rows += waiting.rows();
        take += 1;
    }
    let mut waiting: Vec<Waiting> = state.queued.drain(..take).collect();
    let (batch, writers) = merge(&mut waiting);
    let store = state.store.clone();
    let (health, retry) = (state.health.clone(), state.retry);
    let myself = myself.clone();
    state.writing = true;
    let writer_ids = writers.iter().map(|room| room.get_id()).collect();
    let span = group_commit_span(&waiting, rows);
    let write = async move {
        let started = Instant::now();
        let written = write_unfenced(&store, batch, writer_ids, retry, &health).await;
        // If the persister is gone, the waiting reply ports drop and callers see an error.
        let _ = myself.cast(PersisterMsg::Written(WrittenBatch {
            result: written.result,
            fenced: written.fenced,
            fenced_rooms: written.fenced_rooms,
            waiting,
            writers,
            rows,
            started,
        }));
    };
    tokio::spawn(write.instrument(span));
}

/// The span of one group commit: a child of the first request's span that is recorded (so a
/// traced batch shows its write), following from the others it carries.
fn group_commit_span(waiting: &[Waiting], rows: usize) -> tracing::Span {
    let mut requests = waiting.iter().filter_map(|w| match w {
        Waiting::Ack(request) => request.span.id(),
        Waiting::Barrier(_) => None,
    });
    let first = requests.next();
    let span = tracing::info_span!(parent: first, "persister.group_commit", rows, requests = waiting.len());
    for request in requests {
        span.follows_from(request);
    }
    span
}

/// Whether `request` writes for an office fenced off under its token.
fn is_fenced(fenced: &HashMap<(TenantId, OfficeId), u64>, request: &PersistRequest) -> bool {
    request.write.as_ref().is_some_and(|write| {
        fenced
            .get(&(write.tenant.clone(), write.office.clone()))
            .is_some_and(|&token| write.owner_token <= token)
    })
}

/// The answer to a sensor whose office was fenced off: it moved to a newer owner.
fn moved(office: Option<&OfficeId>) -> ServiceError {
    let office = office.map_or_else(|| "its office".to_owned(), |o| format!("office {o}"));
    ServiceError::Unavailable(format!(
        "{office} moved to another node (fenced off by a newer owner); reconnect and resend"
    ))
}

/// Moves the requests' rows into one batch, merging the writes of the same room (readings and
/// rollups appended, the latest state wins); also returns the rooms that wrote.
fn merge(waiting: &mut [Waiting]) -> (WriteBatch, Vec<ActorRef<RoomMsg>>) {
    let mut index: HashMap<(TenantId, RoomId), usize> = HashMap::new();
    let mut batch = WriteBatch::default();
    let mut writers = Vec::new();
    for request in waiting.iter_mut().filter_map(|w| match w {
        Waiting::Ack(request) => Some(request),
        Waiting::Barrier(_) => None,
    }) {
        let Some(write) = request.write.take() else {
            continue;
        };
        let key = (write.tenant.clone(), write.room.clone());
        match index.get(&key) {
            Some(&i) => {
                let merged = &mut batch.rooms[i];
                merged.readings.extend(write.readings);
                merged.rollups.extend(write.rollups);
                merged.state = write.state;
            }
            None => {
                index.insert(key, batch.rooms.len());
                batch.rooms.push(write);
                writers.push(request.room.clone());
            }
        }
    }
    (batch, writers)
}

/// Answers everyone who waited for a finished write.
///
/// # Errors
/// When the store failed for good ([`StoreError::Backend`]): the persister stops (see the
/// module documentation), after answering everyone with the error.
fn finish(batch: WrittenBatch, state: &mut PersisterState) -> Result<(), ActorProcessingErr> {
    let WrittenBatch {
        result,
        fenced,
        fenced_rooms,
        waiting,
        writers,
        rows,
        started,
    } = batch;
    for office in fenced {
        let token = state
            .fenced
            .entry((office.tenant, office.office))
            .or_default();
        *token = (*token).max(office.token);
    }
    if !fenced_rooms.is_empty() {
        metrics::counter!(telemetry::FENCED_WRITES).increment(fenced_rooms.len() as u64);
    }
    let (fenced_writers, writers): (Vec<_>, Vec<_>) = writers
        .into_iter()
        .partition(|room| fenced_rooms.contains(&room.get_id()));
    for room in &fenced_writers {
        let _ = room.cast(RoomMsg::Fenced);
    }
    match &result {
        Ok(()) => {
            metrics::counter!(telemetry::PERSIST_BATCHES).increment(1);
            metrics::histogram!(telemetry::PERSIST_BATCH_ROWS).record(rows as f64);
            metrics::histogram!(telemetry::PERSIST_SECONDS).record(started.elapsed().as_secs_f64());
        }
        Err(err) => {
            if let StoreError::Backend(_) = err {
                // Before anyone is answered: a sensor that reconnects is refused at once.
                state.health.fail(err);
            }
            metrics::counter!(telemetry::PERSIST_FAILURES).increment(1);
            tracing::error!(error = %err, rows, "group commit failed; rooms restart from storage");
            // Poison first: whatever these rooms send from now on builds on unwritten state.
            let now = Instant::now();
            let poisoned = &mut state.poisoned;
            poisoned.retain(|_, since| now.duration_since(*since) < POISON_MEMORY);
            for room in &writers {
                if poisoned.insert(room.get_id(), now).is_none() {
                    let _ = room.cast(RoomMsg::PersistFailed);
                }
            }
        }
    }
    for waiting in waiting {
        match waiting {
            Waiting::Barrier(reply) => {
                let _ = reply.send(());
            }
            Waiting::Ack(request) if fenced_rooms.contains(&request.room.get_id()) => {
                let _ = request.reply.send(Err(moved(None)));
            }
            Waiting::Ack(request) => {
                let answer = match &result {
                    Ok(()) => Ok(request.up_to_seq),
                    Err(err) if err.is_retryable() => {
                        Err(ServiceError::Unavailable(err.to_string()))
                    }
                    Err(err) => Err(ServiceError::Storage(err.to_string())),
                };
                let _ = request.reply.send(answer);
            }
        }
    }
    match result {
        Err(err @ StoreError::Backend(_)) => {
            Err(format!("the store failed for good: {err}").into())
        }
        _ => Ok(()),
    }
}
