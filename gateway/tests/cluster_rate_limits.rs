//! A tenant's rates are one budget across the cluster (GCRA in the cluster's Redis): what one
//! node let through is no longer there on the other, which refuses with 429 `rate_limited` and
//! `Retry-After` although its own bucket is still full. With Redis gone each node's own bucket
//! decides alone, and says so in `tally_quota_shared_unavailable_total`.

mod support;

use std::net::SocketAddr;

use serde_json::{Value, json};
use support::cluster::{Cluster, provision};
use support::now_ms;

/// Rates of 1/s (nothing refills noticeably during the test): bursts of 20 readings (two
/// batches of 10) and 6 API requests, on each node's bucket and in the shared budget alike.
const QUOTAS: &[(&str, &str)] = &[
    ("TALLY_INGEST__MAX_BATCH_ITEMS", "10"),
    ("TALLY_QUOTAS__READINGS_PER_SECOND", "1"),
    ("TALLY_QUOTAS__READINGS_BURST", "20"),
    ("TALLY_QUOTAS__API_REQUESTS_PER_SECOND", "1"),
    ("TALLY_QUOTAS__API_BURST", "6"),
];

/// Sends `request`: its status, `Retry-After` (seconds) and JSON body.
async fn send(request: reqwest::RequestBuilder) -> (u16, Option<u64>, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().expect("Retry-After in seconds"));
    (
        status,
        retry_after,
        response.json().await.expect("JSON body"),
    )
}

/// Posts readings `first..first + 10` of the sensor with `key` to the node at `addr`.
async fn post_ten(addr: SocketAddr, key: &str, first: u64) -> (u16, Option<u64>, Value) {
    let items: Vec<Value> = (first..first + 10)
        .map(|seq| json!({ "seq": seq, "ts": now_ms(), "count": 1 }))
        .collect();
    let request = reqwest::Client::new()
        .post(format!("http://{addr}/v1/readings"))
        .bearer_auth(key)
        .json(&json!({ "items": items }));
    send(request).await
}

/// Lists the tenant's offices on the node at `addr` with `token`.
async fn list_offices(addr: SocketAddr, tenant: &str, token: &str) -> (u16, Option<u64>, Value) {
    let request = reqwest::Client::new()
        .get(format!("http://{addr}/v1/tenants/{tenant}/offices"))
        .bearer_auth(token);
    send(request).await
}

/// Asserts that at least one of `answers` is a `rate_limited` refusal with `Retry-After`, and
/// that every answer is either that or a 200.
fn assert_refused_with_retry_after(answers: &[(u16, Option<u64>, Value)], what: &str) {
    assert!(
        answers.iter().any(|(status, _, _)| *status == 429),
        "{what}: a node with a full bucket of its own refuses once the shared budget is spent: {answers:?}"
    );
    for (status, retry_after, body) in answers {
        match status {
            200 => {}
            429 => {
                assert_eq!(body["error"]["code"], "rate_limited", "{body}");
                assert!(
                    retry_after.is_some_and(|s| s >= 1),
                    "Retry-After: {retry_after:?}"
                );
            }
            other => panic!("{what}: unexpected {other}: {body}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_rates_are_one_budget_shared_by_the_nodes() {
    let mut cluster = Cluster::start_with_env(2, QUOTAS).await;
    let offices = provision(&cluster.api(0), "acme", 1, 1).await;
    provision(&cluster.api(0), "globex", 1, 1).await;
    let key = offices[0].rooms[0].1.clone();
    let (n1, n2) = (cluster.addr(0), cluster.addr(1));

    // Readings: the burst of 20 goes through node 1; node 2's own bucket still holds 20, yet
    // it refuses, since the tenant's budget is shared.
    for first in [1, 11] {
        let (status, _, body) = post_ten(n1, &key, first).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut answers = Vec::new();
    for first in [21, 31] {
        answers.push(post_ten(n2, &key, first).await);
    }
    assert_refused_with_retry_after(&answers, "readings");

    // API requests: the same with a viewer token (the admin token is never limited).
    let viewer = cluster.api(0).viewer_token("acme").await;
    for _ in 0..6 {
        let (status, _, body) = list_offices(n1, "acme", &viewer).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(list_offices(n2, "acme", &viewer).await);
    }
    assert_refused_with_retry_after(&answers, "API requests");
    assert_eq!(
        cluster
            .counter(1, "tally_quota_shared_unavailable_total")
            .await,
        0.0,
        "Redis answered every time"
    );

    // Redis gone: node 2 decides with its own bucket. Another tenant, whose buckets are full,
    // gets its burst there (no 5xx, no refusal for want of Redis), then is refused.
    let other = cluster.api(0).viewer_token("globex").await;
    cluster.redis.kill();
    let mut answers = Vec::new();
    for _ in 0..7 {
        answers.push(list_offices(n2, "globex", &other).await);
    }
    let served = answers.iter().filter(|(status, ..)| *status == 200).count();
    assert_eq!(served, 6, "node 2's own burst: {answers:?}");
    assert_refused_with_retry_after(&answers, "API requests without Redis");
    assert!(
        cluster
            .counter(1, "tally_quota_shared_unavailable_total")
            .await
            >= 1.0,
        "the fallback is counted"
    );
}
