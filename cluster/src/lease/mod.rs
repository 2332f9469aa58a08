//! Office leases in Redis: at most one node holds an office's lease at a time, and the holder
//! renews it while it serves the office.
//!
//! # Single effective activation: lease + fencing token
//! A lease alone cannot guarantee that only one node acts for an office: a holder that stalls
//! (a long pause, `kill -STOP`) past the lease's TTL still believes it holds it when it resumes,
//! while another node has taken it. tally therefore activates an office in two steps:
//!
//! ([`claim_office`] does both.)
//!
//! 1. take the lease ([`LeaseManager::try_acquire`]), which only one node can hold at a time;
//! 2. then take the office's fencing token from the store ([`tally_storage::Store::acquire_office`]),
//!    which raises the office's token by one and returns it. Every write of the office carries
//!    its token, and the store rejects a write whose token is lower than the office's current
//!    one (`StoreError::Fenced`).
//!
//! The lease keeps two nodes from *activating* an office at once in the normal case; the token
//! makes a stale activation harmless in every case: once a newer holder took its token, nothing
//! the older one writes lands, so nothing it acknowledges after that is durable, and it
//! acknowledges nothing (an ack waits for the durable write). The lease is the liveness part
//! (who should serve), the token the safety part (whose writes count).
//!
//! # What a holder may assume
//! A lease is taken or renewed with a TTL measured by Redis from when it handles the command.
//! The holder counts the same TTL from just *before* it sent the command, so its local deadline
//! ([`Lease::valid_until`]) never falls after Redis's expiry (clock-rate drift between the two
//! machines aside, which the token covers). While Redis is unavailable, a held lease keeps
//! being treated as held until that local deadline, then is reported lost
//! ([`LeaseLost::Expired`]); a renewal that finds the key gone or someone else's reports
//! [`LeaseLost::NotHeld`] at once.

mod claim;
mod renewal;

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use tally_protocol::{OfficeId, TenantId};
use tokio::time::Instant;
use tracing::{debug, info};

pub use claim::{ClaimError, OfficeClaim, claim_office};
pub use renewal::{HeldLease, LeaseLost};

use crate::coordination::telemetry;
use crate::coordination::{CoordinationConfig, CoordinationError, Keys, millis};

/// Extends the key's TTL only if it still holds our value.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        ",
    )
});

/// Deletes the key only if it still holds our value.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('DEL', KEYS[1])
        end
        return 0
        ",
    )
});

/// Takes office leases for one node.
#[derive(Debug, Clone)]
pub struct LeaseManager {
    conn: ConnectionManager,
    keys: Keys,
    /// What this node writes into its leases: its id and a random nonce of this process, so
    /// that a restarted node with the same id does not mistake its predecessor's lease for its
    /// own.
    holder: String,
    ttl: Duration,
    renew_interval: Duration,
}

impl LeaseManager {
    /// A lease manager for node `node_id`, with the lease timings of `config`.
    ///
    /// # Errors
    /// [`CoordinationError::Redis`] if the Redis URL is not one.
    pub fn new(
        config: &CoordinationConfig,
        node_id: &str,
    ) -> Result<LeaseManager, CoordinationError> {
        Ok(LeaseManager {
            conn: config.connect()?,
            keys: config.keys(),
            holder: format!("{node_id}/{:016x}", rand::random::<u64>()),
            ttl: config.lease_ttl,
            renew_interval: config.lease_renew_interval,
        })
    }

    /// How often held leases are renewed.
    pub fn renew_interval(&self) -> Duration {
        self.renew_interval
    }

