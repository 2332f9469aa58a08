//! Three real `tally` nodes on one PostgreSQL store and one Redis: sensors and displays
//! connect to any node, and every display sees every change of its office, whichever node the
//! office lives on and whichever nodes the sensor and the display are connected to; each
//! node's count of offices held is published in its membership record, shown by
//! `GET /v1/admin/cluster` and `tally ctl cluster status`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::cluster::{Cluster, provision};
use support::load::eventually;
use support::{ADMIN_TOKEN, DisplayClient, SensorClient, room_count};
use tally_protocol::Codec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_display_sees_every_change_of_its_office_from_any_node() {
    let cluster = Cluster::start(3).await;
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    let owners: BTreeSet<usize> = offices
        .iter()
        .map(|o| cluster.placed_on("acme", &o.office))
        .collect();
    assert_eq!(owners.len(), 3, "the six offices are spread over all nodes");
    let token = cluster.api(1).viewer_token("acme").await;

    // Office i: its sensor on node i % 3, a display of it on every node.
    let mut sensors = Vec::new();
    let mut displays = Vec::new();
    for (i, office) in offices.iter().enumerate() {
        let (_, key) = &office.rooms[0];
        sensors.push(SensorClient::connect(cluster.addr(i % 3), key, Codec::MsgPack).await);
        let mut on_nodes = Vec::new();
        for node in 0..3 {
            let mut display = DisplayClient::connect(cluster.addr(node), &token).await;
            display.subscribe(&office.office, None).await;
            on_nodes.push(display);
        }
        displays.push(on_nodes);
    }

    for change in 1..=4u32 {
        for (i, office) in offices.iter().enumerate() {
            let count = (change + i as u32) % 10;
            sensors[i].count(i64::from(count)).await;
            let (room, _) = &office.rooms[0];
            for display in &mut displays[i] {
                display
                    .until(|frame| room_count(frame, room) == Some(count))
                    .await;
            }
        }
    }

    // Each office was served by the node placement names (it holds the office's lease), and
    // by no other.
    for office in &offices {
        let owner = cluster.placed_on("acme", &office.office);
        assert_eq!(
            cluster
                .lease_holder("acme", &office.office)
                .await
                .as_deref(),
            Some(cluster.id(owner)),
            "lease of {}",
            office.office
        );
    }

    // Every node published how many offices it holds: the admin API of any node and
    // `tally ctl cluster status` list the offices placed on each node.
    let mut placed: BTreeMap<String, u64> = BTreeMap::new();
    for office in &offices {
        let owner = cluster.placed_on("acme", &office.office);
        *placed.entry(cluster.id(owner).to_owned()).or_default() += 1;
    }
    eventually(
        "the admin api lists the offices of every node",
        async || {
            let (status, body) = cluster.api(2).get("/v1/admin/cluster", ADMIN_TOKEN).await;
            assert_eq!(status, 200, "{body}");
            let listed: BTreeMap<String, u64> = body["members"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| Some((m["id"].as_str()?.to_owned(), m["offices_held"].as_u64()?)))
                .collect();
            listed == placed
        },
    )
    .await;
    let table = cluster.ctl_cluster_status(0);
    let listed: BTreeMap<String, u64> = table
        .lines()
        .skip(2)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields[0].to_owned(), fields[6].parse().expect("a count"))
        })
        .collect();
    assert_eq!(listed, placed, "{table}");
}
