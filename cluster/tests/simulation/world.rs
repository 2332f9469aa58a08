//! The simulated world: nodes, sensors, Redis, the store and the network, driven by one
//! seeded RNG and one queue of timed happenings (ordered by time, then by scheduling order).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tally_cluster::ownership::{Command, Event, Mutation, OfficeOwnership};
use tally_protocol::{OfficeId, TenantId};

use super::checker::Checker;
use super::faults::{FaultCounts, FaultKind, Profile};
use super::redis::{Beat, RedisModel, ViewRead};
use super::store::StoreModel;
use super::watcher::Watch;
use super::{FAULT_PHASE, HEAL_BOUND, Reading};

/// How often a node ticks (renewals, flushes, heartbeats), in ms.
pub(crate) const TICK: u64 = 50;
/// How often a sensor sends a reading.
const SENSOR_EVERY: u64 = 200;
/// How long a sensor waits for an ack before it reconnects and sends again.
const RESEND_AFTER: u64 = 1_000;
/// Sensors stop sending new readings this long after the faults healed.
const PRODUCE_AFTER_HEAL: u64 = 3_000;
/// How often Redis persists a snapshot.
const SNAPSHOT_EVERY: u64 = 1_000;

/// A message on the network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Msg {
    /// Sensor → the node it is connected to.
    Reading { to: usize, reading: Reading },
    /// Node → the owner it forwards a reading to.
    Forward { to: usize, reading: Reading },
    /// Owner → the node the sensor sent the readings to.
    AckRelay { to: usize, readings: Vec<Reading> },
    /// Node → sensor.
    Ack { sensor: usize, seq: u64 },
}

/// A call to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RedisOp {
    Acquire(usize),
    Renew(usize),
    Release(usize),
    MintCounter(usize),
    /// The node's heartbeat (with its record when due).
    Heartbeat(Beat),
    /// The watcher reads the membership, expiring silent members or not.
    ReadView {
        expire: bool,
    },
    /// A drained node removes its record.
    Leave,
}

/// A call to the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum StoreOp {
    Mint,
    Write {
        batch: u64,
        token: u64,
        readings: Vec<Reading>,
    },
}

/// A scheduled fault (or its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Fault {
    Crash(usize),
    /// A crashed or drained node starts again (a drain still under way is called off).
    Restart(usize),
    /// A node drains (graceful leave); it restarts with the fault's end.
    Drain(usize),
    Pause(usize),
    Resume(usize),
    Partition(usize),
    RedisCut(usize),
    Reconnect(usize),
    RedisRestart {
        down_for: u64,
    },
}

/// Something that happens at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Happening {
    NodeTick(usize),
    SensorTick(usize),
    Deliver(Msg),
    /// An answer for an office's state machine on node `node` (incarnation `inc`).
    Reply {
        node: usize,
        inc: u64,
        office: usize,
        event: Event<Reading>,
    },
    /// A membership read came back to its watcher (`None`: Redis could not be reached).
    View {
        node: usize,
        inc: u64,
        read: Option<ViewRead>,
    },
    /// A Redis call arrives at Redis.
    AtRedis {
        node: usize,
        inc: u64,
        op: RedisOp,
    },
    /// A store call arrives at the store; `answer` is false if its caller timed out already.
    AtStore {
        node: usize,
        inc: u64,
        office: usize,
        op: StoreOp,
        answer: bool,
    },
    Fault(Fault),
    Snapshot,
    Heal,
}

/// A node's run state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Up,
    Paused { since: u64 },
    Down,
}

/// A simulated tally node.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) status: Status,
    pub(crate) inc: u64,
    /// How far its clock is behind (frozen while paused).
    pub(crate) lag: u64,
    pub(crate) view: Vec<usize>,
    pub(crate) offices: BTreeMap<usize, OfficeOwnership<Reading>>,
    /// The token each office runs under here.
    pub(crate) running: BTreeMap<usize, u64>,
    /// Its heartbeat and membership watcher.
    pub(crate) watch: Watch,
    pub(crate) deferred: Vec<Happening>,
    pub(crate) partitioned: bool,
    pub(crate) redis_cut: bool,
    /// It drains: claims nothing, hands its offices off, leaves once none is held.
    pub(crate) draining: bool,
}

/// A simulated sensor of one office.
#[derive(Debug)]
pub(crate) struct Sensor {
    pub(crate) office: usize,
    pub(crate) node: usize,
    pub(crate) next_seq: u64,
    /// Seq → when it was last sent.
    pub(crate) pending: BTreeMap<u64, u64>,
    pub(crate) acked: BTreeSet<u64>,
}