    /// What this node's leases hold in Redis (`node_id/nonce`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes the lease of `office` (`SET key holder NX PX ttl`): `Some` if this node now holds
    /// it, `None` if another holder does.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached: no new lease without Redis.
    pub async fn try_acquire(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Lease>, CoordinationError> {
        let key = self.keys.lease(tenant.as_str(), office.as_str());
        let sent_at = Instant::now();
        let mut conn = self.conn.clone();
        let set: Result<Option<String>, _> = redis::cmd("SET")
            .arg(&key)
            .arg(&self.holder)
            .arg("NX")
            .arg("PX")
            .arg(millis(self.ttl))
            .query_async(&mut conn)
            .await;
        match set {
            Ok(Some(_)) => {
                metrics::counter!(telemetry::LEASE_ACQUIRED).increment(1);
                info!(tenant = %tenant, office = %office, holder = %self.holder, "lease acquired");
                Ok(Some(Lease {
                    tenant: tenant.clone(),
                    office: office.clone(),
                    key,
                    holder: self.holder.clone(),
                    conn,
                    ttl: self.ttl,
                    renew_interval: self.renew_interval,
                    valid_until: sent_at + self.ttl,
                }))
            }
            Ok(None) => {
                metrics::counter!(telemetry::LEASE_ACQUIRE_FAILURES, "reason" => "held")
                    .increment(1);
                debug!(tenant = %tenant, office = %office, "lease held by another node");
                Ok(None)
            }
            Err(error) => {
                metrics::counter!(telemetry::LEASE_ACQUIRE_FAILURES, "reason" => "redis")
                    .increment(1);
                metrics::counter!(telemetry::REDIS_ERRORS, "op" => "lease_acquire").increment(1);
                Err(error.into())
            }
        }
    }

    /// Who holds the lease of `office` (`node_id/nonce`), if anybody.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached.
    pub async fn current_holder(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<String>, CoordinationError> {
        let key = self.keys.lease(tenant.as_str(), office.as_str());
        let mut conn = self.conn.clone();
        Ok(redis::cmd("GET").arg(key).query_async(&mut conn).await?)
    }
}

/// An office lease held by this node, renewed by hand ([`Lease::renew`]) or in the background
/// ([`Lease::keep_renewed`]).
#[derive(Debug)]
pub struct Lease {
    tenant: TenantId,
    office: OfficeId,
    key: String,
    holder: String,
    conn: ConnectionManager,
    ttl: Duration,
    renew_interval: Duration,
    valid_until: Instant,
}

/// The outcome of one renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Extended: held until the new [`Lease::valid_until`].
    Renewed,
    /// Not extended because Redis did not answer; still held until [`Lease::valid_until`].
    Unconfirmed,
    /// Lost: see the reason.
    Lost(LeaseLost),
}

impl Lease {
    /// The tenant of the leased office.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The leased office.
    pub fn office(&self) -> &OfficeId {
        &self.office
    }

    /// Until when this node may treat the lease as held, by its own clock: never after Redis
    /// expires it.
    pub fn valid_until(&self) -> Instant {
        self.valid_until
    }

    /// Extends the lease by its TTL if Redis still holds it for this node.
    pub async fn renew(&mut self) -> Renewal {
        let sent_at = Instant::now();
        let renewed: Result<u8, _> = RENEW
            .key(&self.key)
            .arg(&self.holder)
            .arg(millis(self.ttl))
            .invoke_async(&mut self.conn)
            .await;
        match renewed {
            Ok(1) => {
                self.valid_until = sent_at + self.ttl;
                Renewal::Renewed
            }
            Ok(_) => {
                metrics::counter!(telemetry::LEASE_RENEW_FAILURES, "reason" => "not_held")
                    .increment(1);
                Renewal::Lost(LeaseLost::NotHeld)
            }
            Err(error) => {
                metrics::counter!(telemetry::LEASE_RENEW_FAILURES, "reason" => "redis")
                    .increment(1);
                metrics::counter!(telemetry::REDIS_ERRORS, "op" => "lease_renew").increment(1);
                debug!(tenant = %self.tenant, office = %self.office, %error, "lease renewal failed");
                if Instant::now() >= self.valid_until {
                    Renewal::Lost(LeaseLost::Expired)
                } else {
                    Renewal::Unconfirmed
                }
            }
        }
    }

    /// Gives the lease up if this node still holds it: `true` if it did. Releasing a lease
    /// someone else took since does nothing to theirs.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached; the lease then expires with its TTL.
    pub async fn release(mut self) -> Result<bool, CoordinationError> {
        let released: u8 = RELEASE
            .key(&self.key)
            .arg(&self.holder)
            .invoke_async(&mut self.conn)
            .await
            .inspect_err(|_| {
                metrics::counter!(telemetry::REDIS_ERRORS, "op" => "lease_release").increment(1);
            })?;
        info!(tenant = %self.tenant, office = %self.office, released = released == 1, "lease released");
        Ok(released == 1)
    }

    /// Renews the lease every `lease_renew_interval` in the background until it is released or
    /// lost.
    pub fn keep_renewed(self) -> HeldLease {
        HeldLease::spawn(self)
    }
}
