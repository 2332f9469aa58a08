//! What a simulated node does: it ticks its offices' state machines, routes readings to the
//! owner (forwarding them like the transport), and carries the machines' commands out against
//! Redis, the store and the network.

use rand::Rng;
use tally_cluster::ownership::decision::WriteOutcome;
use tally_cluster::ownership::{Command, Event, LeaseTiming, OfficeOwnership, Phase, TokenSource};

use super::Reading;
use super::faults::FaultKind;
use super::redis::LeaseAnswer;
use super::watcher::HEARTBEAT_TTL;
use super::world::{Happening, Msg, RedisOp, Status, StoreOp, World};

/// Lease timings of the simulated nodes (ms).
pub(crate) const TIMING: LeaseTiming = LeaseTiming {
    ttl: 2_000,
    renew_every: 500,
};
/// How long a caller waits for Redis or the store before it gives up.
const CALL_TIMEOUT: u64 = 300;

impl World {
    /// The node's own clock.
    pub(crate) fn clock(&self, node: usize) -> u64 {
        self.now - self.nodes[node].lag
    }

    pub(crate) fn node_tick(&mut self, node: usize) {
        if self.nodes[node].status != Status::Up {
            return;
        }
        self.membership_tick(node);
        let offices: Vec<usize> = self.nodes[node].offices.keys().copied().collect();
        for office in offices {
            self.drive(node, office, Event::Tick);
        }
        self.leave_if_drained(node);
    }

    /// Node `node` starts draining: it claims nothing more and hands every office off (as
    /// production's `ClusterRouter::drain`: the view change with `draining`).
    pub(crate) fn drain(&mut self, node: usize) {
        self.nodes[node].draining = true;
        self.nodes[node].watch.state_changed();
        self.view_changed(node);
        self.leave_if_drained(node);
    }

    /// A draining node that holds no office any more, with nothing unwritten, leaves: its
    /// process ends (it restarts, a new incarnation, when the drain's fault ends).
    fn leave_if_drained(&mut self, node: usize) {
        let state = &self.nodes[node];
        let idle = |m: &OfficeOwnership<Reading>| m.phase() == Phase::Idle && m.unwritten() == 0;
        if !state.draining || state.status != Status::Up || !state.offices.values().all(idle) {
            return;
        }
        self.call_redis(node, RedisOp::Leave);
        let state = &mut self.nodes[node];
        state.status = Status::Down;
        state.inc += 1;
        state.offices.clear();
        state.running.clear();
        state.view.clear();
        self.counts.fired(FaultKind::DrainDone);
    }

    /// Tells every office of `node` how placement in its view (and its draining) stands.
    pub(crate) fn view_changed(&mut self, node: usize) {
        let draining = self.nodes[node].draining;
        let offices: Vec<usize> = self.nodes[node].offices.keys().copied().collect();
        for office in offices {
            let owner_is_me = self.owner(&self.nodes[node].view, office) == Some(node);
            let event = Event::View {
                owner_is_me,
                draining,
            };
            self.drive(node, office, event);
        }
    }

    /// A happening addressed to a node: dropped if the node is down (or was restarted since),
    /// held back while it is paused.
    pub(crate) fn at_node(&mut self, happening: Happening) {
        let (node, inc) = match &happening {
            Happening::Deliver(Msg::Reading { to, .. })
            | Happening::Deliver(Msg::Forward { to, .. })
            | Happening::Deliver(Msg::AckRelay { to, .. }) => (*to, None),
            Happening::Deliver(Msg::Ack { sensor, seq }) => {
                let sensor = &mut self.sensors[*sensor];
                if sensor.pending.remove(seq).is_some() {
                    sensor.acked.insert(*seq);
                }
                return;
            }
            Happening::Reply { node, inc, .. } | Happening::View { node, inc, .. } => {
                (*node, Some(*inc))
            }
            _ => return,
        };
        let state = &mut self.nodes[node];
        if state.status == Status::Down || inc.is_some_and(|inc| inc != state.inc) {
            return;
        }
        if let Status::Paused { .. } = state.status {
            state.deferred.push(happening);
            return;
        }
        match happening {
            Happening::Deliver(Msg::Reading { to, reading }) => self.reading(to, reading, false),
            Happening::Deliver(Msg::Forward { to, reading }) => self.reading(to, reading, true),
            Happening::Deliver(Msg::AckRelay { to, readings }) => {
                for reading in readings {
                    self.ack_sensor(to, reading);
                }
            }
            Happening::Reply {
                node,
                office,
                event,
                ..
            } => {
                if let Event::WriteDone { batch, outcome } = event {
                    let inc = self.nodes[node].inc;
                    self.checker.write_done((node, inc), office, batch, outcome);
                }
                if self.nodes[node].offices.contains_key(&office) {
                    self.drive(node, office, event);
                }
            }
            Happening::View { node, read, .. } => self.view_read(node, read),
            _ => {}
        }
    }

