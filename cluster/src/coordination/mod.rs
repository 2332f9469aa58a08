//! What membership and leases share: the Redis connection, the layout of tally's keys in
//! Redis, the timings, the error type and the metric names.

mod error;
mod keys;
pub mod telemetry;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tally_config::{ClusterSettings, redact_url};

pub use error::CoordinationError;
pub(crate) use keys::Keys;

/// How a node reaches Redis and the timings of heartbeats and leases: the Redis part of
/// `[cluster]`.
#[derive(Debug, Clone)]
pub struct CoordinationConfig {
    /// `redis://…` URL of the Redis holding membership and leases.
    pub redis_url: RedisUrl,
    /// Prefix of every key and channel (clusters can share one Redis).
    pub key_prefix: String,
    /// How often a member renews its heartbeat key.
    pub heartbeat_interval: Duration,
    /// Lifetime of the heartbeat key: a member silent this long is expired.
    pub heartbeat_ttl: Duration,
    /// How often the view is re-read without an announcement.
    pub view_refresh_interval: Duration,
    /// Lifetime of an office lease.
    pub lease_ttl: Duration,
    /// How often a held lease is renewed.
    pub lease_renew_interval: Duration,
    /// Longest wait for Redis to connect or answer.
    pub redis_timeout: Duration,
}

impl CoordinationConfig {
    /// The Redis part of `[cluster]`, or `None` when the cluster is disabled or has no Redis URL
    /// (validated settings of an enabled cluster always have one).
    pub fn from_settings(settings: &ClusterSettings) -> Option<CoordinationConfig> {
        let redis_url = RedisUrl(settings.redis_url.clone().filter(|_| settings.enabled)?);
        Some(CoordinationConfig {
            redis_url,
            key_prefix: settings.key_prefix.clone(),
            heartbeat_interval: settings.heartbeat_interval,
            heartbeat_ttl: settings.heartbeat_ttl,
            view_refresh_interval: settings.view_refresh_interval,
            lease_ttl: settings.lease_ttl,
            lease_renew_interval: settings.lease_renew_interval,
            redis_timeout: settings.redis_timeout,
        })
    }

    /// A Redis connection that reconnects by itself. It is opened lazily: this succeeds while
    /// Redis is down, and each command then fails within `redis_timeout` until Redis is back.
    ///
    /// # Errors
    /// [`CoordinationError::Redis`] if the URL is not a Redis URL.
    pub fn connect(&self) -> Result<ConnectionManager, CoordinationError> {
        let client = redis::Client::open(self.redis_url.0.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.redis_timeout))
            .set_response_timeout(Some(self.redis_timeout))
            .set_number_of_retries(1)
            .set_max_delay(self.redis_timeout);
        Ok(ConnectionManager::new_lazy_with_config(client, config)?)
    }

    /// A client for connections that the manager does not cover (the pub/sub subscription).
    pub(crate) fn client(&self) -> Result<redis::Client, CoordinationError> {
        Ok(redis::Client::open(self.redis_url.0.as_str())?)
    }

    /// The key layout of this cluster.
    pub(crate) fn keys(&self) -> Keys {
        Keys::new(&self.key_prefix)
    }
}

/// A duration in whole milliseconds, at least 1 (Redis refuses a TTL of 0).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A Redis URL, which may hold a password: `Debug` shows it redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(pub String);

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}
