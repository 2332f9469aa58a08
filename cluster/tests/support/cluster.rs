//! A cluster node in the test process (`Node::start` with `cluster.enabled`), for the
//! `cluster_*` tests.

use tally_cluster::testkit::{AWAIT_LIMIT, RedisServer, fast_config};
use tally_config::Settings;
use tokio::sync::watch;

/// The region of the test nodes.
pub const REGION: &str = "eu";

/// Settings of cluster node `node-a` of [`REGION`] against `server`, keys under `prefix`, with
/// the test timings of [`fast_config`].
pub fn cluster_settings(server: &RedisServer, prefix: &str) -> Settings {
    let fast = fast_config(server, prefix);
    let mut settings = Settings::default();
    settings.node.node_id = "node-a".into();
    settings.node.region = REGION.into();
    let cluster = &mut settings.cluster;
    cluster.enabled = true;
    cluster.redis_url = Some(server.url());
    cluster.key_prefix = prefix.into();
    cluster.listen_addr = "127.0.0.1:0".parse().unwrap();
    cluster.http_advertise_addr = Some("127.0.0.1:1".into());
    cluster.cookie = Some("cluster-router-test-cookie".into());
    cluster.heartbeat_interval = fast.heartbeat_interval;
    cluster.heartbeat_ttl = fast.heartbeat_ttl;
    cluster.view_refresh_interval = fast.view_refresh_interval;
    cluster.lease_ttl = fast.lease_ttl;
    cluster.lease_renew_interval = fast.lease_renew_interval;
    cluster.redis_timeout = fast.redis_timeout;
    settings
}

/// Waits until the node holds `expected` offices.
///
/// # Panics
/// If it does not within [`AWAIT_LIMIT`], with `what`.
pub async fn await_held(held: &mut watch::Receiver<usize>, expected: usize, what: &str) {
    let reached = tokio::time::timeout(AWAIT_LIMIT, held.wait_for(|held| *held == expected))
        .await
        .is_ok();
    assert!(
        reached,
        "{what}: holds {} offices, expected {expected}",
        *held.borrow()
    );
}