    /// A reading arrived at `node`: taken if placement names it owner, else forwarded to the
    /// owner (once).
    fn reading(&mut self, node: usize, reading: Reading, forwarded: bool) {
        let office = self.sensors[reading.sensor].office;
        match self.owner(&self.nodes[node].view, office) {
            Some(owner) if owner == node => {
                let mutation = self.mutation;
                self.nodes[node]
                    .offices
                    .entry(office)
                    .or_insert_with(|| OfficeOwnership::with_mutation(TIMING, mutation));
                let request = Event::Request {
                    owner_is_me: true,
                    draining: self.nodes[node].draining,
                };
                self.drive(node, office, request);
                self.drive(node, office, Event::Reading(reading));
            }
            Some(owner) if !forwarded => {
                let msg = Msg::Forward { to: owner, reading };
                self.send(Some(node), Some(owner), msg);
            }
            _ => {}
        }
    }

    /// Node `node` passes the ack of `reading` to its sensor, if connected here.
    fn ack_sensor(&mut self, node: usize, reading: Reading) {
        if self.sensors[reading.sensor].node == node {
            let msg = Msg::Ack {
                sensor: reading.sensor,
                seq: reading.seq,
            };
            self.send(Some(node), None, msg);
        }
    }

    /// Feeds `event` to the machine of `office` on `node` and carries its commands out.
    fn drive(&mut self, node: usize, office: usize, event: Event<Reading>) {
        let clock = self.clock(node);
        let Some(machine) = self.nodes[node].offices.get_mut(&office) else {
            return;
        };
        for command in machine.handle(clock, event) {
            self.issued.push((node, office, command.clone()));
            self.execute(node, office, command);
        }
    }

    fn execute(&mut self, node: usize, office: usize, command: Command<Reading>) {
        let process = (node, self.nodes[node].inc);
        match command {
            Command::AcquireLease => self.call_redis(node, RedisOp::Acquire(office)),
            Command::RenewLease => self.call_redis(node, RedisOp::Renew(office)),
            Command::ReleaseLease => {
                if let Some(&token) = self.nodes[node].running.get(&office) {
                    self.checker.released(process, office, token);
                }
                self.call_redis(node, RedisOp::Release(office));
            }
            Command::MintToken(TokenSource::Store) => self.call_store(node, office, StoreOp::Mint),
            Command::MintToken(TokenSource::RedisCounter) => {
                self.call_redis(node, RedisOp::MintCounter(office));
            }
            Command::Activated { token } => {
                self.nodes[node].running.insert(office, token);
                self.checker.activated(process, office, token);
            }
            Command::Deactivated { .. } => {
                self.nodes[node].running.remove(&office);
            }
            Command::Write {
                batch,
                token,
                readings,
            } => {
                self.checker.write_sent(process, office, batch, token);
                let op = StoreOp::Write {
                    batch,
                    token,
                    readings,
                };
                self.call_store(node, office, op);
            }
            Command::Ack { token, readings } => {
                self.checker
                    .acked(process, office, token, &readings, &self.store);
                let (here, relayed): (Vec<Reading>, Vec<Reading>) =
                    readings.into_iter().partition(|r| r.via == node);
                for reading in here {
                    self.ack_sensor(node, reading);
                }
                let mut by_via = std::collections::BTreeMap::<usize, Vec<Reading>>::new();
                for reading in relayed {
                    by_via.entry(reading.via).or_default().push(reading);
                }
                for (via, readings) in by_via {
                    let msg = Msg::AckRelay { to: via, readings };
                    self.send(Some(node), Some(via), msg);
                }
            }
            Command::Reject(_) => {}
        }
    }

    /// A Redis call from `node`: fails after a timeout if the node is cut off from Redis.
    pub(crate) fn call_redis(&mut self, node: usize, op: RedisOp) {
        let state = &self.nodes[node];
        let inc = state.inc;
        if state.partitioned || state.redis_cut {
            if let Some(failed) = unreachable(node, inc, op) {
                self.after(CALL_TIMEOUT, failed);
            }
            return;
        }
        let delay = self.rng.random_range(1..=5);
        self.after(delay, Happening::AtRedis { node, inc, op });
    }

