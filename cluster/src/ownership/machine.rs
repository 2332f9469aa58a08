//! [`OfficeOwnership`]: one node's view of one office as a state machine, events in, commands
//! out; time is an input (milliseconds of the node's own clock).

use super::Mutation;
use super::decision::{
    self, ClaimDecision, GIVE_UP_STEPS, GiveUpStep, LeaseLossDecision, WriteOutcome,
};
use crate::lease::LeaseLost;

/// Lease timings, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseTiming {
    /// How long Redis keeps a lease after it was set or renewed.
    pub ttl: u64,
    /// How often a held lease is renewed.
    pub renew_every: u64,
}

/// Where an activation's fencing token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The store's conditional increment on the office's owner row (what tally does).
    Store,
    /// A counter in Redis (only under [`Mutation::TokensFromRedisCounter`]).
    RedisCounter,
}

/// What happened to the office, as this node learns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event<R> {
    /// Something asks for the office here (a reading, a display); placement names this node
    /// owner or not.
    Request {
        /// Placement names this node.
        owner_is_me: bool,
        /// This node drains.
        draining: bool,
    },
    /// A reading for the office arrived here (after a [`Event::Request`]).
    Reading(R),
    /// The membership view changed.
    View {
        /// Placement names this node.
        owner_is_me: bool,
        /// This node drains.
        draining: bool,
    },
    /// Redis set the lease for this node (`SET NX PX`).
    LeaseAcquired,
    /// Another holder has the lease.
    LeaseRefused,
    /// Redis could not be reached to take the lease.
    LeaseUnreachable,
    /// The fencing token for this activation.
    TokenMinted(u64),
    /// The token could not be taken.
    TokenFailed,
    /// Redis extended the lease.
    LeaseRenewed,
    /// Redis could not be reached to renew the lease.
    LeaseRenewUnreachable,
    /// Redis no longer holds the lease for this node.
    LeaseNotHeld,
    /// A batch write finished.
    WriteDone {
        /// The batch, as numbered in its [`Command::Write`].
        batch: u64,
        /// How it ended.
        outcome: WriteOutcome,
    },
    /// Time passed: renew, retake, flush when due.
    Tick,
}

/// What the node must do for the office.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command<R> {
    /// Take the lease (`SET NX PX ttl`); answer with a lease event.
    AcquireLease,
    /// Extend the lease if still ours.
    RenewLease,
    /// Delete the lease if still ours.
    ReleaseLease,
    /// Take a fencing token from `source`; answer [`Event::TokenMinted`] or
    /// [`Event::TokenFailed`].
    MintToken(TokenSource),
    /// The office now runs here under `token`.
    Activated {
        /// Its owner token.
        token: u64,
    },
    /// Write `readings` under `token` in one batch; answer [`Event::WriteDone`].
    Write {
        /// The batch number.
        batch: u64,
        /// The owner token the write carries.
        token: u64,
        /// The readings.
        readings: Vec<R>,
    },
    /// Acknowledge these readings to their senders: they are durable.
    Ack {
        /// The token of the write that made them durable.
        token: u64,
        /// The readings.
        readings: Vec<R>,
    },
    /// This reading was not taken; its sender sends it again (elsewhere).
    Reject(R),
    /// The office no longer runs here.
    Deactivated {
        /// The token it ran under.
        token: u64,
        /// Why: `handed_off` or `fenced`.
        reason: &'static str,
    },
}

/// Where an office stands on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not held.
    Idle,
    /// Waiting for the lease.
    Claiming,
    /// Lease held, waiting for the token.
    Minting,
    /// Running under a token.
    Active,
    /// Being given up: passivating, then releasing.
    GivingUp,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HeldLease {
    /// When the last acquire or renewal was sent: the lease lasts `ttl` from then.
    sent_at: u64,
    valid_until: u64,
    next_renewal: u64,
    renewing: bool,
    /// Expired while Redis was unreachable: served on, retaken when Redis answers.
    lapsed: bool,
    retaking: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum State {
    Idle,
    Claiming { sent_at: u64 },
    Minting { valid_until: u64 },
    Active { token: u64, lease: HeldLease },
    GivingUp { token: u64, step: usize },
}

/// One node's ownership of one office: claim (lease, then token), activation, lease renewal
/// and loss, batch writes and when their readings may be acknowledged, handoff.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OfficeOwnership<R> {
    timing: LeaseTiming,
    mutation: Option<Mutation>,
    state: State,
    buffer: Vec<R>,
    in_flight: Option<(u64, u64, Vec<R>)>,
    next_batch: u64,
    /// The view moved the office away while it was being claimed.
    moved: bool,
}

impl<R: Clone> OfficeOwnership<R> {
    /// An office not held, with lease `timing`.
    pub fn new(timing: LeaseTiming) -> Self {
        Self {
            timing,
            mutation: None,
            state: State::Idle,
            buffer: Vec::new(),
            in_flight: None,
            next_batch: 0,
            moved: false,
        }
    }

