//! A cluster node behind the gateway, in process (real `redis-server`, embedded store): a
//! sensor's readings go through the cluster router (the office is claimed and activated here),
//! `GET /v1/admin/cluster` shows the membership and the offices held, and
//! `POST /v1/admin/cluster/nodes/{id}/drain` drains the node itself, answers `not_found` for a
//! node that is not a member, and `unavailable` naming the node to ask when that member cannot
//! be reached. A single node has no cluster to show.

mod support;

use std::sync::Arc;

use serde_json::Value;
use tally_cluster::membership::{MemberState, Membership};
use tally_cluster::testkit::{RedisServer, fast_config, member};
use tally_protocol::Codec;
use tally_storage::EmbeddedStore;

use support::{ADMIN_TOKEN, Api, SensorClient, stop_checked, temp_dir, test_settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_routes_readings_and_drains_over_its_admin_api() {
    let server = RedisServer::start().await.unwrap();
    let (_dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    let fast = fast_config(&server, "admin");
    settings.node.region = "eu".into();
    let cluster = &mut settings.cluster;
    cluster.enabled = true;
    cluster.redis_url = Some(server.url());
    cluster.key_prefix = "admin".into();
    cluster.listen_addr = "127.0.0.1:0".parse().unwrap();
    cluster.cookie = Some("cluster-admin-test-cookie".into());
    cluster.heartbeat_interval = fast.heartbeat_interval;
    cluster.heartbeat_ttl = fast.heartbeat_ttl;
    cluster.view_refresh_interval = fast.view_refresh_interval;
    cluster.lease_ttl = fast.lease_ttl;
    cluster.lease_renew_interval = fast.lease_renew_interval;
    cluster.redis_timeout = fast.redis_timeout;
    let node_id = settings.node.node_id.clone();
    let store = Arc::new(EmbeddedStore::open(&data.join("store")).unwrap());
    let node = tally_gateway::start_with_store(settings, store)
        .await
        .unwrap();
    let api = Api::new(node.addr());

    let keys = api.provision("acme", "hq", &["lobby"]).await;
    let mut sensor = SensorClient::connect(node.addr(), &keys[0], Codec::MsgPack).await;
    assert_eq!(
        sensor.count(3).await,
        1,
        "acknowledged through the cluster router"
    );

    let (status, body) = api.get("/v1/admin/cluster", ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["node"], node_id.as_str());
    assert_eq!(body["offices_held"], 1, "{body}");
    let members = body["members"].as_array().unwrap();
    let me = members
        .iter()
        .find(|m| m["id"] == node_id.as_str())
        .unwrap();
    assert_eq!(me["state"], "active");
    support::load::eventually("this node publishes the office it holds", async || {
        let (_, body) = api.get("/v1/admin/cluster", ADMIN_TOKEN).await;
        body["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == node_id.as_str() && m["offices_held"] == 1)
    })
    .await;
    assert_eq!(
        me["http_addr"],
        node.addr().to_string(),
        "the bound address is published"
    );
    let (status, _) = api
        .request(reqwest::Method::GET, "/v1/admin/cluster", None, None)
        .await;
    assert_eq!(status, 401);

    // Only a node drains itself: an unknown node is not found, an unreachable one is named.
    let drain = |id: &str| format!("/v1/admin/cluster/nodes/{id}/drain");
    let (status, body) = api.post(&drain("nobody"), ADMIN_TOKEN, Value::Null).await;
    assert_eq!(status, 404, "{body}");
    let mut away = member("node-away", "elsewhere");
    away.http_addr = "127.0.0.1:1".into();
    let away = Membership::join(&fast, away).await.unwrap();
    let (status, body) = api
        .post(&drain("node-away"), ADMIN_TOKEN, Value::Null)
        .await;
    assert_eq!(status, 503, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("node-away") && message.contains("127.0.0.1:1"),
        "{message}"
    );
    away.leave().await.unwrap();

    let (status, body) = api.post(&drain(&node_id), ADMIN_TOKEN, Value::Null).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["drained"], true, "{body}");
    assert_eq!(body["offices_held"], 0, "{body}");
    let (_, body) = api.get("/v1/admin/cluster", ADMIN_TOKEN).await;
    let members = body["members"].as_array().unwrap();
    let me = members
        .iter()
        .find(|m| m["id"] == node_id.as_str())
        .unwrap();
    assert_eq!(me["state"], MemberState::Draining.as_str());
    assert_eq!(body["offices_held"], 0);

    drop(sensor);
    stop_checked(node).await;
}

#[tokio::test]
async fn a_single_node_has_no_cluster_to_show() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let (status, body) = api.get("/v1/admin/cluster", ADMIN_TOKEN).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cluster.enabled = false")
    );
    stop_checked(node).await;
}
