//! Tenant admin actions reach every node of a three-node cluster: lifting a quarantine and
//! listing quarantined tenants ask every member, a member that does not answer is named in a
//! clear `unavailable` error, and a tenant's erasure confirmed on one node retires the tenant
//! on every node first (a sensor connected straight to the owner of its office, on another
//! node, is closed with `not_found` by the time the erasure answers).

mod support;

use serde_json::json;
use support::cluster::{Cluster, REGION, provision};
use support::load::eventually;
use support::{ADMIN_TOKEN, SensorClient, assert_closed_with};
use tally_cluster::membership::Membership;
use tally_cluster::testkit::member;
use tally_protocol::Codec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_release_and_erasure_reach_every_node() {
    let cluster = Cluster::start(3).await;
    let offices = provision(&cluster.api(0), "acme", 6, 1).await;
    // Each office's sensor connects straight to the node that owns the office.
    let mut sensors = Vec::new();
    for office in &offices {
        let owner = cluster.placed_on("acme", &office.office);
        let mut sensor =
            SensorClient::connect(cluster.addr(owner), &office.rooms[0].1, Codec::MsgPack).await;
        assert_eq!(sensor.count(1).await, 1);
        sensors.push((owner, sensor));
    }
    let owners: std::collections::BTreeSet<usize> =
        sensors.iter().map(|(owner, _)| *owner).collect();
    assert_eq!(owners.len(), 3, "the offices are spread over every node");

    // A room created through a node that does not own the office is started by the owner's
    // running office (its snapshot lists it) without anyone asking for the room.
    let office = &offices[0].office;
    let owner = cluster.placed_on("acme", office);
    let elsewhere = (owner + 1) % 3;
    cluster
        .api(elsewhere)
        .create(
            &format!("/v1/tenants/acme/offices/{office}/rooms"),
            json!({ "id": "late-room", "capacity": 4 }),
        )
        .await;
    let live = format!("/v1/tenants/acme/offices/{office}/live");
    eventually("the owner's office lists the new room", async || {
        let (status, snapshot) = cluster.api(owner).get(&live, ADMIN_TOKEN).await;
        assert_eq!(status, 200, "{snapshot}");
        snapshot["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|room| room["room"] == "late-room" && room["capacity"] == 4)
    })
    .await;

    // Every node is asked: nothing is quarantined anywhere.
    let (status, body) = cluster
        .api(1)
        .get("/v1/admin/cluster/quarantined", ADMIN_TOKEN)
        .await;
    assert_eq!(status, 200, "{body}");
    let nodes = body["nodes"].as_object().unwrap();
    assert_eq!(
        nodes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["n1", "n2", "n3"]
    );
    assert!(
        nodes.values().all(|tenants| tenants == &json!([])),
        "{body}"
    );
    let (status, body) = cluster
        .api(0)
        .delete("/v1/tenants/acme/quarantine", ADMIN_TOKEN)
        .await;
    assert_eq!(status, 404, "not quarantined on any node: {body}");

    // A member that does not answer is named; the others were asked all the same.
    let mut away = member("n-away", REGION);
    away.http_addr = "127.0.0.1:1".into();
    let away = Membership::join(&cluster.coordination(), away)
        .await
        .unwrap();
    for (status, body) in [
        cluster
            .api(0)
            .delete("/v1/tenants/acme/quarantine", ADMIN_TOKEN)
            .await,
        cluster
            .api(2)
            .get("/v1/admin/cluster/quarantined", ADMIN_TOKEN)
            .await,
    ] {
        assert_eq!(status, 503, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("done on 3 of 4 nodes") && message.contains("n-away at 127.0.0.1:1"),
            "{message}"
        );
    }
    away.leave().await.unwrap();

    // The erasure, confirmed on n1, retires acme on every node before it is written.
    let api = cluster.api(0);
    let (status, pending) = api
        .post(
            "/v1/admin/tenants/acme/erasure",
            ADMIN_TOKEN,
            json!({ "requested_by": "cluster test" }),
        )
        .await;
    assert_eq!(status, 200, "{pending}");
    let (status, record) = api
        .post(
            "/v1/admin/tenants/acme/erasure/confirm",
            ADMIN_TOKEN,
            json!({ "confirmation": pending["confirmation"] }),
        )
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["deleted"]["readings"], offices.len(), "{record}");
    for (owner, mut sensor) in sensors {
        let reason = assert_closed_with(sensor.next().await, 4404);
        assert!(
            reason.contains("tenant \"acme\" not found"),
            "on node {owner}: {reason}"
        );
    }
}
