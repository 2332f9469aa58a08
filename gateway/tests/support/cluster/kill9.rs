//! `kill -9` one of three nodes under load, with exact accounting: run on every shared store.

use serde_json::Value;

use super::super::ADMIN_TOKEN;
use super::super::load::{LoadSensor, count_for, eventually};
use super::{Cluster, assert_exactly_acknowledged, provision};

/// Node 1 of a three-node `cluster` is killed (`kill -9`) under load: its offices move to the
/// survivors, the sensors reconnect to another node and resend after `welcome.last_seq`, and
/// afterwards the stored readings are exactly what the sensors had acknowledged plus what they
/// resent (no loss, no duplicate), and the live counts are the last stored ones.
pub async fn kill_9_of_one_of_three_under_load(mut cluster: Cluster) {
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    let victim = 1;
    let moved: Vec<&str> = offices
        .iter()
        .map(|o| o.office.as_str())
        .filter(|office| cluster.placed_on("acme", office) == victim)
        .collect();
    assert!(!moved.is_empty(), "the victim owns some offices");

    // Sensor i starts on node i % 3 and reconnects round robin, as behind a load balancer.
    let addrs = cluster.addrs();
    let sensors: Vec<LoadSensor> = offices
        .iter()
        .enumerate()
        .map(|(i, office)| {
            let mut order = addrs.clone();
            order.rotate_left(i % 3);
            LoadSensor::spawn_any(order, office.rooms[0].1.clone())
        })
        .collect();
    eventually("every sensor is acknowledged", async || {
        sensors.iter().all(|s| s.acked() >= 50)
    })
    .await;

    let victim_id = cluster.id(victim).to_owned();
    cluster.kill9(victim);
    cluster.await_gone(&victim_id).await;
    let at_kill: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually(
        "every sensor is acknowledged again after the kill",
        async || {
            sensors
                .iter()
                .zip(&at_kill)
                .all(|(sensor, before)| sensor.acked() >= before + 50)
        },
    )
    .await;
    for office in &moved {
        let holder = cluster.lease_holder("acme", office).await;
        assert!(
            holder.is_some() && holder.as_deref() != Some(victim_id.as_str()),
            "{office} moved off {victim_id}: lease held by {holder:?}"
        );
    }

    let marks = cluster.stop_and_account(sensors, &offices).await;
    for (office, mark) in offices.iter().zip(marks) {
        let (room, _) = &office.rooms[0];
        // The live count, asked of a survivor that does not own the office, is the last
        // stored reading's.
        let asked = [0, 2]
            .into_iter()
            .find(|&node| cluster.placed_on("acme", &office.office) != node)
            .unwrap();
        let (status, live) = cluster
            .api(asked)
            .get(
                &format!(
                    "/v1/tenants/acme/offices/{}/rooms/{room}/live",
                    office.office
                ),
                ADMIN_TOKEN,
            )
            .await;
        assert_eq!(status, 200, "{live}");
        assert_eq!(
            live["rooms"][0]["count"],
            Value::from(count_for(mark)),
            "live count of {room}"
        );
    }
}
