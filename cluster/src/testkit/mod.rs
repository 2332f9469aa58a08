//! Test harness of the cluster crate (feature `testkit`): a `redis-server` of the test's own
//! on a free loopback port, and coordination settings fast enough for tests.

mod redis_server;

use std::time::Duration;

pub use redis_server::RedisServer;

use crate::coordination::CoordinationConfig;

/// Coordination settings for tests against `server`: heartbeats every 100 ms with a 1 s TTL,
/// leases of 1 s renewed every 200 ms, keys under `prefix`.
pub fn fast_config(server: &RedisServer, prefix: &str) -> CoordinationConfig {
    CoordinationConfig {
        redis_url: server.url(),
        key_prefix: prefix.to_string(),
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_ttl: Duration::from_secs(1),
        view_refresh_interval: Duration::from_millis(100),
        lease_ttl: Duration::from_secs(1),
        lease_renew_interval: Duration::from_millis(200),
        redis_timeout: Duration::from_millis(500),
    }
}
