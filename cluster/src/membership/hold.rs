//! [`ViewHold`]: when the watcher publishes a membership view it read, as pure code (no tokio,
//! no clock: time is an input), so that the deterministic simulator drives the very rules the
//! [`MembershipWatcher`](super::MembershipWatcher) follows.
//!
//! - Views are ordered by epoch: a read whose epoch is below the published one is not
//!   published (Redis lost writes).
//! - While Redis is unavailable the last view is kept: nobody is declared dead because Redis
//!   cannot be read.
//! - When Redis answers again, or a read lacks this node's own record or went back in epoch
//!   (Redis restarted without its data, or this node was expired while stalled), views are
//!   read without expiring anybody and not published for one settle period (a heartbeat TTL),
//!   so that every live member has re-created its keys before a view is trusted.

use std::ops::Add;

#[cfg(feature = "mutations")]
use crate::ownership::Mutation;

/// What to do with a view just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Publish it.
    Publish,
    /// Hold the last view: still settling.
    Settling,
    /// Hold the last view and settle: the read went back in epoch or lacks this node.
    Lost,
    /// Redis answered after an outage: hold the last view and settle.
    RedisBack,
}

/// How a read is made: planned by [`ViewHold::plan_read`] before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadPlan {
    /// Whether the read may expire members whose heartbeat is gone (not while settling).
    pub expire: bool,
}

/// What a read found, as far as the hold-over is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadSummary {
    /// The membership epoch read.
    pub epoch: u64,
    /// Whether this node's own record was listed (always true for a node that watches
    /// without being a member).
    pub own_listed: bool,
}

/// The watcher's hold-over state: whether Redis answered last, and until when views are held.
/// `I` is an instant, `D` a duration (tokio's in production, milliseconds in the simulator).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViewHold<I, D> {
    settle: D,
    settle_until: Option<I>,
    redis_up: bool,
    #[cfg(feature = "mutations")]
    mutation: Option<Mutation>,
}

impl<I: Copy + Ord + Add<D, Output = I>, D: Copy> ViewHold<I, D> {
    /// Redis answering, nothing held; a hold lasts `settle` (the heartbeat TTL).
    pub fn new(settle: D) -> Self {
        Self {
            settle,
            settle_until: None,
            redis_up: true,
            #[cfg(feature = "mutations")]
            mutation: None,
        }
    }

    /// A hold-over carrying the known bug `mutation` (tests only): with
    /// [`Mutation::AdoptEveryView`] every read is published.
    #[cfg(feature = "mutations")]
    pub fn with_mutation(settle: D, mutation: Option<Mutation>) -> Self {
        Self {
            mutation,
            ..Self::new(settle)
        }
    }

    fn adopts_every_view(&self) -> bool {
        #[cfg(feature = "mutations")]
        if self.mutation == Some(Mutation::AdoptEveryView) {
            return true;
        }
        false
    }

    /// Whether the last Redis call succeeded.
    pub fn redis_up(&self) -> bool {
        self.redis_up
    }

    /// Plans a read at `now`: it may expire members unless views are being held.
    pub fn plan_read(&mut self, now: I) -> ReadPlan {
        let settling = match self.settle_until {
            Some(until) if now < until => true,
            Some(_) => {
                self.settle_until = None;
                false
            }
            None => false,
        };
        ReadPlan {
            expire: !settling || self.adopts_every_view(),
        }
    }

    /// A Redis call failed; true if it is the first failure of an outage (`redis_up` turned
    /// false: report it once).
    pub fn redis_failed(&mut self) -> bool {
        std::mem::replace(&mut self.redis_up, false)
    }

    /// A read planned as `plan` returned `read` at `now`, while the published view has epoch
    /// `published_epoch`: what to do with it.
    pub fn read_done(
        &mut self,
        now: I,
        plan: ReadPlan,
        read: ReadSummary,
        published_epoch: u64,
    ) -> Verdict {
        if self.adopts_every_view() {
            self.redis_up = true;
            return Verdict::Publish;
        }
        if !self.redis_up {
            self.redis_up = true;
            self.settle_until = Some(now + self.settle);
            return Verdict::RedisBack;
        }
        if !plan.expire {
            return Verdict::Settling;
        }
        if !read.own_listed || read.epoch < published_epoch {
            self.settle_until = Some(now + self.settle);
            return Verdict::Lost;
        }
        Verdict::Publish
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: u64 = 1_000;
    const OWN: ReadSummary = ReadSummary {
        epoch: 5,
        own_listed: true,
    };

    #[test]
    fn a_view_is_held_through_an_outage_and_one_settle_period_after_it() {
        let mut hold = ViewHold::new(SETTLE);
        let plan = hold.plan_read(0);
        assert!(plan.expire);
        assert_eq!(hold.read_done(0, plan, OWN, 5), Verdict::Publish);
        assert!(hold.redis_failed(), "the first failure is reported");
        assert!(!hold.redis_failed(), "once");
        let plan = hold.plan_read(100);
        assert_eq!(hold.read_done(100, plan, OWN, 5), Verdict::RedisBack);
        let plan = hold.plan_read(600);
        assert!(!plan.expire, "nobody is expired while settling");
        assert_eq!(hold.read_done(600, plan, OWN, 5), Verdict::Settling);
        let plan = hold.plan_read(1_100);
        assert!(plan.expire);
        assert_eq!(hold.read_done(1_100, plan, OWN, 5), Verdict::Publish);
    }

    #[test]
    fn a_read_that_went_back_in_epoch_or_lacks_this_node_is_held() {
        let mut hold = ViewHold::new(SETTLE);
        let plan = hold.plan_read(0);
        assert_eq!(hold.read_done(0, plan, OWN, 6), Verdict::Lost);
        let plan = hold.plan_read(500);
        assert_eq!(hold.read_done(500, plan, OWN, 6), Verdict::Settling);
        let lacking = ReadSummary {
            epoch: 7,
            own_listed: false,
        };
        let plan = hold.plan_read(1_000);
        assert_eq!(hold.read_done(1_000, plan, lacking, 6), Verdict::Lost);
        let back = ReadSummary {
            epoch: 8,
            own_listed: true,
        };
        let plan = hold.plan_read(2_000);
        assert_eq!(hold.read_done(2_000, plan, back, 6), Verdict::Publish);
    }
}
