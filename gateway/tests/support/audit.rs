//! Reading the audit log in tests: tokens minted for a tenant, and entries waited for (the log
//! is written by a background writer, in order).

use std::time::Duration;

use serde_json::{Value, json};

use super::Api;

/// A node with tenants acme and globex (office hq, room r1 with sensor r1-s each); acme's
/// sensor key.
pub async fn two_tenants() -> (tempfile::TempDir, tally_gateway::RunningNode, Api, String) {
    let (dir, data) = super::temp_dir();
    let node = tally_gateway::start(super::test_settings(&data))
        .await
        .unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;
    api.provision("globex", "hq", &["r1"]).await;
    (dir, node, api, keys[0].clone())
}

/// Mints a token of `tenant` with the admin token; returns its token and id.
pub async fn mint(api: &Api, tenant: &str, role: &str) -> (String, String) {
    let minted = api
        .create(
            &format!("/v1/tenants/{tenant}/tokens"),
            json!({ "role": role }),
        )
        .await;
    (
        minted["token"].as_str().unwrap().to_owned(),
        minted["id"].as_str().unwrap().to_owned(),
    )
}

/// The entries of an audit read (asserting 200).
pub async fn entries(api: &Api, path: &str, token: &str) -> Vec<Value> {
    let (status, page) = api.get(path, token).await;
    assert_eq!(status, 200, "GET {path}: {page}");
    page["entries"].as_array().unwrap().clone()
}

/// Reads `path` until an entry satisfies `wanted`, for at most 10 s; returns that entry.
pub async fn entry_where(
    api: &Api,
    path: &str,
    token: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = entries(api, path, token).await;
        if let Some(found) = all.iter().find(|e| wanted(e)) {
            return found.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no entry as wanted in {path}: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An entry of `kind` whose detail contains `detail`.
pub fn kind_with(kind: &'static str, detail: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["kind"] == kind && e["detail"].as_str().unwrap().contains(detail)
}
