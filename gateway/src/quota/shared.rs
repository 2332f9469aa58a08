//! A per-tenant rate budget shared by every node of a cluster: GCRA (the algorithm of the local
//! `governor` buckets) kept in Redis as one "theoretical arrival time" per tenant and quota,
//! advanced by an atomic Lua script on the Redis server's clock, so that nodes' clocks do not
//! matter and two nodes can never both spend the same capacity.
//!
//! When Redis cannot answer, the node falls back to its local bucket alone for a while
//! ([`RETRY_SHARED_AFTER`]) and counts it in `tally_quota_shared_unavailable_total`: a tenant
//! can then get up to its rate on each node, a bounded and temporary excess, while refusing every
//! reading for the outage would turn a Redis fault into data loss for every tenant (Redis is
//! the coordination plane, not the data path; leases ride out its outages in the same way).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::ConnectionManager;
use tally_cluster::CoordinationConfig;
use tally_protocol::TenantId;

/// How long a node uses only its local buckets after Redis failed to answer, before asking
/// Redis again (so that an outage costs one timeout per second, not one per request).
pub(crate) const RETRY_SHARED_AFTER: Duration = Duration::from_secs(1);

/// GCRA over the theoretical arrival time in `KEYS[1]` (microseconds of the Redis clock).
/// `ARGV`: emission interval in µs (1e6 / rate), burst, units wanted. Answers `{1, 0}` when the
/// units were taken, `{0, wait_us}` when they are not there yet (nothing is taken then). The key
/// expires once the bucket would be full again, so idle tenants leave nothing behind.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local units = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval * units
local allow_at = new_tat - interval * burst
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
";

/// The answer of the shared budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SharedVerdict {
    /// The units were taken from the cluster-wide budget.
    Taken,
    /// Not enough budget yet: wait this long (nothing was taken).
    Wait(Duration),
    /// Redis did not answer (now, or within the last [`RETRY_SHARED_AFTER`]): the local bucket
    /// decides alone.
    Unavailable,
}

/// The cluster-wide budgets of every tenant, in the cluster's Redis (key
/// `{key_prefix}:rate:{quota}:{tenant}`, a string with a TTL: the tenant's theoretical arrival
/// time in µs).
#[derive(Debug)]
pub(crate) struct SharedBudget {
    connection: ConnectionManager,
    script: Script,
    /// `{key_prefix}:rate`; a budget's key is `{key_prefix}:rate:{quota}:{tenant}`.
    prefix: String,
    /// Until when Redis is not asked, after it failed to answer.
    skip_until: Mutex<Option<Instant>>,
}

impl SharedBudget {
    /// Budgets in the Redis of `config` (connected lazily: Redis may be down at start).
    ///
    /// # Errors
    /// If the Redis URL is not one.
    pub(crate) fn connect(
        config: &CoordinationConfig,
    ) -> Result<Self, tally_cluster::CoordinationError> {
        Ok(Self {
            connection: config.connect()?,
            script: Script::new(GCRA),
            prefix: format!("{}:rate", config.key_prefix),
            skip_until: Mutex::new(None),
        })
    }

    /// Takes `units` of `tenant`'s `quota` ("readings", "requests"), which allows `per_second`
    /// with bursts of `burst`, from the budget every node shares.
    pub(crate) async fn take(
        &self,
        quota: &'static str,
        tenant: &TenantId,
        units: u32,
        (per_second, burst): (u32, u32),
    ) -> SharedVerdict {
        if self
            .skip_until
            .lock()
            .expect("the skip mark is never poisoned")
            .is_some_and(|until| Instant::now() < until)
        {
            return SharedVerdict::Unavailable;
        }
        let interval_us = 1_000_000.0 / f64::from(per_second.max(1));
        let mut connection = self.connection.clone();
        let answer: redis::RedisResult<(u8, u64)> = self
            .script
            .key(format!("{}:{quota}:{tenant}", self.prefix))
            .arg(interval_us)
            .arg(burst.max(1))
            .arg(units)
            .invoke_async(&mut connection)
            .await;
        match answer {
            Ok((1, _)) => SharedVerdict::Taken,
            Ok((_, wait_us)) => SharedVerdict::Wait(Duration::from_micros(wait_us)),
            Err(error) => {
                tracing::warn!(%error, quota, "the shared rate budget is unavailable; the local bucket decides alone");
                *self
                    .skip_until
                    .lock()
                    .expect("the skip mark is never poisoned") =
                    Some(Instant::now() + RETRY_SHARED_AFTER);
                crate::telemetry::shared_budget_unavailable(quota);
                SharedVerdict::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tally_cluster::testkit::RedisServer;
    use tally_cluster::{CoordinationConfig, RedisUrl};

    use super::*;

    fn config(url: String) -> CoordinationConfig {
        let beat = Duration::from_secs(1);
        CoordinationConfig {
            redis_url: RedisUrl(url),
            key_prefix: "unit".to_owned(),
            heartbeat_interval: beat,
            heartbeat_ttl: 3 * beat,
            view_refresh_interval: beat,
            lease_ttl: 3 * beat,
            lease_renew_interval: beat,
            redis_timeout: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn two_budgets_on_one_redis_share_a_tenants_burst_and_not_other_tenants() {
        let redis = RedisServer::start().await.expect("redis-server starts");
        let (one, two) = (
            SharedBudget::connect(&config(redis.url())).unwrap(),
            SharedBudget::connect(&config(redis.url())).unwrap(),
        );
        let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
        // A rate of 1/s: the burst of 10 is all there is during the test.
        let quota = (1, 10);
        assert_eq!(
            one.take("readings", &a, 6, quota).await,
            SharedVerdict::Taken
        );
        assert_eq!(
            two.take("readings", &a, 4, quota).await,
            SharedVerdict::Taken
        );
        let SharedVerdict::Wait(wait) = two.take("readings", &a, 2, quota).await else {
            panic!("the burst is spent across both budgets");
        };
        assert!(
            wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2),
            "two units at 1/s: {wait:?}"
        );
        assert_eq!(
            one.take("requests", &a, 10, quota).await,
            SharedVerdict::Taken
        );
        assert_eq!(
            two.take("readings", &b, 10, quota).await,
            SharedVerdict::Taken
        );
    }

    #[tokio::test]
    async fn redis_down_is_unavailable_and_not_asked_again_for_a_while() {
        let mut redis = RedisServer::start().await.expect("redis-server starts");
        let budget = SharedBudget::connect(&config(redis.url())).unwrap();
        let a = TenantId::new("a").unwrap();
        assert_eq!(
            budget.take("readings", &a, 1, (1, 10)).await,
            SharedVerdict::Taken
        );
        redis.kill();
        assert_eq!(
            budget.take("readings", &a, 1, (1, 10)).await,
            SharedVerdict::Unavailable
        );
        let skip_until = budget.skip_until.lock().unwrap().expect("a skip mark");
        assert!(skip_until > Instant::now() && skip_until <= Instant::now() + RETRY_SHARED_AFTER);
    }
}
