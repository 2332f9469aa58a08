//! Test harness of the cluster crate (feature `testkit`): a `redis-server` of the test's own
//! on a free loopback port, and coordination settings fast enough for tests.

mod redis_server;

use std::time::Duration;

pub use redis_server::RedisServer;

use tokio::sync::watch;

use crate::coordination::CoordinationConfig;
use crate::lease::{HeldLease, LeaseLost};
use crate::membership::{ClusterView, Member, MemberState, PROTOCOL_VERSION};

/// Longest a test waits for the cluster to reach a state it awaits: a guard against hanging,
/// not a measurement.
pub const AWAIT_LIMIT: Duration = Duration::from_secs(20);

/// Coordination settings for tests against `server`: heartbeats every 100 ms with a 1 s TTL,
/// leases of 1 s renewed every 200 ms, keys under `prefix`.
pub fn fast_config(server: &RedisServer, prefix: &str) -> CoordinationConfig {
    CoordinationConfig {
        redis_url: crate::RedisUrl(server.url()),
        key_prefix: prefix.to_string(),
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_ttl: Duration::from_secs(1),
        view_refresh_interval: Duration::from_millis(100),
        lease_ttl: Duration::from_secs(1),
        lease_renew_interval: Duration::from_millis(200),
        redis_timeout: Duration::from_millis(500),
    }
}

/// A member record for tests: node `id` of `region`, joining, with made-up addresses.
pub fn member(id: &str, region: &str) -> Member {
    Member {
        id: id.to_string(),
        region: region.to_string(),
        cluster_addr: format!("127.0.0.1:{}", 9000 + id.len()),
        http_addr: format!("{id}.test:8080"),
        state: MemberState::Joining,
        protocol_version: PROTOCOL_VERSION,
    }
}

/// Waits until `view` satisfies `condition` and returns that view.
///
/// # Panics
/// If it does not within [`AWAIT_LIMIT`], with `what` and the last view.
pub async fn await_view(
    view: &mut watch::Receiver<ClusterView>,
    what: &str,
    condition: impl FnMut(&ClusterView) -> bool,
) -> ClusterView {
    let outcome = tokio::time::timeout(AWAIT_LIMIT, view.wait_for(condition))
        .await
        .map(|seen| seen.map(|seen| seen.clone()));
    match outcome {
        Ok(Ok(seen)) => seen,
        Ok(Err(_)) => panic!("the watcher stopped while waiting for {what}"),
        Err(_) => panic!(
            "no view with {what} within {AWAIT_LIMIT:?}; last: {:?}",
            *view.borrow()
        ),
    }
}

/// The ids and states of a view, for assertions.
pub fn states(view: &ClusterView) -> Vec<(String, MemberState)> {
    view.members
        .values()
        .map(|member| (member.id.clone(), member.state))
        .collect()
}

/// Waits until `lease` is reported lost and returns why.
///
/// # Panics
/// If it is not within [`AWAIT_LIMIT`].
pub async fn await_lost(lease: &HeldLease) -> LeaseLost {
    let mut lost = lease.lost();
    let reason = tokio::time::timeout(AWAIT_LIMIT, lost.wait_for(Option::is_some))
        .await
        .expect("the lease was never reported lost")
        .expect("the renewal task stopped without reporting");
    reason.expect("wait_for returned a held lease")
}
