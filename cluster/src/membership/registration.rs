//! A node's own membership: its record and heartbeat in Redis, and the watcher of the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use super::scripts::{self, Beat};
use super::view::{ClusterView, Member, MemberState};
use super::watcher::MembershipWatcher;
use crate::coordination::telemetry;
use crate::coordination::{CoordinationConfig, CoordinationError, Keys};

/// This node as a member of the cluster: its record and heartbeat in Redis, renewed in the
/// background, and a [`MembershipWatcher`] of the whole membership.
///
/// [`Membership::leave`] deregisters. Dropping it without leaving stops the heartbeat and the
/// watcher, like a crash: the others expire the member once its heartbeat TTL runs out.
#[derive(Debug)]
pub struct Membership {
    id: String,
    record: watch::Sender<Member>,
    /// The offices this node holds, published with every heartbeat and at once when it changes.
    offices_held: watch::Sender<Option<usize>>,
    /// Set when a state change could not be written; the heartbeat rewrites the record.
    record_pending: Arc<AtomicBool>,
    conn: ConnectionManager,
    keys: Keys,
    heartbeat_ttl: Duration,
    watcher: MembershipWatcher,
    heartbeat: JoinHandle<()>,
}

impl Membership {
    /// Registers `member` (normally in state [`MemberState::Joining`]), reads the membership,
    /// and starts the heartbeat and the watcher.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached: a node cannot join without it.
    pub async fn join(
        config: &CoordinationConfig,
        member: Member,
    ) -> Result<Membership, CoordinationError> {
        let mut conn = config.connect()?;
        let keys = config.keys();
        let unknown = Beat {
            member: &member,
            offices_held: None,
        };
        let first =
            scripts::heartbeat(&mut conn, &keys, unknown, config.heartbeat_ttl, 0, true).await?;
        info!(node = %member.id, region = %member.region, state = %member.state,
              epoch = first.epoch, "registered in the cluster");
        let watcher = MembershipWatcher::start(config, Some(member.id.clone())).await?;
        let id = member.id.clone();
        let (record, record_rx) = watch::channel(member);
        let record_pending = Arc::new(AtomicBool::new(false));
        let (offices_held, offices_rx) = watch::channel(None);
        let heartbeat = tokio::spawn(
            Heartbeat {
                conn: conn.clone(),
                keys: keys.clone(),
                ttl: config.heartbeat_ttl,
                record: record_rx,
                offices_held: offices_rx,
                record_pending: record_pending.clone(),
                view: watcher.view(),
            }
            .run(config.heartbeat_interval),
        );
        Ok(Membership {
            id,
            record,
            offices_held,
            record_pending,
            conn,
            keys,
            heartbeat_ttl: config.heartbeat_ttl,
            watcher,
            heartbeat,
        })
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The current membership view; `changed()` wakes on every change.
    pub fn view(&self) -> watch::Receiver<ClusterView> {
        self.watcher.view()
    }

    /// Whether Redis currently answers the watcher.
    pub fn redis_up(&self) -> watch::Receiver<bool> {
        self.watcher.redis_up()
    }

    /// Publishes how many offices this node holds (in its record, field `offices_held`, for
    /// operators: `tally ctl cluster status`): written at once, then with every heartbeat.
    pub fn set_offices_held(&self, held: usize) {
        self.offices_held.send_if_modified(|published| {
            let changed = *published != Some(held);
            *published = Some(held);
            changed
        });
    }

    /// Moves this node to `state` (e.g. active once ready, draining before removal) and
    /// announces it; returns the new epoch.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached; the state is kept and written by the
    /// next heartbeat that reaches Redis.
    pub async fn set_state(&self, state: MemberState) -> Result<u64, CoordinationError> {
        self.record.send_modify(|member| member.state = state);
        let member = self.record.borrow().clone();
        let known_epoch = self.watcher.view().borrow().epoch;
        let mut conn = self.conn.clone();
        let beat = Beat {
            member: &member,
            offices_held: *self.offices_held.borrow(),
        };
        let written = scripts::heartbeat(
            &mut conn,
            &self.keys,
            beat,
            self.heartbeat_ttl,
            known_epoch,
            true,
        )
        .await;
        match written {
            Ok(heartbeat) => {
                info!(node = %self.id, %state, epoch = heartbeat.epoch, "changed state");
                Ok(heartbeat.epoch)
            }
            Err(error) => {
                self.record_pending.store(true, Ordering::SeqCst);
                Err(error)
            }
        }
    }

    /// Leaves the cluster: stops the heartbeat and removes this node's record, so that the
    /// others see it gone at once rather than after its heartbeat TTL.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached; the record then expires with its
    /// heartbeat. Once left, the node stays gone: nothing renews its heartbeat any more.
    pub async fn leave(&self) -> Result<(), CoordinationError> {
        self.heartbeat.abort();
        let mut conn = self.conn.clone();
        let epoch = scripts::leave(&mut conn, &self.keys, &self.id)
            .await
            .inspect_err(|_| {
                metrics::counter!(telemetry::REDIS_ERRORS, "op" => "leave").increment(1);
            })?;
        info!(node = %self.id, ?epoch, "left the cluster");
        Ok(())
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// The heartbeat task of one member.
struct Heartbeat {
    conn: ConnectionManager,
    keys: Keys,
    ttl: Duration,
    record: watch::Receiver<Member>,
    offices_held: watch::Receiver<Option<usize>>,
    record_pending: Arc<AtomicBool>,
    view: watch::Receiver<ClusterView>,
}

impl Heartbeat {
    async fn run(mut self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await; // join just wrote the record
        let mut failing = false;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                // A new count is published at once; the ticker keeps the beats regular.
                Ok(()) = self.offices_held.changed() => {}
            }
            let member = self.record.borrow().clone();
            let offices_held = *self.offices_held.borrow_and_update();
            let force = self.record_pending.swap(false, Ordering::SeqCst);
            let known_epoch = self.view.borrow().epoch;
            let beat = scripts::heartbeat(
                &mut self.conn,
                &self.keys,
                Beat {
                    member: &member,
                    offices_held,
                },
                self.ttl,
                known_epoch,
                force,
            )
            .await;
            match beat {
                Ok(beat) => {
                    if failing {
                        info!(node = %member.id, "heartbeat reaches redis again");
                    }
                    failing = false;
                    if beat.recreated {
                        warn!(node = %member.id, epoch = beat.epoch, state = %member.state,
                              "re-created this node's membership record: redis had lost it, \
                               or this node was expired while stalled");
                        metrics::counter!(telemetry::REREGISTRATIONS).increment(1);
                    }
                }
                Err(error) => {
                    if force {
                        self.record_pending.store(true, Ordering::SeqCst);
                    }
                    metrics::counter!(telemetry::REDIS_ERRORS, "op" => "heartbeat").increment(1);
                    if !failing {
                        warn!(node = %member.id, %error,
                              "heartbeat failed; retrying every heartbeat_interval");
                    }
                    failing = true;
                }
            }
        }
    }
}
