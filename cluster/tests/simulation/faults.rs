//! The faults of a run: their mix is drawn from the seed (so that different seeds stress
//! different things), and each one that fires is counted by kind.

use std::collections::BTreeMap;

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FaultKind {
    /// A message was lost.
    Drop,
    /// A message arrived twice.
    Duplicate,
    /// A message was held back long enough to overtake others.
    Delay,
    /// A node was cut off from its peers and Redis (not from the store nor its sensors).
    Partition,
    /// A node was cut off from Redis only.
    RedisCut,
    /// A partition or cut healed.
    Heal,
    /// A node crashed (state lost).
    Crash,
    /// A crashed node started again.
    Restart,
    /// A node stopped with a frozen clock (`kill -STOP`).
    Pause,
    /// A paused node went on.
    Resume,
    /// Redis restarted, losing what was written since its last snapshot.
    RedisRestart,
    /// A store call timed out after its write landed.
    StoreTimeoutLanded,
    /// A store call timed out and its write did not land.
    StoreTimeoutLost,
    /// A sensor reconnected to another node and sent again what was not acknowledged.
    SensorReconnect,
    /// A node began to drain: it claims nothing more and hands its offices off.
    Drain,
    /// A draining node had handed every office off and left (it joins again later).
    DrainDone,
    /// A node's watcher held its view: Redis could not be read, or a read went back in epoch
    /// or lacked the node itself (what a Redis restart leaves).
    ViewHeld,
}

impl FaultKind {
    /// Every kind, in order.
    pub(crate) const ALL: [FaultKind; 17] = [
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::Delay,
        FaultKind::Partition,
        FaultKind::RedisCut,
        FaultKind::Heal,
        FaultKind::Crash,
        FaultKind::Restart,
        FaultKind::Pause,
        FaultKind::Resume,
        FaultKind::RedisRestart,
        FaultKind::StoreTimeoutLanded,
        FaultKind::StoreTimeoutLost,
        FaultKind::SensorReconnect,
        FaultKind::Drain,
        FaultKind::DrainDone,
        FaultKind::ViewHeld,
    ];
}

/// How often each fault fires in a run, drawn from its seed.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// Per message.
    pub(crate) drop: f64,
    /// Per message.
    pub(crate) duplicate: f64,
    /// Per message.
    pub(crate) delay: f64,
    /// Per store call.
    pub(crate) store_timeout: f64,
    /// Node-level faults (crash, pause, partition, Redis cut, drain) scheduled in the fault
    /// phase.
    pub(crate) node_faults: u32,
    /// Redis restarts scheduled in the fault phase.
    pub(crate) redis_restarts: u32,
}

impl Profile {
    /// A mix drawn from `rng`: each kind is off in some runs, mild or heavy in others.
    pub(crate) fn draw(rng: &mut Xoshiro256PlusPlus) -> Profile {
        let mut rate = |max: f64| {
            if rng.random_bool(0.25) {
                0.0
            } else {
                rng.random_range(0.0..max)
            }
        };
        let drop = rate(0.15);
        let duplicate = rate(0.1);
        let delay = rate(0.2);
        let store_timeout = rate(0.1);
        Profile {
            drop,
            duplicate,
            delay,
            store_timeout,
            node_faults: rng.random_range(0..=6),
            redis_restarts: rng.random_range(0..=2),
        }
    }

    /// No faults (after healing).
    pub(crate) fn calm() -> Profile {
        Profile {
            drop: 0.0,
            duplicate: 0.0,
            delay: 0.0,
            store_timeout: 0.0,
            node_faults: 0,
            redis_restarts: 0,
        }
    }
}

/// How often each fault kind fired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FaultCounts(pub(crate) BTreeMap<FaultKind, u64>);

impl FaultCounts {
    /// Counts one `kind`.
    pub(crate) fn fired(&mut self, kind: FaultKind) {
        *self.0.entry(kind).or_default() += 1;
    }

    /// Adds `other`'s counts.
    pub(crate) fn add(&mut self, other: &FaultCounts) {
        for (kind, count) in &other.0 {
            *self.0.entry(*kind).or_default() += count;
        }
    }

    /// The kinds that never fired.
    pub(crate) fn never_fired(&self) -> Vec<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .filter(|kind| self.0.get(kind).copied().unwrap_or(0) == 0)
            .collect()
    }
}

impl std::fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = FaultKind::ALL
            .iter()
            .map(|kind| format!("{kind:?}={}", self.0.get(kind).copied().unwrap_or(0)))
            .collect();
        f.write_str(&parts.join(" "))
    }
}
