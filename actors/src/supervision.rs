//! The children of a supervisor (node → tenants, tenant → offices, office → rooms), in one place:
//! running children by key and by actor id, starts in flight with the requests waiting for them,
//! restart intensity, and the failure/restart metrics by kind.
//!
//! Activation never blocks a supervisor: a child starts in a spawned task (store reads, the
//! child's `pre_start`, linking to the supervisor), which reports back with a [`Started`]
//! message. Requests for a child that is starting queue up and are all answered by that one
//! start; the supervisor's other messages keep flowing meanwhile.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::time::{Duration, Instant};

use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, Message, RpcReplyPort,
    SupervisionEvent,
};
use tokio::task::AbortHandle;

use crate::restart_policy::{RestartPolicy, RestartTracker};
use crate::room::{FENCED, STORAGE_FAULT};
use crate::{ServiceError, telemetry};

/// Where a request for a child gets its answer.
pub(crate) type ChildReply<M> = RpcReplyPort<Result<ActorRef<M>, ServiceError>>;

/// Spawns a child linked to `supervisor` and waits for its `pre_start`; a failed start is
/// [`ServiceError::Unavailable`] naming the child. Meant to run inside a [`Children::start`] task.
pub(crate) async fn spawn_child<A: Actor>(
    kind: &str,
    key: &impl Display,
    actor: A,
    args: A::Arguments,
    supervisor: ActorCell,
) -> Result<ActorRef<A::Msg>, ServiceError> {
    Actor::spawn_linked(None, actor, args, supervisor)
        .await
        .map(|(actor, _)| actor)
        .map_err(|err| ServiceError::Unavailable(format!("{kind} {key} could not start: {err}")))
}

/// The outcome of a child's start, sent by its start task to the supervisor (internal).
#[derive(Debug)]
pub struct Started<K, M> {
    key: K,
    result: Result<ActorRef<M>, ServiceError>,
}

impl<K, M> Started<K, M> {
    /// The outcome of starting `key`.
    pub(crate) fn new(key: K, result: Result<ActorRef<M>, ServiceError>) -> Self {
        Self { key, result }
    }

    /// The child this start is of.
    pub(crate) fn key(&self) -> &K {
        &self.key
    }
}

/// How a known child ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChildExit<K> {
    /// It stopped (or was killed with its own children).
    Stopped(K),
    /// It failed (panic, or a handler returned an error); counted in the failure metric.
    Failed(K, String),
    /// It stopped because the store failed (a room whose write failed): restart it from storage,
    /// without counting toward restart intensity.
    StorageFault(K),
    /// It stopped because a newer owner of its office took over (see [`FENCED`]): not restarted
    /// here, not counted as a failure.
    Fenced(K),
}

/// A child whose start is in flight.
#[derive(Debug)]
struct Starting<M> {
    waiters: Vec<ChildReply<M>>,
    /// Messages for the child, delivered once it runs.
    deferred: Vec<M>,
    task: Option<AbortHandle>,
}

impl<M> Default for Starting<M> {
    fn default() -> Self {
        Self {
            waiters: Vec::new(),
            deferred: Vec::new(),
            task: None,
        }
    }
}

/// The children of one supervisor, of one kind.
#[derive(Debug)]
pub(crate) struct Children<K, M> {
    /// Label of the children in metrics and messages: tenant, office, room.
    kind: &'static str,
    policy: RestartPolicy,
    running: HashMap<K, ActorRef<M>>,
    starting: HashMap<K, Starting<M>>,
    by_actor: HashMap<ActorId, K>,
    restarts: RestartTracker<K>,
}

