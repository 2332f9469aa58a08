//! Keeps a [`ClusterView`] current: re-reads the membership on every announcement and every
//! `view_refresh_interval`, expiring members whose heartbeat is gone, and holds the last view
//! while Redis is unavailable or has just come back.

use std::time::Duration;

use futures::StreamExt;
use redis::aio::{ConnectionManager, PubSubStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{info, warn};

use super::hold::{ReadSummary, Verdict, ViewHold};
use super::scripts::{self, ViewRead};
use super::view::{ClusterView, MemberState};
use crate::coordination::telemetry;
use crate::coordination::{CoordinationConfig, CoordinationError, Keys};

/// A background task that keeps the membership view of one node current.
///
/// Dropping it stops the task.
#[derive(Debug)]
pub struct MembershipWatcher {
    view: watch::Receiver<ClusterView>,
    redis_up: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl MembershipWatcher {
    /// Reads the membership once and starts watching it. `own_id` is the member this node
    /// registered, if any: a read that lacks it means Redis lost its data (or this node was
    /// expired while stalled), and the last view is kept until the member has re-registered.
    ///
    /// # Errors
    /// [`CoordinationError`] if the first read fails: a node cannot start on a view it never
    /// had.
    pub async fn start(
        config: &CoordinationConfig,
        own_id: Option<String>,
    ) -> Result<MembershipWatcher, CoordinationError> {
        let mut conn = config.connect()?;
        let keys = config.keys();
        let first = scripts::read_view(&mut conn, &keys, true).await?;
        let (view_tx, view) = watch::channel(ClusterView::default());
        let (redis_up_tx, redis_up) = watch::channel(true);
        metrics::gauge!(telemetry::REDIS_UP).set(1.0);
        let mut watch = WatchLoop {
            conn,
            client: config.client()?,
            redis_timeout: config.redis_timeout,
            keys,
            own_id,
            view_tx,
            redis_up_tx,
            settle: config.heartbeat_ttl,
            hold: ViewHold::new(config.heartbeat_ttl),
        };
        watch.adopt(first);
        let task = tokio::spawn(watch.run(config.view_refresh_interval));
        Ok(MembershipWatcher {
            view,
            redis_up,
            task,
        })
    }

    /// The current view; `changed()` wakes on every new epoch or member change.
    pub fn view(&self) -> watch::Receiver<ClusterView> {
        self.view.clone()
    }

    /// Whether the last attempt to read Redis succeeded.
    pub fn redis_up(&self) -> watch::Receiver<bool> {
        self.redis_up.clone()
    }
}

impl Drop for MembershipWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The state of the watching task.
struct WatchLoop {
    conn: ConnectionManager,
    client: redis::Client,
    redis_timeout: Duration,
    keys: Keys,
    own_id: Option<String>,
    view_tx: watch::Sender<ClusterView>,
    redis_up_tx: watch::Sender<bool>,
    /// How long to hold the view after Redis comes back (one heartbeat TTL).
    settle: Duration,
    /// When a read view is published (the hold-over rules).
    hold: ViewHold<Instant, Duration>,
}

impl WatchLoop {
    async fn run(mut self, refresh_interval: Duration) {
        let mut ticker = tokio::time::interval(refresh_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut announcements: Option<PubSubStream> = None;
        loop {
            if announcements.is_none() {
                announcements = self.subscribe().await;
            }
            tokio::select! {
                announced = next_announcement(&mut announcements) => {
                    if announced.is_none() {
                        // The subscription's connection closed: subscribe again, and read
                        // now in case an announcement was lost with it.
                        announcements = None;
                    }
                }
                _ = ticker.tick() => {}
            }
            if self.refresh().await == Refreshed::RedisBack {
                // A subscription that outlived an outage may be dead without knowing it.
                announcements = None;
            }
        }
    }

    /// A subscription to the announcements, or `None` (counted and reported) if Redis is
    /// unavailable.
    async fn subscribe(&mut self) -> Option<PubSubStream> {
        let subscribe = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(self.keys.channel()).await?;
            Ok::<_, redis::RedisError>(pubsub.into_on_message())
        };
        match tokio::time::timeout(self.redis_timeout, subscribe).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                self.redis_failed("subscribe", &error.into());
                None
            }
            Err(_) => {
                let timeout =
                    redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
                self.redis_failed("subscribe", &timeout.into());
                None
            }
        }
    }

    /// Reads the membership and publishes it unless it must be held.
    async fn refresh(&mut self) -> Refreshed {
        let plan = self.hold.plan_read(Instant::now());
        let read = match scripts::read_view(&mut self.conn, &self.keys, plan.expire).await {
            Ok(read) => read,
            Err(error) => {
                self.redis_failed("read_view", &error);
                return Refreshed::Held;
            }
        };
        let own_listed = self
            .own_id
            .as_ref()
            .is_none_or(|own| read.members.iter().any(|m| &m.id == own));
        let summary = ReadSummary {
            epoch: read.epoch,
            own_listed,
        };
        let last_epoch = self.view_tx.borrow().epoch;
        match self
            .hold
            .read_done(Instant::now(), plan, summary, last_epoch)
        {
            Verdict::Publish => {
                self.adopt(read);
                Refreshed::Published
            }
            Verdict::Settling => Refreshed::Held,
            Verdict::RedisBack => {
                info!(
                    settle = ?self.settle,
                    "redis reachable again; holding the membership view while members re-register"
                );
                self.redis_up_tx.send_replace(true);
                metrics::gauge!(telemetry::REDIS_UP).set(1.0);
                Refreshed::RedisBack
            }
            Verdict::Lost => {
                warn!(
                    epoch = read.epoch,
                    last_epoch,
                    own_missing = !own_listed,
                    "redis lost membership records (restarted without them, or this node was \
                     expired while stalled); holding the last view while members re-register"
                );
                Refreshed::Held
            }
        }
    }

    /// Publishes `read` as the view, logging and counting what changed.
    fn adopt(&mut self, read: ViewRead) {
        for id in &read.expired {
            warn!(node = %id, epoch = read.epoch, "member expired: its heartbeat stopped");
            metrics::counter!(telemetry::MEMBERS_EXPIRED).increment(1);
        }
        let view = ClusterView {
            epoch: read.epoch,
            members: read
                .members
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect(),
        };
        self.view_tx.send_if_modified(|current| {
            if *current == view {
                return false;
            }
            record_changes(current, &view);
            *current = view;
            true
        });
    }

    /// Counts and logs a Redis failure; the first of an outage turns `redis_up` false.
    fn redis_failed(&mut self, op: &'static str, error: &CoordinationError) {
        metrics::counter!(telemetry::REDIS_ERRORS, "op" => op).increment(1);
        if self.hold.redis_failed() {
            warn!(
                op,
                %error,
                epoch = self.view_tx.borrow().epoch,
                "redis unavailable; keeping the last membership view, declaring nobody dead"
            );
            self.redis_up_tx.send_replace(false);
            metrics::gauge!(telemetry::REDIS_UP).set(0.0);
        }
    }
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refreshed {
    /// The read view was published (if it differed).
    Published,
    /// Nothing was published: Redis failed, or the view is held.
    Held,
    /// Redis answered after an outage; the view is held for a while.
    RedisBack,
}

/// The next announcement, or never if there is no subscription.
async fn next_announcement(announcements: &mut Option<PubSubStream>) -> Option<redis::Msg> {
    match announcements {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Logs and counts the differences between two views.
fn record_changes(old: &ClusterView, new: &ClusterView) {
    for (id, member) in &new.members {
        match old.members.get(id) {
            None => {
                info!(node = %id, region = %member.region, state = %member.state,
                      cluster_addr = %member.cluster_addr, epoch = new.epoch, "member joined");
                metrics::counter!(telemetry::MEMBERSHIP_CHANGES, "change" => "joined").increment(1);
            }
            Some(before) if before.state != member.state => {
                info!(node = %id, from = %before.state, to = %member.state, epoch = new.epoch,
                      "member changed state");
                metrics::counter!(telemetry::MEMBERSHIP_CHANGES, "change" => "state").increment(1);
            }
            Some(_) => {}
        }
    }
    for id in old
        .members
        .keys()
        .filter(|id| !new.members.contains_key(*id))
    {
        info!(node = %id, epoch = new.epoch, "member left");
        metrics::counter!(telemetry::MEMBERSHIP_CHANGES, "change" => "left").increment(1);
    }
    metrics::gauge!(telemetry::EPOCH).set(new.epoch as f64);
    for state in [
        MemberState::Joining,
        MemberState::Active,
        MemberState::Draining,
    ] {
        let count = new.members.values().filter(|m| m.state == state).count();
        metrics::gauge!(telemetry::MEMBERS, "state" => state.as_str()).set(count as f64);
    }
}
