//! The model: two nodes' `OfficeOwnership` machines for one office, Redis (one lease with
//! expiry, a counter for the mutation), the store (owner token, readings accepted per token)
//! and the calls in flight between them, as a bounded, canonically ordered list so that states
//! reached in different orders merge.

use std::collections::BTreeSet;

use stateright::{Model, Property};
use tally_cluster::ownership::decision::WriteOutcome;
use tally_cluster::ownership::{Command, Event, LeaseTiming, Mutation, OfficeOwnership};

mod calls;

use calls::{Answer, Call, Flight, Outcome, Source, Stage};

/// Nodes.
const NODES: usize = 2;
/// Readings the sensors send (ids `0..READINGS`).
const READINGS: u8 = 1;
/// Requests in all: asks for the office, sends and resends of readings.
const REQUESTS: u8 = 3;
/// The highest token the store (or the counter) hands out.
const MAX_TOKEN: u64 = 3;
/// Simulated time ends here (ticks of one unit).
const MAX_TIME: u64 = 2;
/// Faults in all: timeouts, crashes, pauses, Redis restarts, view changes.
const FAULTS: u8 = 1;
/// The lease: kept 2 units, renewed every unit.
const TIMING: LeaseTiming = LeaseTiming {
    ttl: 2,
    renew_every: 1,
};

/// Property: a node acknowledged a reading the store had not accepted under the ack's token.
pub(crate) const ACKED_UNACCEPTED: &str = "an ack only for readings accepted under its token";
/// Property: two activations under one token.
pub(crate) const ACTIVATED_TWICE: &str = "one activation per token";
/// Property: the store's token went down.
pub(crate) const TOKEN_WENT_DOWN: &str = "the store's token never goes down";
/// Property: a write fenced off by an owner the writer let in by releasing its lease first.
pub(crate) const FENCED_AFTER_RELEASE: &str = "no write fenced after its node released the lease";

/// One node: its machine, incarnation, clock, and what the view says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Node {
    machine: OfficeOwnership<u8>,
    inc: u8,
    clock: u64,
    paused: bool,
    owner_is_me: bool,
    /// The token the office runs under here (between `Activated` and `Deactivated`).
    running: Option<u64>,
}

/// The whole system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct World {
    now: u64,
    nodes: Vec<Node>,
    /// Calls in flight, sorted.
    flights: Vec<Flight>,
    /// Redis: the lease (node, incarnation, until) and the counter.
    lease: Option<(u8, u8, u64)>,
    counter: u64,
    /// The store: the office's owner token and the (reading, token) writes it accepted.
    token: u64,
    accepted: BTreeSet<(u8, u64)>,
    /// Readings acknowledged (bits), requests and faults left.
    acked: u8,
    requests: u8,
    faults: u8,
    /// Tokens activated so far (bits).
    activated: u8,
    /// (node, incarnation, token) whose lease the node released itself.
    released: BTreeSet<(u8, u8, u64)>,
    /// Writes that were fenced off (for the `sometimes` property).
    fenced: bool,
    /// Properties broken (names).
    broken: BTreeSet<&'static str>,
}

/// What can happen next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// Time passes one unit (clocks of paused nodes stand still).
    Advance,
    /// A node's timer fires.
    Tick(usize),
    /// Something (a display) asks node `.0` for the office.
    Ask(usize),
    /// A sensor sends reading `.1` to node `.0`.
    Send(usize, u8),
    /// Call `.0` reaches Redis or the store.
    Land(usize),
    /// The answer of call `.0` reaches its node.
    Answer(usize),
    /// Call `.0` times out at its node (it may still land, if it had not).
    TimeOut(usize),
    /// An orphaned call `.0` (its caller timed out) is lost.
    Lose(usize),
    /// The view changes on a node: placement names it, or no longer.
    Flip(usize),
    /// A node crashes and restarts empty (a new incarnation).
    Crash(usize),
    /// A node pauses (its clock stands still, nothing reaches it) or resumes.
    Pause(usize),
    /// A paused node resumes.
    Resume(usize),
    /// Redis restarts empty (the lease and the counter forgotten).
    RedisRestart,
}

/// The model of one office on two nodes, with or without a known bug.
#[derive(Debug, Clone)]
pub(crate) struct OfficeModel {
    mutation: Option<Mutation>,
}

impl OfficeModel {
    /// The model of the real protocol (`None`) or of `mutation`.
    pub(crate) fn new(mutation: Option<Mutation>) -> Self {
        Self { mutation }
    }

    fn machine(&self) -> OfficeOwnership<u8> {
        OfficeOwnership::with_mutation(TIMING, self.mutation)
    }
}

impl World {
    fn fault(&mut self) -> bool {
        if self.faults == 0 {
            return false;
        }
        self.faults -= 1;
        true
    }

