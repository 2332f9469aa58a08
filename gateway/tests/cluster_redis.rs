//! Redis killed and restarted (empty: no persistence) while the cluster serves: the offices
//! already active keep acknowledging through the outage, longer than a lease lives, and after
//! Redis is back every node is an active member again and nothing acknowledged is lost.

mod support;

use support::cluster::{Cluster, TTL, assert_exactly_acknowledged, provision};
use support::load::{LoadSensor, eventually};
use tally_cluster::membership::MemberState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_offices_keep_acknowledging_while_redis_is_down_and_after_it_restarts() {
    let mut cluster = Cluster::start(3).await;
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    let addrs = cluster.addrs();
    // Each sensor on a node that does not own its office (forwarded) or on its owner,
    // alternately.
    let sensors: Vec<LoadSensor> = offices
        .iter()
        .enumerate()
        .map(|(i, office)| {
            let owner = cluster.placed_on("acme", &office.office);
            let node = if i % 2 == 0 { owner } else { (owner + 1) % 3 };
            LoadSensor::spawn_any(vec![addrs[node]], office.rooms[0].1.clone())
        })
        .collect();
    let progressed = async |sensors: &[LoadSensor], from: &[u64]| {
        sensors
            .iter()
            .zip(from)
            .all(|(sensor, before)| sensor.acked() >= before + 20)
    };
    let before: Vec<u64> = sensors.iter().map(|_| 0).collect();
    eventually("every sensor is acknowledged", async || {
        progressed(&sensors, &before).await
    })
    .await;

    // Refusals while the cluster settled (a node whose view or links lagged) are not the
    // outage's: count from here.
    let refused_before: Vec<u64> = sensors.iter().map(LoadSensor::refused).collect();
    cluster.redis.kill();
    // The outage lasts longer than a lease: this wait is the scenario, not a synchronisation.
    tokio::time::sleep(2 * TTL).await;
    let during: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually(
        "every sensor is acknowledged while Redis is down",
        async || progressed(&sensors, &during).await,
    )
    .await;
    let refused_during: Vec<u64> = sensors
        .iter()
        .zip(&refused_before)
        .map(|(sensor, before)| sensor.refused() - before)
        .collect();
    assert_eq!(
        refused_during,
        vec![0; sensors.len()],
        "no sensor was refused or closed while Redis was down"
    );

    cluster
        .redis
        .restart()
        .await
        .expect("redis-server restarts");
    cluster
        .await_view("every node active again", |view| {
            view.members.len() == 3
                && view
                    .members
                    .values()
                    .all(|member| member.state == MemberState::Active)
        })
        .await;
    let after: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually(
        "every sensor is acknowledged after Redis is back",
        async || progressed(&sensors, &after).await,
    )
    .await;

    let mut acked = Vec::new();
    for sensor in sensors {
        acked.push(sensor.stop().await);
    }
    let store = cluster.store().await;
    for (office, acked) in offices.iter().zip(acked) {
        assert_exactly_acknowledged(&store, "acme", &office.rooms[0].0, acked).await;
    }
}
