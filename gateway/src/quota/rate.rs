//! A per-tenant token bucket on this node (GCRA, the `governor` crate): a rate, a burst, and how
//! long to wait when the bucket is empty.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tally_protocol::TenantId;

use crate::error::ApiError;

/// One bucket per tenant, all with the same rate and burst.
#[derive(Debug)]
pub(crate) struct TenantRate {
    limiter: DefaultKeyedRateLimiter<TenantId>,
    /// What is counted, for messages, metrics and the shared budget's key ("readings",
    /// "requests").
    pub(crate) what: &'static str,
    per_second: u32,
    burst: u32,
}

impl TenantRate {
    /// `per_second` units a second per tenant, with bursts of up to `burst` (both at least 1).
    pub(crate) fn new(what: &'static str, per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            what,
            per_second: rate.get(),
            burst: burst.get(),
        }
    }

    /// The rate per second and the burst.
    pub(crate) fn quota(&self) -> (u32, u32) {
        (self.per_second, self.burst)
    }

    /// Takes `units` from `tenant`'s bucket, or tells how long to wait until they are there
    /// (nothing is taken then).
    ///
    /// # Errors
    /// `rate_limited` with the time to wait (at least 1 ms).
    pub(crate) fn take(&self, tenant: &TenantId, units: usize) -> Result<(), ApiError> {
        let wanted =
            NonZeroU32::new(u32::try_from(units).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let wait = match self.limiter.check_key_n(tenant, wanted) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(not_until)) => not_until.wait_time_from(self.limiter.clock().now()),
            // More than the burst: configuration validation keeps whole batches under it; a
            // second is the bucket's refill time at any rate.
            Err(_) => Duration::from_secs(1),
        };
        Err(self.refusal(tenant, wait))
    }

    /// The `rate_limited` answer for `tenant`, which may retry after `wait` (at least 1 ms),
    /// counted in the refusal metric.
    pub(crate) fn refusal(&self, tenant: &TenantId, wait: Duration) -> ApiError {
        let wait = wait.max(Duration::from_millis(1));
        crate::telemetry::quota_refused(tenant, self.what);
        ApiError::rate_limited(
            format!(
                "over the tenant's rate of {} {}/s; retry after {}ms",
                self.per_second,
                self.what,
                wait.as_millis()
            ),
            wait,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_protocol::ErrorCode;

    #[test]
    fn a_tenant_over_its_rate_waits_and_others_do_not() {
        let rate = TenantRate::new("readings", 10, 100);
        let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
        rate.take(&a, 100).unwrap();
        let err = rate.take(&a, 10).unwrap_err();
        assert_eq!(err.code, ErrorCode::RateLimited);
        let wait = err.retry_after.expect("a wait");
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        rate.take(&b, 100)
            .expect("another tenant has its own bucket");
    }
}
