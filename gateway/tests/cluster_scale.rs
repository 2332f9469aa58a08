//! Scale out from two nodes to three under load, then drain a node under load: offices move
//! only by handover (each office's lease moves to its new owner), the drained node ends with
//! no office, and the stored readings are exactly what the sensors had acknowledged plus what
//! they resent.

mod support;

use support::cluster::{Cluster, provision};
use support::load::{LoadSensor, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_from_two_to_three_then_drain_one_under_load_loses_nothing() {
    let mut cluster = Cluster::start(2).await;
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    // Sensors reconnect round robin over the first two nodes (a draining node still serves
    // its connections, forwarding them to the offices' new owners).
    let sensors: Vec<LoadSensor> = offices
        .iter()
        .enumerate()
        .map(|(i, office)| {
            let mut order = cluster.addrs();
            order.rotate_left(i % 2);
            LoadSensor::spawn_any(order, office.rooms[0].1.clone())
        })
        .collect();
    let progressed = |from: &[u64]| {
        sensors
            .iter()
            .zip(from)
            .all(|(sensor, before)| sensor.acked() >= before + 20)
    };
    let start = vec![0; sensors.len()];
    eventually("every sensor is acknowledged", async || progressed(&start)).await;

    // Scale out: the new node takes the offices it scores highest for, by handover.
    let added = cluster.add_node().await;
    let added_id = cluster.id(added).to_owned();
    let taken: Vec<String> = offices
        .iter()
        .map(|o| o.office.clone())
        .filter(|office| cluster.placed_on("acme", office) == added)
        .collect();
    assert!(!taken.is_empty(), "the new node owns some offices");
    eventually("the new node holds the leases of its offices", async || {
        let mut all = true;
        for office in &taken {
            all &= cluster.lease_holder("acme", office).await.as_deref() == Some(&added_id);
        }
        all
    })
    .await;
    let scaled: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually(
        "every sensor is acknowledged after the scale-out",
        async || progressed(&scaled),
    )
    .await;

    // Drain node 1 (n1) under load: it hands every office over and holds none.
    cluster.drain(1, 0, &offices).await;
    let drained: Vec<u64> = sensors.iter().map(LoadSensor::acked).collect();
    eventually("every sensor is acknowledged after the drain", async || {
        progressed(&drained)
    })
    .await;

    cluster.stop_and_account(sensors, &offices).await;
}
