//! How fast one source address may open connections (`http.connection_rate_per_source`, bursts
//! of `http.connection_burst_per_source`): a token bucket per address (GCRA, the `governor`
//! crate), asked as soon as a connection is accepted, so that a source reconnecting in a loop is
//! turned away before any TLS handshake or HTTP parsing.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often buckets that have refilled are forgotten, so that addresses seen once do not
/// hold memory.
const FORGET_FULL_BUCKETS_EVERY: Duration = Duration::from_secs(60);

/// One bucket of new connections per source address.
#[derive(Debug)]
pub(crate) struct SourceRate {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    last_forget: Mutex<Instant>,
}

impl SourceRate {
    /// `per_second` new connections a second per source, bursts of `burst` (both at least 1).
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            last_forget: Mutex::new(Instant::now()),
        }
    }

    /// Whether `source` may open one more connection now (taking it from its bucket).
    pub(crate) fn admit(&self, source: IpAddr) -> bool {
        self.forget_full_buckets();
        self.limiter.check_key(&source).is_ok()
    }

    fn forget_full_buckets(&self) {
        let mut last = self
            .last_forget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.elapsed() >= FORGET_FULL_BUCKETS_EVERY {
            *last = Instant::now();
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_is_refused_while_another_is_not() {
        let rate = SourceRate::new(1, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!((0..3).all(|_| rate.admit(a)));
        assert!(!rate.admit(a));
        assert!(rate.admit(b));
    }
}
