//! The lease conformance suite: what the simulator's Redis model assumes of office leases
//! (`SET NX PX` with one winner, expiry after the TTL, renewal from when it is handled, renew
//! and release only by the holder, a restarted node being another holder), as cases run
//! against both [`RedisModel`] and the production [`LeaseManager`] on a real `redis-server`.
//!
//! Time is Redis's own: [`LeaseBackend::let_pass`] advances the model's clock, and on the
//! server awaits the server's clock (`TIME`); a lease's expiry is read as Redis keeps it
//! (`PEXPIRETIME`), so no case passes or fails by how fast the machine runs.

use std::collections::BTreeMap;
use std::time::Duration;

use tally_cluster::CoordinationConfig;
use tally_cluster::lease::{Lease, LeaseManager, Renewal};
use tally_protocol::{OfficeId, TenantId};

use super::redis::{Holder, LeaseAnswer, RedisModel};

/// A lease store the suite runs against; a holder is a node and its incarnation.
pub(crate) trait LeaseBackend {
    /// The lease TTL, in ms.
    fn ttl(&self) -> u64;
    /// `SET NX PX ttl` for `who`: whether it now holds the lease.
    async fn acquire(&mut self, who: Holder) -> bool;
    /// Extends the lease `who` took last, if Redis still holds it for `who`.
    async fn renew(&mut self, who: Holder) -> bool;
    /// Deletes the lease `who` took last, if Redis still holds it for `who`.
    async fn release(&mut self, who: Holder);
    /// Who holds the lease now.
    async fn holder(&mut self) -> Option<Holder>;
    /// When the lease expires, on Redis's clock (ms), if anybody holds it.
    async fn expires_at(&mut self) -> Option<u64>;
    /// Redis's clock now (ms).
    async fn clock(&mut self) -> u64;
    /// Lets at least `ms` of Redis's time pass.
    async fn let_pass(&mut self, ms: u64);
}

const A: Holder = (0, 0);
const B: Holder = (1, 0);
/// Node A after a restart: same node id, another incarnation (production: another nonce).
const A_RESTARTED: Holder = (0, 1);

/// Of two contenders exactly one wins; the loser does not disturb the winner.
pub(crate) async fn set_nx_has_one_winner(lease: &mut impl LeaseBackend) {
    assert!(lease.acquire(A).await, "a free lease is granted");
    assert!(!lease.acquire(B).await, "a held lease is refused");
    assert_eq!(lease.holder().await, Some(A));
}

/// A lease expires after its TTL, and then another takes it; the former holder can neither
/// renew nor release it any more.
pub(crate) async fn expiry_frees_the_lease_for_good(lease: &mut impl LeaseBackend) {
    assert!(lease.acquire(A).await);
    let ttl = lease.ttl();
    lease.let_pass(ttl + ttl / 4).await;
    assert_eq!(lease.holder().await, None, "expired after its TTL");
    assert!(lease.acquire(B).await, "an expired lease is granted anew");
    assert!(!lease.renew(A).await, "only the holder renews");
    lease.release(A).await;
    assert_eq!(lease.holder().await, Some(B), "only the holder releases");
}

/// A renewal extends the lease by the TTL from when Redis handles it: its expiry moves past
/// the one the acquire set, to within the renewal's round trip plus the TTL (read on Redis's
/// clock before and after, so the check holds however long the calls take).
pub(crate) async fn renewal_extends_from_now(lease: &mut impl LeaseBackend) {
    assert!(lease.acquire(A).await);
    let ttl = lease.ttl();
    let acquired = lease.expires_at().await.expect("held after the acquire");
    lease.let_pass(ttl / 10).await;
    let before = lease.clock().await;
    assert!(lease.renew(A).await, "the holder renews");
    let after = lease.clock().await;
    let renewed = lease.expires_at().await.expect("held after the renewal");
    assert!(
        renewed > acquired,
        "the renewal extends the lease: expiry {renewed} after {acquired}"
    );
    assert!(
        (before + ttl..=after + ttl).contains(&renewed),
        "expiry {renewed} is the TTL ({ttl} ms) from when Redis handled the renewal, between \
         {before} and {after}"
    );
    assert_eq!(lease.holder().await, Some(A));
}

/// The holder's release frees the lease at once.
pub(crate) async fn release_frees_at_once(lease: &mut impl LeaseBackend) {
    assert!(lease.acquire(A).await);
    lease.release(A).await;
    assert_eq!(lease.holder().await, None);
    assert!(
        lease.acquire(B).await,
        "a released lease is granted at once"
    );
}

/// A restarted node is another holder: it cannot take (nor renew, nor release) its former
/// incarnation's lease.
pub(crate) async fn a_restarted_node_is_another_holder(lease: &mut impl LeaseBackend) {
    assert!(lease.acquire(A).await);
    assert!(!lease.acquire(A_RESTARTED).await);
    assert_eq!(lease.holder().await, Some(A));
}

/// Runs every case, each on a fresh backend from `backend` (cases run at once: their waits
/// overlap).
pub(crate) async fn run_all<B: LeaseBackend>(backend: impl Fn(&str) -> B) {
    futures::join!(
        async { set_nx_has_one_winner(&mut backend("one-winner")).await },
        async { expiry_frees_the_lease_for_good(&mut backend("expiry")).await },
        async { renewal_extends_from_now(&mut backend("renewal")).await },
        async { release_frees_at_once(&mut backend("release")).await },
        async { a_restarted_node_is_another_holder(&mut backend("restart")).await },
    );
}