/// One line of the trace: a happening and the commands it led to.
#[derive(Debug, Clone)]
pub(crate) struct TraceLine {
    pub(crate) at: u64,
    pub(crate) happening: Happening,
    pub(crate) commands: Vec<(usize, usize, Command<Reading>)>,
}

/// FNV-1a over whole words: a hasher without random keys, for trace hashes (a word at a time:
/// byte by byte it took a tenth of a schedule's time).
#[derive(Debug)]
pub(crate) struct Fnv(pub(crate) u64);

impl Fnv {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(0x0100_0000_01b3);
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.mix(u64::from(*byte));
        }
    }
    fn write_u8(&mut self, word: u8) {
        self.mix(u64::from(word));
    }
    fn write_u32(&mut self, word: u32) {
        self.mix(u64::from(word));
    }
    fn write_u64(&mut self, word: u64) {
        self.mix(word);
    }
    fn write_usize(&mut self, word: usize) {
        self.mix(word as u64);
    }
}

/// The world of one run.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Happening>,
    pub(crate) rng: Xoshiro256PlusPlus,
    pub(crate) profile: Profile,
    pub(crate) mutation: Option<Mutation>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) sensors: Vec<Sensor>,
    pub(crate) offices: usize,
    /// Rendezvous score of node × office (from the production placement).
    scores: Vec<Vec<u64>>,
    pub(crate) redis: RedisModel,
    pub(crate) store: StoreModel,
    pub(crate) checker: Checker,
    pub(crate) counts: FaultCounts,
    pub(crate) hash: Fnv,
    pub(crate) events: u64,
    pub(crate) tail: VecDeque<TraceLine>,
    /// Commands of the happening being handled.
    pub(crate) issued: Vec<(usize, usize, Command<Reading>)>,
}

impl World {
    /// The world of `seed`: 3–5 nodes, 2–4 offices with two sensors each, faults scheduled.
    pub(crate) fn new(seed: u64, mutation: Option<Mutation>) -> World {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let node_count = rng.random_range(3..=5);
        let offices = rng.random_range(2..=4);
        let profile = Profile::draw(&mut rng);
        let tenant = TenantId::new("t").unwrap();
        let scores = (0..node_count)
            .map(|node| {
                (0..offices)
                    .map(|office| {
                        let office = OfficeId::new(format!("o{office}")).unwrap();
                        tally_cluster::placement::score(&format!("n{node}"), &tenant, &office)
                    })
                    .collect()
            })
            .collect();
        let nodes = (0..node_count)
            .map(|_| Node {
                status: Status::Up,
                inc: 0,
                lag: 0,
                view: Vec::new(),
                offices: BTreeMap::new(),
                running: BTreeMap::new(),
                watch: Watch::new(mutation),
                deferred: Vec::new(),
                partitioned: false,
                redis_cut: false,
                draining: false,
            })
            .collect();
        let sensors = (0..offices * 2)
            .map(|i| Sensor {
                office: i / 2,
                node: rng.random_range(0..node_count),
                next_seq: 0,
                pending: BTreeMap::new(),
                acked: BTreeSet::new(),
            })
            .collect();
        let mut world = World {
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            rng,
            profile,
            mutation,
            nodes,
            sensors,
            offices,
            scores,
            redis: RedisModel::default(),
            store: StoreModel::default(),
            checker: Checker::default(),
            counts: FaultCounts::default(),
            hash: Fnv(0xcbf2_9ce4_8422_2325),
            events: 0,
            tail: VecDeque::new(),
            issued: Vec::new(),
        };
        world.schedule_start();
        world
    }

    fn schedule_start(&mut self) {
        for node in 0..self.nodes.len() {
            let at = self.rng.random_range(0..TICK);
            self.at(at, Happening::NodeTick(node));
        }
        for sensor in 0..self.sensors.len() {
            let at = self.rng.random_range(0..SENSOR_EVERY);
            self.at(at, Happening::SensorTick(sensor));
        }
        self.at(SNAPSHOT_EVERY, Happening::Snapshot);
        for _ in 0..self.profile.node_faults {
            let start = self.rng.random_range(500..FAULT_PHASE - 500);
            let length = self.rng.random_range(300..6_000);
            let node = self.rng.random_range(0..self.nodes.len());
            let (begin, end) = match self.rng.random_range(0..5) {
                0 => (Fault::Crash(node), Some(Fault::Restart(node))),
                1 => (Fault::Pause(node), Some(Fault::Resume(node))),
                2 => (Fault::Partition(node), None),
                3 => (Fault::Drain(node), Some(Fault::Restart(node))),
                _ => (Fault::RedisCut(node), None),
            };
            self.at(start, Happening::Fault(begin));
            if let Some(end) = end {
                self.at(start + length, Happening::Fault(end));
            } else {
                self.at(start + length, Happening::Fault(Fault::Reconnect(node)));
            }
        }
        for _ in 0..self.profile.redis_restarts {
            let at = self.rng.random_range(500..FAULT_PHASE - 500);
            let down_for = self.rng.random_range(100..3_000);
            self.at(at, Happening::Fault(Fault::RedisRestart { down_for }));
        }
        self.at(FAULT_PHASE, Happening::Heal);
    }

