//! A simulated node's membership: its heartbeat (the production script's rules, in the Redis
//! model) and its watcher, which reads the view and publishes it by the production hold-over
//! rules ([`ViewHold`]): ordered by epoch, held through Redis outages and for one settle
//! period after Redis answers again or loses membership records.

use tally_cluster::membership::{ReadPlan, ReadSummary, Verdict, ViewHold};
use tally_cluster::ownership::Mutation;

use super::faults::FaultKind;
use super::redis::{Beat, ViewRead};
use super::world::{RedisOp, World};

/// How often a node writes its heartbeat.
const HEARTBEAT_EVERY: u64 = 500;
/// How long a heartbeat keeps a member live; also how long the watcher holds views after
/// Redis answers again (production: `heartbeat_ttl` both).
pub(crate) const HEARTBEAT_TTL: u64 = 1_500;
/// How often the watcher reads the membership.
const READ_EVERY: u64 = 500;

/// One node process's membership: a new one with every incarnation.
#[derive(Debug)]
pub(crate) struct Watch {
    /// The epoch of the view it published last.
    pub(crate) epoch: u64,
    hold: ViewHold<u64, u64>,
    /// The read in flight, if one is (one at a time, as the production watcher's loop).
    reading: Option<ReadPlan>,
    /// Whether it published a view yet (the first read is adopted as is, as at start).
    started: bool,
    next_heartbeat: u64,
    next_read: u64,
    /// Its record must be written by the next heartbeat (it joined, or its state changed).
    pub(crate) record_pending: bool,
}

impl Watch {
    /// A process that just started: it registers with its first heartbeat.
    pub(crate) fn new(mutation: Option<Mutation>) -> Watch {
        Watch {
            epoch: 0,
            hold: ViewHold::with_mutation(HEARTBEAT_TTL, mutation),
            reading: None,
            started: false,
            next_heartbeat: 0,
            next_read: 0,
            record_pending: true,
        }
    }

    /// Its state changed (a drain began or was called off): written at once.
    pub(crate) fn state_changed(&mut self) {
        self.record_pending = true;
        self.next_heartbeat = 0;
    }
}

impl World {
    /// Node `node` heartbeats and reads the membership when due.
    pub(crate) fn membership_tick(&mut self, node: usize) {
        let clock = self.clock(node);
        let draining = self.nodes[node].draining;
        let watch = &mut self.nodes[node].watch;
        if clock >= watch.next_heartbeat {
            watch.next_heartbeat = clock + HEARTBEAT_EVERY;
            let beat = Beat {
                draining,
                force: watch.record_pending,
                known_epoch: watch.epoch,
            };
            self.call_redis(node, RedisOp::Heartbeat(beat));
        }
        let watch = &mut self.nodes[node].watch;
        if clock >= watch.next_read && watch.reading.is_none() {
            watch.next_read = clock + READ_EVERY;
            let plan = watch.hold.plan_read(clock);
            watch.reading = Some(plan);
            let read = RedisOp::ReadView {
                expire: plan.expire,
            };
            self.call_redis(node, read);
        }
    }

    /// A view read of `node` came back (`None`: Redis could not be reached).
    pub(crate) fn view_read(&mut self, node: usize, read: Option<ViewRead>) {
        let clock = self.clock(node);
        let watch = &mut self.nodes[node].watch;
        let Some(plan) = watch.reading.take() else {
            return;
        };
        let Some(read) = read else {
            if watch.hold.redis_failed() {
                self.counts.fired(FaultKind::ViewHeld);
            }
            return;
        };
        let summary = ReadSummary {
            epoch: read.epoch,
            own_listed: read.own_listed,
        };
        let verdict = if watch.started {
            watch.hold.read_done(clock, plan, summary, watch.epoch)
        } else {
            Verdict::Publish
        };
        match verdict {
            Verdict::Publish => self.publish(node, read),
            Verdict::Lost => self.counts.fired(FaultKind::ViewHeld),
            Verdict::Settling | Verdict::RedisBack => {}
        }
    }

    /// Node `node` publishes `read` as its view; its offices learn where placement now puts
    /// them.
    fn publish(&mut self, node: usize, read: ViewRead) {
        let process = (node, self.nodes[node].inc);
        self.checker.view_published(process, read.epoch);
        let state = &mut self.nodes[node];
        state.watch.started = true;
        state.watch.epoch = read.epoch;
        if state.view != read.targets {
            state.view = read.targets;
            self.view_changed(node);
        }
    }
}