/// The simulator's Redis model, with a clock of its own.
#[derive(Debug, Default)]
pub(crate) struct ModelLeases {
    redis: RedisModel,
    now: u64,
}

/// The office the cases lease, in the model.
const OFFICE: usize = 0;
/// The TTL in the model (the simulator's).
const MODEL_TTL: u64 = super::nodes::TIMING.ttl;

impl LeaseBackend for ModelLeases {
    fn ttl(&self) -> u64 {
        MODEL_TTL
    }

    async fn acquire(&mut self, who: Holder) -> bool {
        self.redis.acquire(self.now, OFFICE, who, MODEL_TTL) == LeaseAnswer::Done
    }

    async fn renew(&mut self, who: Holder) -> bool {
        self.redis.renew(self.now, OFFICE, who, MODEL_TTL) == LeaseAnswer::Done
    }

    async fn release(&mut self, who: Holder) {
        self.redis.release(self.now, OFFICE, who);
    }

    async fn holder(&mut self) -> Option<Holder> {
        self.redis.holder(self.now, OFFICE)
    }

    async fn expires_at(&mut self) -> Option<u64> {
        self.redis.lease_expiry(self.now, OFFICE)
    }

    async fn clock(&mut self) -> u64 {
        self.now
    }

    async fn let_pass(&mut self, ms: u64) {
        self.now += ms;
    }
}

/// The production lease code on a real `redis-server`: one [`LeaseManager`] per holder (a
/// restarted node is a new manager with the same node id), one office.
#[derive(Debug)]
pub(crate) struct RedisLeases {
    config: CoordinationConfig,
    managers: BTreeMap<Holder, LeaseManager>,
    leases: BTreeMap<Holder, Lease>,
    tenant: TenantId,
    office: OfficeId,
    /// For Redis's clock and the lease key's expiry.
    conn: redis::aio::ConnectionManager,
}

impl RedisLeases {
    /// Leases under `prefix` on the Redis of `config`, whose TTL they take.
    pub(crate) fn new(config: &CoordinationConfig, prefix: &str) -> Self {
        Self {
            config: CoordinationConfig {
                key_prefix: prefix.to_string(),
                ..config.clone()
            },
            managers: BTreeMap::new(),
            leases: BTreeMap::new(),
            tenant: TenantId::new("acme").unwrap(),
            office: OfficeId::new("office").unwrap(),
            conn: config.connect().unwrap(),
        }
    }

    fn manager(&mut self, who: Holder) -> &LeaseManager {
        let config = &self.config;
        self.managers
            .entry(who)
            .or_insert_with(|| LeaseManager::new(config, &format!("node-{}", who.0)).unwrap())
    }
}

impl LeaseBackend for RedisLeases {
    fn ttl(&self) -> u64 {
        self.config.lease_ttl.as_millis() as u64
    }

    async fn acquire(&mut self, who: Holder) -> bool {
        let (tenant, office) = (self.tenant.clone(), self.office.clone());
        let lease = self.manager(who).try_acquire(&tenant, &office).await;
        match lease.expect("redis answers") {
            Some(lease) => {
                self.leases.insert(who, lease);
                true
            }
            None => false,
        }
    }

    async fn renew(&mut self, who: Holder) -> bool {
        let lease = self.leases.get_mut(&who).expect("renew after an acquire");
        match lease.renew().await {
            Renewal::Renewed => true,
            Renewal::Lost(_) => false,
            Renewal::Unconfirmed => panic!("redis answers"),
        }
    }

    async fn release(&mut self, who: Holder) {
        let lease = self.leases.remove(&who).expect("release after an acquire");
        lease.release().await.expect("redis answers");
    }

    async fn holder(&mut self) -> Option<Holder> {
        let (tenant, office) = (self.tenant.clone(), self.office.clone());
        let any = *self.managers.keys().next().expect("a manager");
        let value = self.manager(any).current_holder(&tenant, &office).await;
        let value = value.expect("redis answers")?;
        let named = self.managers.iter().find(|(_, m)| m.holder() == value);
        Some(*named.expect("a holder of the suite").0)
    }

    async fn expires_at(&mut self) -> Option<u64> {
        // The key layout of `coordination/keys.rs`: `P:lease:{tenant}:{office}`.
        let key = format!(
            "{}:lease:{}:{}",
            self.config.key_prefix, self.tenant, self.office
        );
        let at: i64 = redis::cmd("PEXPIRETIME")
            .arg(key)
            .query_async(&mut self.conn)
            .await
            .expect("redis answers");
        u64::try_from(at).ok()
    }

    async fn clock(&mut self) -> u64 {
        let (secs, micros): (u64, u64) = redis::cmd("TIME")
            .query_async(&mut self.conn)
            .await
            .expect("redis answers");
        secs * 1_000 + micros / 1_000
    }

    async fn let_pass(&mut self, ms: u64) {
        let until = self.clock().await + ms;
        loop {
            let now = self.clock().await;
            if now >= until {
                return;
            }
            tokio::time::sleep(Duration::from_millis(until - now)).await;
        }
    }
}
