//! Office leases against a real `redis-server` started by the test: one winner among
//! contenders, takeover only after expiry, renew and release only by the holder, background
//! renewal and its "lost" notification.

use std::time::Duration;

use tally_cluster::lease::{HeldLease, LeaseLost, LeaseManager, Renewal};
use tally_cluster::testkit::{RedisServer, await_lost, fast_config};
use tally_protocol::{OfficeId, TenantId};
use tokio::time::Instant;

fn office(i: usize) -> (TenantId, OfficeId) {
    (
        TenantId::new("acme").unwrap(),
        OfficeId::new(format!("office-{i}")).unwrap(),
    )
}

/// Two lease managers, for nodes a and b, on one Redis.
fn contenders(server: &RedisServer) -> (LeaseManager, LeaseManager) {
    let config = fast_config(server, "lease");
    (
        LeaseManager::new(&config, "node-a").unwrap(),
        LeaseManager::new(&config, "node-b").unwrap(),
    )
}

/// Tries to take the lease every few milliseconds until it is granted.
async fn acquire_eventually(
    leases: &LeaseManager,
    (tenant, office): &(TenantId, OfficeId),
) -> tally_cluster::lease::Lease {
    loop {
        if let Some(lease) = leases.try_acquire(tenant, office).await.unwrap() {
            return lease;
        }
        // Expiry in Redis has no event to await; retry like a node would.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Takes the lease of `target` for `leases`, renewed in the background.
async fn hold_in_background(leases: &LeaseManager, target: &(TenantId, OfficeId)) -> HeldLease {
    let lease = leases.try_acquire(&target.0, &target.1).await.unwrap();
    lease.expect("the lease is free").keep_renewed()
}

/// Asserts that Redis holds the lease of `target` for `leases`.
async fn assert_held_by(leases: &LeaseManager, target: &(TenantId, OfficeId)) {
    let holder = leases.current_holder(&target.0, &target.1).await.unwrap();
    assert_eq!(holder.as_deref(), Some(leases.holder()));
}

#[tokio::test]
async fn of_two_contenders_exactly_one_wins() {
    let server = RedisServer::start().await.unwrap();
    let (a, b) = contenders(&server);
    for i in 0..40 {
        let (tenant, office) = office(i);
        let (by_a, by_b) = tokio::join!(
            a.try_acquire(&tenant, &office),
            b.try_acquire(&tenant, &office)
        );
        let (by_a, by_b) = (by_a.unwrap(), by_b.unwrap());
        assert!(
            by_a.is_some() != by_b.is_some(),
            "office-{i}: both or neither won"
        );
        let holder = a.current_holder(&tenant, &office).await.unwrap().unwrap();
        let winner = if by_a.is_some() { &a } else { &b };
        assert_eq!(holder, winner.holder());
    }
}

#[tokio::test]
async fn the_loser_gets_the_lease_only_after_the_holder_stops_renewing_and_it_expires() {
    let server = RedisServer::start().await.unwrap();
    let (a, b) = contenders(&server);
    let target = office(1);
    let mut held = a.try_acquire(&target.0, &target.1).await.unwrap().unwrap();
    assert!(b.try_acquire(&target.0, &target.1).await.unwrap().is_none());
    // Renewed by hand: still a's.
    assert_eq!(held.renew().await, Renewal::Renewed);
    let valid_until = held.valid_until();

    // a stops renewing (stalled); b takes over once Redis expired it, never before a's own
    // deadline.
    let taken = acquire_eventually(&b, &target).await;
    assert!(
        Instant::now() >= valid_until,
        "taken before the holder's deadline"
    );
    assert_held_by(&b, &target).await;

    // a resumes: its renewal fails and reports the lease lost; b's lease is untouched.
    assert_eq!(held.renew().await, Renewal::Lost(LeaseLost::NotHeld));
    // Releasing by a non-holder does nothing.
    assert!(!held.release().await.unwrap());
    assert_held_by(&b, &target).await;
    // The holder's release frees it at once.
    assert!(taken.release().await.unwrap());
    assert!(a.try_acquire(&target.0, &target.1).await.unwrap().is_some());
}

#[tokio::test]
async fn a_lease_renewed_in_the_background_outlives_its_ttl_and_is_released_on_request() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "lease");
    let (a, b) = contenders(&server);
    let target = office(2);
    let held = hold_in_background(&a, &target).await;
    // Over three TTLs, b never gets it.
    let until = Instant::now() + 3 * config.lease_ttl;
    while Instant::now() < until {
        assert!(b.try_acquire(&target.0, &target.1).await.unwrap().is_none());
        tokio::time::sleep(config.lease_renew_interval).await;
    }
    assert_eq!(*held.lost().borrow(), None);
    assert!(held.release().await.unwrap());
    assert!(b.try_acquire(&target.0, &target.1).await.unwrap().is_some());
}

#[tokio::test]
async fn a_lease_taken_away_in_redis_is_reported_lost() {
    let server = RedisServer::start().await.unwrap();
    let (a, b) = contenders(&server);
    let target = office(3);
    let held = hold_in_background(&a, &target).await;
    // An operator (or a Redis failover) deletes the key; b takes the office.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg("lease:lease:acme:office-3")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(b.try_acquire(&target.0, &target.1).await.unwrap().is_some());
    assert_eq!(await_lost(&held).await, LeaseLost::NotHeld);
    assert!(!held.release().await.unwrap());
    assert_held_by(&b, &target).await;
}
