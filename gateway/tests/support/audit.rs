//! Reading the audit log in tests: tokens minted for a tenant, and entries waited for (the log
//! is written by a background writer, in order).

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

/// Reads `path` until an entry satisfies `wanted` (the log is written in the background);
/// returns that entry. Fails after the harness's patience, never on how fast it came.
pub async fn entry_where(
    api: &Api,
    path: &str,
    token: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let mut found = None;
    super::load::eventually(&format!("an entry as wanted is in {path}"), async || {
        found = entries(api, path, token)
            .await
            .into_iter()
            .find(|e| wanted(e));
        found.is_some()
    })
    .await;
    found.expect("eventually returned once found")
}

/// An entry of `kind` whose detail contains `detail`.
pub fn kind_with(kind: &'static str, detail: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["kind"] == kind && e["detail"].as_str().unwrap().contains(detail)
}