    /// Feeds `event` to node `n` and carries out its commands.
    fn drive(&mut self, n: usize, event: Event<u8>) {
        let node = &mut self.nodes[n];
        let (inc, clock) = (node.inc, node.clock);
        for command in node.machine.handle(clock, event) {
            match command {
                Command::AcquireLease => self.call(n, Call::Acquire),
                Command::RenewLease => self.call(n, Call::Renew),
                Command::ReleaseLease => {
                    if let Some(token) = self.nodes[n].running {
                        self.released.insert((n as u8, inc, token));
                    }
                    self.call(n, Call::Release);
                }
                Command::MintToken(source) => self.call(n, Call::Mint(source.into())),
                Command::Activated { token } => {
                    if self.activated & (1 << token) != 0 {
                        self.broken.insert(ACTIVATED_TWICE);
                    }
                    self.activated |= 1 << token;
                    self.nodes[n].running = Some(token);
                }
                Command::Deactivated { .. } => self.nodes[n].running = None,
                Command::Write {
                    batch,
                    token,
                    readings,
                } => self.call(
                    n,
                    Call::Write {
                        batch,
                        token,
                        readings,
                    },
                ),
                Command::Ack { token, readings } => {
                    for reading in readings {
                        if !self.accepted.contains(&(reading, token)) {
                            self.broken.insert(ACKED_UNACCEPTED);
                        }
                        self.acked |= 1 << reading;
                    }
                }
                Command::Reject(_) => {}
            }
        }
    }

    /// Asks node `n` for the office (placement as its view says).
    fn request(&mut self, n: usize) {
        let owner_is_me = self.nodes[n].owner_is_me;
        let request = Event::Request {
            owner_is_me,
            draining: false,
        };
        self.drive(n, request);
    }

    fn call(&mut self, n: usize, call: Call) {
        let flight = Flight {
            node: n as u8,
            inc: self.nodes[n].inc,
            call,
            stage: Stage::Sent,
        };
        let at = self.flights.partition_point(|f| *f < flight);
        self.flights.insert(at, flight);
    }

    /// Whether the lease is held (not expired) at `now`.
    fn lease_holder(&self) -> Option<(u8, u8)> {
        self.lease
            .filter(|&(_, _, until)| until > self.now)
            .map(|(n, inc, _)| (n, inc))
    }

    /// Call `i` reaches Redis or the store: its effect, and the answer it will carry back.
    fn land(&mut self, i: usize) -> Option<Answer> {
        let Flight {
            node, inc, call, ..
        } = self.flights[i].clone();
        let me = Some((node, inc));
        let until = self.now + TIMING.ttl;
        Some(match call {
            Call::Acquire if self.lease_holder().is_none() => {
                self.lease = Some((node, inc, until));
                Answer::LeaseDone
            }
            Call::Acquire => Answer::LeaseNotOurs,
            Call::Renew if self.lease_holder() == me => {
                self.lease = Some((node, inc, until));
                Answer::LeaseDone
            }
            Call::Renew => Answer::LeaseNotOurs,
            Call::Release => {
                if self.lease_holder() == me {
                    self.lease = None;
                }
                return None;
            }
            Call::Mint(Source::Store) => {
                self.token += 1;
                Answer::Minted(self.token)
            }
            Call::Mint(Source::RedisCounter) => {
                // The mutation's naive scheme: the counter's value becomes the store's token.
                self.counter += 1;
                if self.counter < self.token {
                    self.broken.insert(TOKEN_WENT_DOWN);
                }
                self.token = self.counter;
                Answer::Minted(self.counter)
            }
            Call::Write {
                token, readings, ..
            } => {
                if token < self.token {
                    Answer::Written(Outcome::Fenced)
                } else {
                    self.accepted.extend(readings.iter().map(|&r| (r, token)));
                    Answer::Written(Outcome::Accepted)
                }
            }
        })
    }

    /// Hands `event`, the end of `flight`, to its node if it is still the same incarnation.
    fn answer(&mut self, flight: &Flight, event: Event<u8>) {
        let n = flight.node as usize;
        if self.nodes[n].inc != flight.inc {
            return;
        }
        if let (Call::Write { token, .. }, Event::WriteDone { outcome, .. }) =
            (&flight.call, &event)
            && *outcome == WriteOutcome::Fenced
        {
            self.fenced = true;
            if self.released.contains(&(flight.node, flight.inc, *token)) {
                self.broken.insert(FENCED_AFTER_RELEASE);
            }
        }
        self.drive(n, event);
    }

    fn remove(&mut self, i: usize) -> Flight {
        self.flights.remove(i)
    }

    fn restage(&mut self, i: usize, stage: Stage) {
        let mut flight = self.remove(i);
        flight.stage = stage;
        let at = self.flights.partition_point(|f| *f < flight);
        self.flights.insert(at, flight);
    }
}