impl<K, M> Children<K, M>
where
    K: Clone + Eq + Hash + Display + Send + 'static,
    M: Message,
{
    /// No children yet; restarts limited by `policy`.
    pub(crate) fn new(kind: &'static str, policy: RestartPolicy) -> Self {
        Self {
            kind,
            policy,
            running: HashMap::new(),
            starting: HashMap::new(),
            by_actor: HashMap::new(),
            restarts: RestartTracker::new(policy),
        }
    }

    /// Whether `key` runs or is starting.
    pub(crate) fn is_active(&self, key: &K) -> bool {
        self.running.contains_key(key) || self.starting.contains_key(key)
    }

    /// Answers `reply` at once if the child runs, else queues it until the child's start ends.
    /// `true` if no start was in flight: the caller must call [`Children::start`] (or answer
    /// the waiters with [`Children::started`]).
    pub(crate) fn request(&mut self, key: &K, reply: ChildReply<M>) -> bool {
        if let Some(actor) = self.running.get(key) {
            let _ = reply.send(Ok(actor.clone()));
            return false;
        }
        let fresh = !self.starting.contains_key(key);
        self.starting
            .entry(key.clone())
            .or_default()
            .waiters
            .push(reply);
        fresh
    }

    /// Casts `message` to the child if it runs, or once it runs if it is starting; drops it if
    /// neither (a child started later reads its state afresh).
    pub(crate) fn send(&mut self, key: &K, message: M) {
        if let Some(actor) = self.running.get(key) {
            let _ = actor.cast(message);
        } else if let Some(starting) = self.starting.get_mut(key) {
            starting.deferred.push(message);
        }
    }

    /// Starts `key` in a spawned task, off the supervisor's message loop: `start` reads what it
    /// needs, spawns the child linked to the supervisor and returns it; the outcome comes back to
    /// `supervisor` as `wrap(Started)`, to be handed to [`Children::started`].
    pub(crate) fn start<S, F>(
        &mut self,
        key: K,
        supervisor: &ActorRef<S>,
        wrap: fn(Started<K, M>) -> S,
        start: F,
    ) where
        S: Message,
        F: Future<Output = Result<ActorRef<M>, ServiceError>> + Send + 'static,
    {
        let supervisor = supervisor.clone();
        let task_key = key.clone();
        let task = tokio::spawn(async move {
            let result = start.await;
            let child = result.as_ref().ok().cloned();
            if supervisor
                .cast(wrap(Started::new(task_key, result)))
                .is_err()
                && let Some(child) = child
            {
                // The supervisor ended while this child started: nobody will use or drain it.
                child.stop(None);
            }
        });
        self.starting.entry(key).or_default().task = Some(task.abort_handle());
    }

    /// Records the outcome of a start: a child that runs is registered, its waiters answered and
    /// its deferred messages delivered; a failed start answers every waiter with the error.
    pub(crate) fn started(&mut self, started: Started<K, M>) -> Result<ActorRef<M>, ServiceError> {
        let Started { key, result } = started;
        let Starting {
            waiters, deferred, ..
        } = self.starting.remove(&key).unwrap_or_default();
        let kind = self.kind;
        // A child that failed before this message arrived is not handed out.
        let result = result.and_then(|actor| {
            if actor.get_status() >= ActorStatus::Draining {
                Err(ServiceError::Unavailable(format!(
                    "{kind} {key} stopped as it started"
                )))
            } else {
                Ok(actor)
            }
        });
        match &result {
            Ok(actor) => {
                self.by_actor.insert(actor.get_id(), key.clone());
                self.running.insert(key, actor.clone());
                for message in deferred {
                    let _ = actor.cast(message);
                }
            }
            Err(err @ ServiceError::NotFound { .. }) => {
                tracing::debug!(kind, key = %key, error = %err, "no such child");
            }
            Err(err) => tracing::warn!(kind, key = %key, error = %err, "child did not start"),
        }
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
        result
    }

    /// Forgets a child that ended, if it is one of these; a failure is counted.
    pub(crate) fn exited(&mut self, event: &SupervisionEvent) -> Option<ChildExit<K>> {
        let (cell, failure, reason) = match event {
            SupervisionEvent::ActorFailed(cell, err) => (cell, Some(err.to_string()), None),
            SupervisionEvent::ActorTerminated(cell, _, reason) => (cell, None, reason.as_deref()),
            _ => return None,
        };
        let key = self.by_actor.remove(&cell.get_id())?;
        if self
            .running
            .get(&key)
            .is_some_and(|actor| actor.get_id() == cell.get_id())
        {
            self.running.remove(&key);
        }
        Some(match failure {
            Some(err) => {
                metrics::counter!(telemetry::ACTOR_FAILURES, "kind" => self.kind).increment(1);
                ChildExit::Failed(key, err)
            }
            None if reason == Some(STORAGE_FAULT) => {
                metrics::counter!(telemetry::STORAGE_RESTARTS, "kind" => self.kind).increment(1);
                ChildExit::StorageFault(key)
            }
            None if reason == Some(FENCED) => ChildExit::Fenced(key),
            None => ChildExit::Stopped(key),
        })
    }

    /// Applies restart intensity to a failure of `key`: `Ok` (counted as a restart) while allowed,
    /// else the error the supervisor fails with, escalating to its own supervisor.
    pub(crate) fn allow_restart(&mut self, key: &K, err: &str) -> Result<(), ActorProcessingErr> {
        if !self.restarts.allow_restart(key.clone(), Instant::now()) {
            return Err(format!(
                "{} {key} failed more than {} times within {:?}; escalating: {err}",
                self.kind, self.policy.max_restarts, self.policy.window
            )
            .into());
        }
        metrics::counter!(telemetry::ACTOR_RESTARTS, "kind" => self.kind).increment(1);
        Ok(())
    }

    /// Takes `key` out of service: its start in flight, if any, is cancelled (its waiters get an
    /// error), and the running child, if any, is returned for the caller to stop (its exit is
    /// still recognised by [`Children::exited`]).
    pub(crate) fn retire(&mut self, key: &K) -> Option<ActorRef<M>> {
        if let Some(task) = self.starting.remove(key).and_then(|starting| starting.task) {
            task.abort();
        }
        self.running.get(key).cloned()
    }

    /// Cancels starts in flight (their waiters get an error) and stops the running children in
    /// turn, each finishing what it was sent first.
    pub(crate) async fn drain(&mut self, timeout: Duration) {
        self.abort_starts();
        for child in self.running.values() {
            let _ = child.drain_and_wait(Some(timeout)).await;
        }
    }

    /// Cancels every start in flight: a child in its `pre_start` is dropped (with whatever it
    /// linked), and nothing was handed out yet.
    fn abort_starts(&mut self) {
        for (_, starting) in self.starting.drain() {
            if let Some(task) = starting.task {
                task.abort();
            }
        }
    }
}

impl<K, M> Drop for Children<K, M> {
    fn drop(&mut self) {
        // A supervisor that dies (or stops) takes its starting children along.
        for starting in self.starting.values() {
            if let Some(task) = &starting.task {
                task.abort();
            }
        }
    }
}