    /// An office not held whose transitions carry the known bug `mutation` (tests only).
    #[cfg(feature = "mutations")]
    pub fn with_mutation(timing: LeaseTiming, mutation: Option<Mutation>) -> Self {
        Self {
            mutation,
            ..Self::new(timing)
        }
    }

    fn mutated(&self, mutation: Mutation) -> bool {
        self.mutation == Some(mutation)
    }

    /// Where the office stands.
    pub fn phase(&self) -> Phase {
        match self.state {
            State::Idle => Phase::Idle,
            State::Claiming { .. } => Phase::Claiming,
            State::Minting { .. } => Phase::Minting,
            State::Active { .. } => Phase::Active,
            State::GivingUp { .. } => Phase::GivingUp,
        }
    }

    /// The token of the activation held here (active or being given up).
    pub fn token(&self) -> Option<u64> {
        match self.state {
            State::Active { token, .. } | State::GivingUp { token, .. } => Some(token),
            _ => None,
        }
    }

    /// Readings taken and not yet acknowledged nor rejected.
    pub fn unwritten(&self) -> usize {
        self.buffer.len() + self.in_flight.as_ref().map_or(0, |(_, _, r)| r.len())
    }

    /// Applies `event`, which happened at `now`; returns what to do, in order.
    pub fn handle(&mut self, now: u64, event: Event<R>) -> Vec<Command<R>> {
        let mut out = Vec::new();
        match event {
            Event::Request {
                owner_is_me,
                draining,
            } => {
                let held = self.token().is_some();
                if matches!(self.state, State::Idle)
                    && decision::on_request(held, owner_is_me, draining) == ClaimDecision::Claim
                {
                    self.state = State::Claiming { sent_at: now };
                    self.moved = false;
                    out.push(Command::AcquireLease);
                }
            }
            Event::Reading(reading) => match self.state {
                State::Active { .. } => self.buffer.push(reading),
                _ => out.push(Command::Reject(reading)),
            },
            Event::View {
                owner_is_me,
                draining,
            } => {
                let away = decision::hand_off_on_view(owner_is_me, draining);
                match self.state {
                    State::Claiming { .. } | State::Minting { .. } => self.moved = away,
                    State::Active { .. } if away => self.give_up(&mut out),
                    _ => {}
                }
            }
            Event::LeaseAcquired => self.lease_acquired(now, &mut out),
            Event::LeaseRefused => self.lease_refused(&mut out),
            Event::LeaseUnreachable => match &mut self.state {
                State::Claiming { .. } => self.state = State::Idle,
                State::Active { lease, .. } => lease.retaking = false,
                _ => {}
            },
            Event::TokenMinted(token) => {
                if let State::Minting { valid_until } = self.state {
                    self.state = State::Active {
                        token,
                        lease: HeldLease {
                            sent_at: now,
                            valid_until,
                            next_renewal: now + self.timing.renew_every,
                            renewing: false,
                            lapsed: false,
                            retaking: false,
                        },
                    };
                    out.push(Command::Activated { token });
                    if self.moved {
                        self.give_up(&mut out);
                    }
                }
            }
            Event::TokenFailed => {
                if let State::Minting { .. } = self.state {
                    self.state = State::Idle;
                    out.push(Command::ReleaseLease);
                }
            }
            Event::LeaseRenewed => {
                if let State::Active { lease, .. } = &mut self.state
                    && lease.renewing
                {
                    lease.renewing = false;
                    lease.valid_until = lease.sent_at + self.timing.ttl;
                }
            }
            Event::LeaseRenewUnreachable => {
                if let State::Active { lease, .. } = &mut self.state
                    && lease.renewing
                {
                    lease.renewing = false;
                    if now >= lease.valid_until {
                        self.lease_lost(now, LeaseLost::Expired, &mut out);
                    }
                }
            }
            Event::LeaseNotHeld => {
                if let State::Active { lease, .. } = &mut self.state
                    && lease.renewing
                {
                    lease.renewing = false;
                    self.lease_lost(now, LeaseLost::NotHeld, &mut out);
                }
            }
            Event::WriteDone { batch, outcome } => self.write_done(batch, outcome, &mut out),
            Event::Tick => self.tick(now, &mut out),
        }
        out
    }

    fn lease_acquired(&mut self, now: u64, out: &mut Vec<Command<R>>) {
        let ttl = self.timing.ttl;
        let source = if self.mutated(Mutation::TokensFromRedisCounter) {
            TokenSource::RedisCounter
        } else {
            TokenSource::Store
        };
        match &mut self.state {
            State::Claiming { sent_at } => {
                self.state = State::Minting {
                    valid_until: *sent_at + ttl,
                };
                out.push(Command::MintToken(source));
            }
            // Taken again after a Redis outage: held as before (the keeper's relet).
            State::Active { lease, .. } if lease.retaking => {
                *lease = HeldLease {
                    sent_at: lease.sent_at,
                    valid_until: lease.sent_at + ttl,
                    next_renewal: now + self.timing.renew_every,
                    renewing: false,
                    lapsed: false,
                    retaking: false,
                };
            }
            // Taken again while the office is being given up: its release step lets it go
            // (after the last write, as the production keeper's relet waits for the handoff).
            State::GivingUp { .. } => {}
            // Taken again for an office given up meanwhile: not wanted.
            _ => out.push(Command::ReleaseLease),
        }
    }

