//! Restart intensity: how many restarts of one child a supervisor allows within a window before
//! it escalates (ractor has no OTP strategies; every tally supervisor uses this).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// At most `max_restarts` restarts within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts allowed within the window.
    pub max_restarts: u32,
    /// The sliding window.
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(10),
        }
    }
}

/// Recent restart times per child key.
#[derive(Debug)]
pub(crate) struct RestartTracker<K> {
    policy: RestartPolicy,
    recent: HashMap<K, VecDeque<Instant>>,
}

impl<K: Eq + Hash> RestartTracker<K> {
    /// A tracker enforcing `policy`.
    pub(crate) fn new(policy: RestartPolicy) -> Self {
        Self {
            policy,
            recent: HashMap::new(),
        }
    }

    /// Records a failure of `child` at `now`; `true` if a restart is still allowed, `false` if the
    /// failure must escalate.
    pub(crate) fn allow_restart(&mut self, child: K, now: Instant) -> bool {
        let window = self.policy.window;
        let times = self.recent.entry(child).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            times.pop_front();
        }
        times.push_back(now);
        times.len() <= self.policy.max_restarts as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_past_the_intensity_and_forgets_old_failures() {
        let mut tracker = RestartTracker::new(RestartPolicy {
            max_restarts: 2,
            window: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        assert!(tracker.allow_restart("a", t0));
        assert!(tracker.allow_restart("a", t0 + Duration::from_secs(1)));
        assert!(
            tracker.allow_restart("b", t0 + Duration::from_secs(1)),
            "children are counted apart"
        );
        assert!(!tracker.allow_restart("a", t0 + Duration::from_secs(2)));
        assert!(tracker.allow_restart("a", t0 + Duration::from_secs(30)));
    }
}