impl Model for OfficeModel {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        let node = Node {
            machine: self.machine(),
            inc: 0,
            clock: 0,
            paused: false,
            owner_is_me: true,
            running: None,
        };
        vec![World {
            now: 0,
            nodes: vec![node; NODES],
            flights: Vec::new(),
            lease: None,
            counter: 0,
            token: 0,
            accepted: BTreeSet::new(),
            acked: 0,
            requests: REQUESTS,
            faults: FAULTS,
            activated: 0,
            released: BTreeSet::new(),
            fenced: false,
            broken: BTreeSet::new(),
        }]
    }

    fn actions(&self, world: &World, actions: &mut Vec<Action>) {
        if world.now < MAX_TIME {
            actions.push(Action::Advance);
        }
        for (n, node) in world.nodes.iter().enumerate() {
            if node.paused {
                actions.push(Action::Resume(n));
                continue;
            }
            actions.push(Action::Tick(n));
            if world.requests > 0 {
                actions.push(Action::Ask(n));
                for r in 0..READINGS {
                    if world.acked & (1 << r) == 0 {
                        actions.push(Action::Send(n, r));
                    }
                }
            }
            if world.faults > 0 {
                actions.extend([Action::Flip(n), Action::Crash(n), Action::Pause(n)]);
            }
        }
        if world.faults > 0 {
            actions.push(Action::RedisRestart);
        }
        for (i, flight) in world.flights.iter().enumerate() {
            let paused = world.nodes[flight.node as usize].paused;
            match flight.stage {
                Stage::Sent | Stage::Orphan => {
                    let minting = matches!(flight.call, Call::Mint(_));
                    let bound = world.token.max(world.counter) >= MAX_TOKEN;
                    if !(minting && bound) {
                        actions.push(Action::Land(i));
                    }
                }
                Stage::Answered(_) if !paused => actions.push(Action::Answer(i)),
                Stage::Answered(_) => {}
            }
            let failing = flight.call.failure().is_some();
            match flight.stage {
                Stage::Orphan => actions.push(Action::Lose(i)),
                _ if failing && world.faults > 0 && !paused => actions.push(Action::TimeOut(i)),
                _ => {}
            }
        }
    }

    fn next_state(&self, world: &World, action: Action) -> Option<World> {
        let mut next = world.clone();
        match action {
            Action::Advance => {
                next.now += 1;
                for node in next.nodes.iter_mut().filter(|node| !node.paused) {
                    node.clock += 1;
                }
                if next.lease_holder().is_none() {
                    next.lease = None;
                }
            }
            Action::Tick(n) => next.drive(n, Event::Tick),
            Action::Ask(n) => {
                next.requests -= 1;
                next.request(n);
            }
            Action::Send(n, reading) => {
                next.requests -= 1;
                next.request(n);
                next.drive(n, Event::Reading(reading));
            }
            Action::Land(i) => match (next.land(i), &next.flights[i].stage) {
                (Some(answer), Stage::Sent) => next.restage(i, Stage::Answered(answer)),
                _ => {
                    next.remove(i);
                }
            },
            Action::Answer(i) => {
                let flight = next.remove(i);
                let Stage::Answered(answer) = flight.stage else {
                    return None;
                };
                next.answer(&flight, flight.call.event(answer));
            }
            Action::TimeOut(i) => {
                next.fault();
                let failure = next.flights[i].call.failure()?;
                let flight = next.flights[i].clone();
                if flight.stage == Stage::Sent {
                    next.restage(i, Stage::Orphan);
                } else {
                    next.remove(i);
                }
                next.answer(&flight, failure);
            }
            Action::Lose(i) => {
                next.remove(i);
            }
            Action::Flip(n) => {
                next.fault();
                let node = &mut next.nodes[n];
                node.owner_is_me = !node.owner_is_me;
                let owner_is_me = node.owner_is_me;
                next.drive(
                    n,
                    Event::View {
                        owner_is_me,
                        draining: false,
                    },
                );
            }
            Action::Crash(n) => {
                next.fault();
                let node = &mut next.nodes[n];
                node.machine = self.machine();
                node.inc += 1;
                node.running = None;
            }
            Action::Pause(n) => {
                next.fault();
                next.nodes[n].paused = true;
            }
            Action::Resume(n) => next.nodes[n].paused = false,
            Action::RedisRestart => {
                next.fault();
                next.lease = None;
                next.counter = 0;
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(ACKED_UNACCEPTED, |_, w: &World| {
                !w.broken.contains(ACKED_UNACCEPTED)
            }),
            Property::always(ACTIVATED_TWICE, |_, w: &World| {
                !w.broken.contains(ACTIVATED_TWICE)
            }),
            Property::always(TOKEN_WENT_DOWN, |_, w: &World| {
                !w.broken.contains(TOKEN_WENT_DOWN)
            }),
            Property::always(FENCED_AFTER_RELEASE, |_, w: &World| {
                !w.broken.contains(FENCED_AFTER_RELEASE)
            }),
            Property::sometimes("a reading is acknowledged", |_, w: &World| w.acked != 0),
            Property::sometimes("a write is fenced off", |_, w: &World| w.fenced),
            Property::sometimes("a second activation", |_, w: &World| {
                w.activated.count_ones() > 1
            }),
        ]
    }
}