    fn lease_refused(&mut self, out: &mut Vec<Command<R>>) {
        match &self.state {
            State::Claiming { .. } => self.state = State::Idle,
            State::Active { lease, .. } if lease.retaking => self.give_up(out),
            _ => {}
        }
    }

    fn lease_lost(&mut self, now: u64, reason: LeaseLost, out: &mut Vec<Command<R>>) {
        match decision::on_lease_lost(reason) {
            LeaseLossDecision::GiveUp => self.give_up(out),
            LeaseLossDecision::ServeOnAndRetake => {
                if let State::Active { lease, .. } = &mut self.state {
                    lease.lapsed = true;
                    lease.retaking = true;
                    lease.sent_at = now;
                    lease.next_renewal = now + self.timing.renew_every;
                    out.push(Command::AcquireLease);
                }
            }
        }
    }

    fn tick(&mut self, now: u64, out: &mut Vec<Command<R>>) {
        let renew_every = self.timing.renew_every;
        match &mut self.state {
            State::Active { lease, .. } => {
                let due = now >= lease.next_renewal;
                if lease.lapsed {
                    if due && !lease.retaking {
                        lease.retaking = true;
                        lease.sent_at = now;
                        lease.next_renewal = now + renew_every;
                        out.push(Command::AcquireLease);
                    }
                } else if !lease.renewing && (due || now >= lease.valid_until) {
                    lease.renewing = true;
                    lease.sent_at = now;
                    lease.next_renewal = now + renew_every;
                    out.push(Command::RenewLease);
                }
                self.flush(out);
            }
            State::GivingUp { .. } => self.give_up_steps(out),
            _ => {}
        }
    }

    /// Writes what is buffered, if no write is in flight.
    fn flush(&mut self, out: &mut Vec<Command<R>>) {
        let Some(token) = self.token() else { return };
        if self.in_flight.is_some() || self.buffer.is_empty() {
            return;
        }
        let batch = self.next_batch;
        self.next_batch += 1;
        let readings = std::mem::take(&mut self.buffer);
        self.in_flight = Some((batch, token, readings.clone()));
        out.push(Command::Write {
            batch,
            token,
            readings: readings.clone(),
        });
        if self.mutated(Mutation::AckBeforeWrite) {
            out.push(Command::Ack { token, readings });
        }
    }

    fn write_done(&mut self, batch: u64, outcome: WriteOutcome, out: &mut Vec<Command<R>>) {
        let Some((_, token, readings)) = self.in_flight.take_if(|(b, _, _)| *b == batch) else {
            return;
        };
        match outcome {
            WriteOutcome::Accepted => {
                if decision::may_ack(self.token(), token, outcome)
                    && !self.mutated(Mutation::AckBeforeWrite)
                {
                    out.push(Command::Ack { token, readings });
                }
            }
            WriteOutcome::Failed => {
                let mut again = readings;
                again.append(&mut self.buffer);
                self.buffer = again;
            }
            WriteOutcome::Fenced => {
                // The office stops by itself (fenced off) and is forgotten: its lease is
                // released, what it took is not acknowledged.
                if decision::concerns(self.token(), token) {
                    out.extend(readings.into_iter().map(Command::Reject));
                    out.extend(self.buffer.drain(..).map(Command::Reject));
                    out.push(Command::Deactivated {
                        token,
                        reason: "fenced",
                    });
                    out.push(Command::ReleaseLease);
                    self.state = State::Idle;
                    return;
                }
            }
        }
        if let State::GivingUp { .. } = self.state {
            self.give_up_steps(out);
        }
    }

    /// Starts giving the active office up.
    fn give_up(&mut self, out: &mut Vec<Command<R>>) {
        if let Some(token) = self.token() {
            self.state = State::GivingUp { token, step: 0 };
            self.give_up_steps(out);
        }
    }

    /// Takes the give-up steps that can be taken now.
    fn give_up_steps(&mut self, out: &mut Vec<Command<R>>) {
        let steps = if self.mutated(Mutation::ReleaseBeforeFlush) {
            [GiveUpStep::Release, GiveUpStep::Passivate]
        } else {
            GIVE_UP_STEPS
        };
        while let State::GivingUp { token, step } = self.state {
            match steps.get(step) {
                Some(GiveUpStep::Passivate) => {
                    if self.unwritten() > 0 {
                        self.flush(out);
                        return;
                    }
                }
                Some(GiveUpStep::Release) => out.push(Command::ReleaseLease),
                None => {
                    out.push(Command::Deactivated {
                        token,
                        reason: "handed_off",
                    });
                    self.state = State::Idle;
                    return;
                }
            }
            self.state = State::GivingUp {
                token,
                step: step + 1,
            };
        }
    }
}
