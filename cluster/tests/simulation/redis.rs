//! An in-memory Redis: `SET NX PX` with expiry in simulated time, the lease scripts (renew and
//! release only if still ours), the membership scripts (heartbeat, read with expiry, leave;
//! every change raises the epoch), a counter (for the mutation that takes tokens from Redis),
//! and a restart that loses what was written since the last snapshot.

use std::collections::BTreeMap;

/// Who holds a key: a node and its incarnation (the production nonce).
pub(crate) type Holder = (usize, u64);

#[derive(Debug, Clone, Default)]
struct Data {
    /// Lease of office → holder, expiry.
    leases: BTreeMap<usize, (Holder, u64)>,
    /// Heartbeat key of node → its expiry.
    alive: BTreeMap<usize, u64>,
    /// Member records: node → whether it drains.
    members: BTreeMap<usize, bool>,
    /// The membership epoch, raised by every change.
    epoch: u64,
    /// Counter per office (mutation only).
    counters: BTreeMap<usize, u64>,
}

impl Data {
    fn expire(&mut self, now: u64) {
        self.leases.retain(|_, (_, until)| *until > now);
        self.alive.retain(|_, until| *until > now);
    }
}

/// A member's heartbeat, as the production script takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Beat {
    /// The member's state: draining or active.
    pub(crate) draining: bool,
    /// Write the record even if it is there (its state changed, or it joined).
    pub(crate) force: bool,
    /// The epoch of the member's view: a re-created record raises the epoch above it.
    pub(crate) known_epoch: u64,
}

/// A view read by the production script.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ViewRead {
    /// The membership epoch.
    pub(crate) epoch: u64,
    /// The listed members placement may name (those not draining).
    pub(crate) targets: Vec<usize>,
    /// Whether the reader's own record is listed.
    pub(crate) own_listed: bool,
}

/// The answer to a lease command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeaseAnswer {
    /// Done (set, extended or deleted).
    Done,
    /// Another holder has it, or it is gone.
    NotOurs,
}

/// The Redis model.
#[derive(Debug, Default)]
pub(crate) struct RedisModel {
    data: Data,
    snapshot: Data,
    /// Down until this time (restarting).
    down_until: u64,
}

impl RedisModel {
    /// Whether Redis answers at `now`.
    pub(crate) fn up(&self, now: u64) -> bool {
        now >= self.down_until
    }

    /// Persists what is held now (what survives the next restart).
    pub(crate) fn snapshot(&mut self) {
        self.snapshot = self.data.clone();
    }

    /// Restarts: down until `until`, then with the last snapshot only.
    pub(crate) fn restart(&mut self, until: u64) {
        self.down_until = until;
        self.data = self.snapshot.clone();
    }

    /// Ends a restart now if it still lasts.
    pub(crate) fn restart_done(&mut self, now: u64) {
        self.down_until = self.down_until.min(now);
    }

    /// `SET lease:office holder NX PX ttl`.
    pub(crate) fn acquire(
        &mut self,
        now: u64,
        office: usize,
        holder: Holder,
        ttl: u64,
    ) -> LeaseAnswer {
        self.data.expire(now);
        if self.data.leases.contains_key(&office) {
            return LeaseAnswer::NotOurs;
        }
        self.data.leases.insert(office, (holder, now + ttl));
        LeaseAnswer::Done
    }

    /// `PEXPIRE` if the lease still holds `holder`.
    pub(crate) fn renew(
        &mut self,
        now: u64,
        office: usize,
        holder: Holder,
        ttl: u64,
    ) -> LeaseAnswer {
        self.data.expire(now);
        match self.data.leases.get_mut(&office) {
            Some((held, until)) if *held == holder => {
                *until = now + ttl;
                LeaseAnswer::Done
            }
            _ => LeaseAnswer::NotOurs,
        }
    }

    /// `DEL` if the lease still holds `holder`.
    pub(crate) fn release(&mut self, now: u64, office: usize, holder: Holder) {
        self.data.expire(now);
        if self
            .data
            .leases
            .get(&office)
            .is_some_and(|(held, _)| *held == holder)
        {
            self.data.leases.remove(&office);
        }
    }

    /// Who holds the lease of `office` at `now`.
    pub(crate) fn holder(&self, now: u64, office: usize) -> Option<Holder> {
        let (holder, until) = self.data.leases.get(&office)?;
        (*until > now).then_some(*holder)
    }

    /// When the lease of `office` expires, if it is held at `now`.
    pub(crate) fn lease_expiry(&self, now: u64, office: usize) -> Option<u64> {
        let (_, until) = self.data.leases.get(&office)?;
        (*until > now).then_some(*until)
    }

    /// The heartbeat script: renews `node`'s heartbeat key; writes its record when missing or
    /// forced, then raises the epoch (never below `beat.known_epoch`).
    pub(crate) fn heartbeat(&mut self, now: u64, node: usize, beat: Beat, ttl: u64) {
        self.data.expire(now);
        self.data.alive.insert(node, now + ttl);
        let recreated = !self.data.members.contains_key(&node);
        if recreated || beat.force {
            self.data.members.insert(node, beat.draining);
            self.data.epoch = self.data.epoch.max(beat.known_epoch) + 1;
        }
    }

    /// The read script, for `reader`: with `expire`, first removes the members whose heartbeat
    /// is gone (raising the epoch once).
    pub(crate) fn read_view(&mut self, now: u64, reader: usize, expire: bool) -> ViewRead {
        self.data.expire(now);
        if expire {
            let alive = &self.data.alive;
            let before = self.data.members.len();
            self.data.members.retain(|node, _| alive.contains_key(node));
            if self.data.members.len() < before {
                self.data.epoch += 1;
            }
        }
        let targets = self.data.members.iter().filter(|(_, draining)| !**draining);
        ViewRead {
            epoch: self.data.epoch,
            targets: targets.map(|(node, _)| *node).collect(),
            own_listed: self.data.members.contains_key(&reader),
        }
    }

    /// The leave script: removes `node`'s record and heartbeat, raising the epoch if listed.
    pub(crate) fn leave(&mut self, node: usize) {
        self.data.alive.remove(&node);
        if self.data.members.remove(&node).is_some() {
            self.data.epoch += 1;
        }
    }

    /// `INCR counter:office`.
    pub(crate) fn incr(&mut self, office: usize) -> u64 {
        let counter = self.data.counters.entry(office).or_default();
        *counter += 1;
        *counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_exclusive_until_it_expires_and_a_restart_forgets_recent_writes() {
        let mut redis = RedisModel::default();
        assert_eq!(redis.acquire(0, 1, (0, 0), 100), LeaseAnswer::Done);
        assert_eq!(redis.acquire(50, 1, (1, 0), 100), LeaseAnswer::NotOurs);
        assert_eq!(redis.renew(60, 1, (1, 0), 100), LeaseAnswer::NotOurs);
        assert_eq!(redis.acquire(100, 1, (1, 0), 1_000), LeaseAnswer::Done);
        redis.snapshot();
        redis.release(120, 1, (1, 0));
        redis.restart(200);
        assert!(!redis.up(150));
        assert_eq!(redis.acquire(200, 1, (2, 0), 100), LeaseAnswer::NotOurs);
    }
}