    /// Schedules `happening` at `at`.
    pub(crate) fn at(&mut self, at: u64, happening: Happening) {
        self.seq += 1;
        self.queue.insert((at, self.seq), happening);
    }

    /// Schedules `happening` `after` ms from now.
    pub(crate) fn after(&mut self, after: u64, happening: Happening) {
        self.at(self.now + after, happening);
    }

    /// Whether faults still fire.
    pub(crate) fn faulty(&self) -> bool {
        self.now < FAULT_PHASE
    }

    /// The owner of `office` in `view`: the production rendezvous hash.
    pub(crate) fn owner(&self, view: &[usize], office: usize) -> Option<usize> {
        view.iter()
            .copied()
            .max_by_key(|&node| (self.scores[node][office], node))
    }

    /// Runs until the healing bound; stops at the first violation.
    pub(crate) fn run(&mut self) {
        while let Some(((at, _), happening)) = self.queue.pop_first() {
            if at > FAULT_PHASE + HEAL_BOUND {
                break;
            }
            self.now = at;
            self.events += 1;
            self.issued.clear();
            self.step(happening.clone());
            at.hash(&mut self.hash);
            happening.hash(&mut self.hash);
            self.issued.hash(&mut self.hash);
            self.tail.push_back(TraceLine {
                at,
                happening,
                commands: std::mem::take(&mut self.issued),
            });
            if self.tail.len() > 60 {
                self.tail.pop_front();
            }
            self.checker.after_event(&self.store);
            if self.checker.violation.is_some() {
                return;
            }
        }
        self.check_end();
    }

    fn step(&mut self, happening: Happening) {
        match happening {
            Happening::NodeTick(node) => {
                self.after(TICK, Happening::NodeTick(node));
                self.node_tick(node);
            }
            Happening::SensorTick(sensor) => {
                self.after(SENSOR_EVERY, Happening::SensorTick(sensor));
                self.sensor_tick(sensor);
            }
            Happening::Snapshot => {
                self.redis.snapshot();
                self.after(SNAPSHOT_EVERY, Happening::Snapshot);
            }
            Happening::Fault(fault) => self.fault(fault),
            Happening::Heal => self.heal(),
            Happening::AtRedis { node, inc, op } => self.at_redis(node, inc, op),
            Happening::AtStore {
                node,
                inc,
                office,
                op,
                answer,
            } => self.at_store(node, inc, office, op, answer),
            other => self.at_node(other),
        }
    }

    fn sensor_tick(&mut self, index: usize) {
        let now = self.now;
        let produce = now < FAULT_PHASE + PRODUCE_AFTER_HEAL;
        let sensor = &mut self.sensors[index];
        let mut send = Vec::new();
        if sensor
            .pending
            .values()
            .any(|sent| sent + RESEND_AFTER <= now)
        {
            // No ack in time: connect again, anywhere, and send what was not acknowledged.
            sensor.node = self.rng.random_range(0..self.nodes.len());
            self.counts.fired(FaultKind::SensorReconnect);
            for (seq, sent) in sensor.pending.iter_mut().take(64) {
                *sent = now;
                send.push(*seq);
            }
        }
        if produce {
            let seq = sensor.next_seq;
            sensor.next_seq += 1;
            sensor.pending.insert(seq, now);
            send.push(seq);
        }
        let to = sensor.node;
        for seq in send {
            let reading = Reading {
                sensor: index,
                seq,
                via: to,
            };
            self.send(None, Some(to), Msg::Reading { to, reading });
        }
    }

    /// Sends `msg` from node `from` to node `to` (`None`: a sensor), through the faults.
    pub(crate) fn send(&mut self, from: Option<usize>, to: Option<usize>, msg: Msg) {
        let cut = |node: Option<usize>| node.is_some_and(|node| self.nodes[node].partitioned);
        if from.is_some() && to.is_some() && (cut(from) || cut(to)) {
            return;
        }
        let mut delay = self.rng.random_range(1..=10);
        if self.faulty() {
            if self.rng.random_bool(self.profile.drop) {
                self.counts.fired(FaultKind::Drop);
                return;
            }
            if self.rng.random_bool(self.profile.delay) {
                self.counts.fired(FaultKind::Delay);
                delay += self.rng.random_range(50..1_500);
            }
            if self.rng.random_bool(self.profile.duplicate) {
                self.counts.fired(FaultKind::Duplicate);
                let again = delay + self.rng.random_range(1..200);
                self.after(again, Happening::Deliver(msg.clone()));
            }
        }
        self.after(delay, Happening::Deliver(msg));
    }