    pub(crate) fn at_redis(&mut self, node: usize, inc: u64, op: RedisOp) {
        let now = self.now;
        let delay = self.rng.random_range(1..=5);
        if !self.redis.up(now) {
            if let Some(failed) = unreachable(node, inc, op) {
                self.after(delay, failed);
            }
            return;
        }
        let holder = (node, inc);
        let reply = |office, event| Happening::Reply {
            node,
            inc,
            office,
            event,
        };
        let answer = match op {
            RedisOp::Acquire(office) => match self.redis.acquire(now, office, holder, TIMING.ttl) {
                LeaseAnswer::Done => reply(office, Event::LeaseAcquired),
                LeaseAnswer::NotOurs => reply(office, Event::LeaseRefused),
            },
            RedisOp::Renew(office) => match self.redis.renew(now, office, holder, TIMING.ttl) {
                LeaseAnswer::Done => reply(office, Event::LeaseRenewed),
                LeaseAnswer::NotOurs => reply(office, Event::LeaseNotHeld),
            },
            RedisOp::Release(office) => {
                self.redis.release(now, office, holder);
                return;
            }
            RedisOp::MintCounter(office) => {
                // The mutation's naive scheme: the counter's value becomes the store's token.
                let token = self.redis.incr(office);
                self.store.set_token(office, token);
                reply(office, Event::TokenMinted(token))
            }
            RedisOp::Heartbeat(beat) => {
                self.redis.heartbeat(now, node, beat, HEARTBEAT_TTL);
                if beat.force && self.nodes[node].inc == inc {
                    self.nodes[node].watch.record_pending = false;
                }
                return;
            }
            RedisOp::ReadView { expire } => Happening::View {
                node,
                inc,
                read: Some(self.redis.read_view(now, node, expire)),
            },
            RedisOp::Leave => {
                self.redis.leave(node);
                return;
            }
        };
        self.after(delay, answer);
    }

    /// A store call from `node`: with the profile's probability it times out, its write
    /// landing or not.
    fn call_store(&mut self, node: usize, office: usize, op: StoreOp) {
        let inc = self.nodes[node].inc;
        let arrive = self.rng.random_range(1..=20);
        if self.faulty() && self.rng.random_bool(self.profile.store_timeout) {
            let failed = match &op {
                StoreOp::Mint => Event::TokenFailed,
                StoreOp::Write { batch, .. } => Event::WriteDone {
                    batch: *batch,
                    outcome: WriteOutcome::Failed,
                },
            };
            if self.rng.random_bool(0.5) {
                // It may land after its caller gave up, even after the caller wrote again.
                let arrive = self.rng.random_range(1..=2 * CALL_TIMEOUT);
                self.counts.fired(FaultKind::StoreTimeoutLanded);
                let at_store = Happening::AtStore {
                    node,
                    inc,
                    office,
                    op,
                    answer: false,
                };
                self.after(arrive, at_store);
            } else {
                self.counts.fired(FaultKind::StoreTimeoutLost);
            }
            let reply = Happening::Reply {
                node,
                inc,
                office,
                event: failed,
            };
            self.after(CALL_TIMEOUT, reply);
            return;
        }
        let at_store = Happening::AtStore {
            node,
            inc,
            office,
            op,
            answer: true,
        };
        self.after(arrive, at_store);
    }

    pub(crate) fn at_store(
        &mut self,
        node: usize,
        inc: u64,
        office: usize,
        op: StoreOp,
        answer: bool,
    ) {
        let event = match op {
            StoreOp::Mint => Event::TokenMinted(self.store.mint(office)),
            StoreOp::Write {
                batch,
                token,
                readings,
            } => Event::WriteDone {
                batch,
                outcome: self.store.write(office, token, &readings),
            },
        };
        if answer {
            let delay = self.rng.random_range(1..=20);
            let reply = Happening::Reply {
                node,
                inc,
                office,
                event,
            };
            self.after(delay, reply);
        }
    }
}

/// The answer to a Redis call that could not reach Redis.
fn unreachable(node: usize, inc: u64, op: RedisOp) -> Option<Happening> {
    let (office, event) = match op {
        RedisOp::Acquire(office) => (office, Event::LeaseUnreachable),
        RedisOp::Renew(office) => (office, Event::LeaseRenewUnreachable),
        RedisOp::MintCounter(office) => (office, Event::TokenFailed),
        RedisOp::ReadView { .. } => {
            return Some(Happening::View {
                node,
                inc,
                read: None,
            });
        }
        // Nobody waits for these.
        RedisOp::Release(_) | RedisOp::Heartbeat(_) | RedisOp::Leave => return None,
    };
    Some(Happening::Reply {
        node,
        inc,
        office,
        event,
    })
}