    fn fault(&mut self, fault: Fault) {
        let now = self.now;
        match fault {
            Fault::Crash(n) if self.nodes[n].status != Status::Down => {
                let node = &mut self.nodes[n];
                node.status = Status::Down;
                node.inc += 1;
                node.offices.clear();
                node.running.clear();
                node.deferred.clear();
                node.view.clear();
                self.counts.fired(FaultKind::Crash);
            }
            Fault::Restart(n) if self.nodes[n].status == Status::Down => {
                let mutation = self.mutation;
                let node = &mut self.nodes[n];
                node.status = Status::Up;
                node.watch = Watch::new(mutation);
                node.lag = now;
                node.draining = false;
                self.counts.fired(FaultKind::Restart);
            }
            // A drain still under way when its node was to restart is called off: the node
            // announces itself active again with its next heartbeat.
            Fault::Restart(n) => {
                let node = &mut self.nodes[n];
                node.draining = false;
                node.watch.state_changed();
            }
            Fault::Drain(n) if self.nodes[n].status == Status::Up && !self.nodes[n].draining => {
                self.drain(n);
                self.counts.fired(FaultKind::Drain);
            }
            Fault::Pause(n) if self.nodes[n].status == Status::Up => {
                self.nodes[n].status = Status::Paused { since: now };
                self.counts.fired(FaultKind::Pause);
            }
            Fault::Resume(n) => {
                if let Status::Paused { since } = self.nodes[n].status {
                    let node = &mut self.nodes[n];
                    node.lag += now - since;
                    node.status = Status::Up;
                    let deferred = std::mem::take(&mut node.deferred);
                    for happening in deferred {
                        self.after(0, happening);
                    }
                    self.counts.fired(FaultKind::Resume);
                }
            }
            Fault::Partition(n) if !self.nodes[n].partitioned => {
                self.nodes[n].partitioned = true;
                self.counts.fired(FaultKind::Partition);
            }
            Fault::RedisCut(n) if !self.nodes[n].redis_cut => {
                self.nodes[n].redis_cut = true;
                self.counts.fired(FaultKind::RedisCut);
            }
            Fault::Reconnect(n) => {
                let node = &mut self.nodes[n];
                if node.partitioned || node.redis_cut {
                    node.partitioned = false;
                    node.redis_cut = false;
                    self.counts.fired(FaultKind::Heal);
                }
            }
            Fault::RedisRestart { down_for } => {
                self.redis.restart(now + down_for);
                self.counts.fired(FaultKind::RedisRestart);
            }
            _ => {}
        }
    }

    /// Ends every fault: from now on the network, Redis and the store behave.
    fn heal(&mut self) {
        self.profile = Profile::calm();
        self.redis.restart_done(self.now);
        for n in 0..self.nodes.len() {
            self.fault(Fault::Resume(n));
            self.fault(Fault::Restart(n));
            self.fault(Fault::Reconnect(n));
        }
    }

    /// The checks at the end of a run: nothing acknowledged was lost; after healing, every
    /// office is active on exactly one node, its owner, and every reading was acknowledged.
    fn check_end(&mut self) {
        let mut problems = Vec::new();
        for (index, sensor) in self.sensors.iter().enumerate() {
            let lost: Vec<u64> = sensor
                .acked
                .iter()
                .copied()
                .filter(|seq| !self.store.rows.contains_key(&(index, *seq)))
                .collect();
            if !lost.is_empty() {
                problems.push(format!(
                    "sensor {index}: acknowledged seqs {lost:?} are not stored"
                ));
            }
            if !sensor.pending.is_empty() {
                let waiting: Vec<u64> = sensor.pending.keys().copied().take(8).collect();
                problems.push(format!(
                    "sensor {index}: {} readings never acknowledged {HEAL_BOUND} ms after the \
                     faults healed (first {waiting:?})",
                    sensor.pending.len()
                ));
            }
        }
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        for office in 0..self.offices {
            let active: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&n| self.nodes[n].running.contains_key(&office))
                .collect();
            let owner = self.owner(&all, office);
            if active.len() != 1 || Some(active[0]) != owner {
                problems.push(format!(
                    "office {office} is active on nodes {active:?} {HEAL_BOUND} ms after the \
                     faults healed (owner: node {owner:?})"
                ));
            }
        }
        if let Some(first) = problems.into_iter().next() {
            self.checker.violation = Some(first);
        }
    }
}
