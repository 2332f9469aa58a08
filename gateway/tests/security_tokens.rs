//! Tenant JWTs from an identity provider (RS256/ES256 by `kid`, from PEM files and a JWKS file)
//! and every forged, stale or foreign token refused with the JSON error: never a 5xx, never a
//! word of the verifying library, never a hint that another tenant exists.
//! Keys: `tests/fixtures/jwt/` (test-only, see its README).

mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::*;

const ISSUER: &str = "https://idp.example.test";
const AUDIENCE: &str = "tally";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

fn now_secs() -> u64 {
    (now_ms() / 1000) as u64
}

/// A node trusting `rsa-a` and `ec-a` (PEM files in a key directory), `rsa-b` and `ec-b` (the
/// JWKS file), issuer and audience required; tenants acme and globex, each with office hq.
async fn identity_node(extra: &[(&str, &str)]) -> (tempfile::TempDir, tally_gateway::RunningNode) {
    let (dir, data) = temp_dir();
    let keys = dir.path().join("jwt-keys");
    std::fs::create_dir(&keys).unwrap();
    for kid in ["rsa-a", "ec-a"] {
        std::fs::copy(
            fixture(&format!("{kid}.pub.pem")),
            keys.join(format!("{kid}.pem")),
        )
        .unwrap();
    }
    let mut env = vec![
        (
            "TALLY_AUTH__JWT_KEYS_DIR".to_owned(),
            keys.display().to_string(),
        ),
        (
            "TALLY_AUTH__JWKS_FILE".to_owned(),
            fixture("jwks.json").display().to_string(),
        ),
        ("TALLY_AUTH__JWT_ISSUER".to_owned(), ISSUER.to_owned()),
        ("TALLY_AUTH__JWT_AUDIENCE".to_owned(), AUDIENCE.to_owned()),
        ("TALLY_AUTH__JWT_LEEWAY".to_owned(), "10s".to_owned()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let node = tally_gateway::start(test_settings_with(&data, &env))
        .await
        .unwrap();
    let api = Api::new(node.addr());
    api.provision("acme", "hq", &["r1"]).await;
    api.provision("globex", "hq", &["r1"]).await;
    (dir, node)
}

/// Claims of a valid acme viewer token.
fn claims(role: &str) -> Value {
    let now = now_secs();
    json!({
        "sub": "alice@acme.example", "tenant": "acme", "role": role,
        "iat": now, "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE,
    })
}

/// Signs `claims` with the private key `<key>.key.pem` (RS256 for `rsa-*`, ES256 for `ec-*`).
fn sign(key: &str, kid: Option<&str>, claims: &Value) -> String {
    let pem = std::fs::read(fixture(&format!("{key}.key.pem"))).unwrap();
    let (alg, encoding) = if key.starts_with("rsa") {
        (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem).unwrap())
    } else {
        (Algorithm::ES256, EncodingKey::from_ec_pem(&pem).unwrap())
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding).unwrap()
}

fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Asserts the documented JSON refusal with `status`, and that it names no tenant but the one
/// asked about and carries no library wording.
fn assert_refused(what: &str, status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{what}: {body}");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {body}"));
    assert!(!code.is_empty(), "{what}: {body}");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {body}"));
    // Another tenant's name, and the library's wording (its error kinds print as CamelCase).
    let leaks = [
        "globex",
        "jsonwebtoken",
        "serde",
        "Error",
        "Kind",
        "Invalid",
        "JSON",
        "Base64",
    ];
    for leak in leaks {
        assert!(!message.contains(leak), "{what}: leaks {leak:?}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_and_es256_tokens_are_accepted_by_kid_from_pem_files_and_jwks() {
    let (_dir, node) = identity_node(&[]).await;
    let api = Api::new(node.addr());
    for (key, kid) in [
        ("rsa-a", "rsa-a"),
        ("ec-a", "ec-a"),
        ("rsa-b", "rsa-b"),
        ("ec-b", "ec-b"),
    ] {
        let token = sign(key, Some(kid), &claims("viewer"));
        let (status, body) = api.get("/v1/tenants/acme/offices", &token).await;
        assert_eq!(status, 200, "{kid}: {body}");
        assert_eq!(body[0]["id"], "hq", "{kid}: {body}");
    }
    // An admin token from the identity provider manages the registry.
    let admin = sign("rsa-b", Some("rsa-b"), &claims("admin"));
    let (status, body) = api
        .post("/v1/tenants/acme/offices", &admin, json!({ "id": "annex" }))
        .await;
    assert_eq!(status, 201, "{body}");
    // Tokens minted by tally (HS256) still work, carrying the configured iss and aud.
    let minted = api.viewer_token("acme").await;
    let payload = minted.split('.').nth(1).unwrap();
    let minted_claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(minted_claims["iss"], ISSUER);
    assert_eq!(minted_claims["aud"], AUDIENCE);
    assert!(
        minted_claims["jti"]
            .as_str()
            .is_some_and(|jti| jti.len() >= 32),
        "{minted_claims}"
    );
    let (status, body) = api.get("/v1/tenants/acme/offices", &minted).await;
    assert_eq!(status, 200, "{body}");
    // A display connects with an identity provider's token in the query string.
    let mut display =
        DisplayClient::connect(node.addr(), &sign("ec-a", Some("ec-a"), &claims("viewer"))).await;
    display.subscribe("hq", None).await;
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_malformed_tokens_are_refused_with_json_401() {
    let (_dir, node) = identity_node(&[]).await;
    let api = Api::new(node.addr());
    let now = now_secs();
    let valid = sign("rsa-a", Some("rsa-a"), &claims("admin"));
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims("admin");
        change(&mut c);
        c
    };
    let (header, _, signature) = {
        let mut parts = valid.split('.');
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    let other_tenant = b64(&with(&|c| c["tenant"] = json!("globex")));
    let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).unwrap();
    let forged: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims("admin"))
            ),
        ),
        (
            "alg none with kid",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "kid": "rsa-a"})),
                b64(&claims("admin"))
            ),
        ),
        (
            "HS256 keyed with the RSA public key",
            sign_hs256(&public_pem, Some("rsa-a"), &claims("admin")),
        ),
        (
            "HS256 with a wrong secret",
            sign_hs256(
                b"not-the-node-secret-but-32-bytes-long",
                None,
                &claims("admin"),
            ),
        ),
        (
            "RS256 naming an ES256 key",
            sign("rsa-a", Some("ec-a"), &claims("admin")),
        ),
        (
            "signed by another configured key",
            sign("rsa-a", Some("rsa-b"), &claims("admin")),
        ),
        (
            "unknown kid",
            sign("rsa-a", Some("rsa-2019"), &claims("admin")),
        ),
        ("no kid", sign("rsa-a", None, &claims("admin"))),
        (
            "attacker's key under a trusted kid",
            sign("rsa-x", Some("rsa-a"), &claims("admin")),
        ),
        (
            "not yet valid",
            sign(
                "rsa-a",
                Some("rsa-a"),
                &with(&|c| c["nbf"] = json!(now + 3600)),
            ),
        ),
        (
            "wrong audience",
            sign(
                "rsa-a",
                Some("rsa-a"),
                &with(&|c| c["aud"] = json!("billing")),
            ),
        ),
        (
            "no audience",
            sign(
                "rsa-a",
                Some("rsa-a"),
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
            ),
        ),
        (
            "wrong issuer",
            sign(
                "rsa-a",
                Some("rsa-a"),
                &with(&|c| c["iss"] = json!("https://evil.example")),
            ),
        ),
        (
            "no tenant",
            sign(
                "rsa-a",
                Some("rsa-a"),
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("tenant");
                }),
            ),
        ),
        (
            "unknown role",
            sign(
                "rsa-a",
                Some("rsa-a"),
                &with(&|c| c["role"] = json!("operator")),
            ),
        ),
        (
            "tampered payload",
            format!("{header}.{other_tenant}.{signature}"),
        ),
        ("truncated", valid[..valid.len() - 12].to_owned()),
        (
            "signature dropped",
            format!("{header}.{}.", valid.split('.').nth(1).unwrap()),
        ),
        ("garbage", "garbage".to_owned()),
        ("three dots of garbage", "a.b.c".to_owned()),
        (
            "header not JSON",
            format!(
                "{}.{}.{signature}",
                URL_SAFE_NO_PAD.encode("{"),
                b64(&claims("admin"))
            ),
        ),
    ];
    for (what, token) in &forged {
        let (status, body) = api.get("/v1/tenants/acme/offices", token).await;
        assert_refused(what, status, &body, 401);
        assert_eq!(body["error"]["code"], "unauthenticated", "{what}: {body}");
        let (status, body) = api
            .post("/v1/tenants/acme/offices", token, json!({ "id": "x" }))
            .await;
        assert_refused(what, status, &body, 401);
        let url = format!("ws://{}/v1/live?access_token={token}", node.addr());
        let (status, body) = open_ws(&url, None).await.expect_err(what);
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        assert_refused(what, status, &body, 401);
    }
    let expired = sign(
        "rsa-a",
        Some("rsa-a"),
        &with(&|c| {
            c["iat"] = json!(now - 7200);
            c["exp"] = json!(now - 3600);
        }),
    );
    let (status, body) = api.get("/v1/tenants/acme/offices", &expired).await;
    assert_refused("expired", status, &body, 401);
    assert_eq!(body["error"]["code"], "token_expired", "{body}");
    // Within the leeway (10 s) a just-expired token still passes; nothing was created by the probes.
    let just = sign(
        "rsa-a",
        Some("rsa-a"),
        &with(&|c| c["exp"] = json!(now - 2)),
    );
    let (status, body) = api.get("/v1/tenants/acme/offices", &just).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_token_sees_a_missing_tenant_and_a_viewer_cannot_manage() {
    let (_dir, node) = identity_node(&[]).await;
    let api = Api::new(node.addr());
    let acme_admin = sign("ec-b", Some("ec-b"), &claims("admin"));
    let acme_viewer = sign("rsa-a", Some("rsa-a"), &claims("viewer"));
    for (path, missing) in [
        ("/v1/tenants/globex/offices", "/v1/tenants/nosuch/offices"),
        ("/v1/tenants/globex", "/v1/tenants/nosuch"),
        (
            "/v1/tenants/globex/offices/hq/rooms",
            "/v1/tenants/nosuch/offices/hq/rooms",
        ),
    ] {
        let (status, body) = api.get(path, &acme_admin).await;
        let (missing_status, missing_body) = api.get(missing, &acme_admin).await;
        assert_eq!((status, missing_status), (404, 404), "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
        assert_eq!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .replace("globex", "nosuch"),
            missing_body["error"]["message"].as_str().unwrap(),
            "{path}: another tenant reads exactly like a missing one"
        );
    }
    let (status, body) = api
        .post(
            "/v1/tenants/globex/offices",
            &acme_admin,
            json!({ "id": "x" }),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api
        .post(
            "/v1/tenants/globex/tokens",
            &acme_admin,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api
        .post(
            "/v1/tenants/acme/offices",
            &acme_viewer,
            json!({ "id": "x" }),
        )
        .await;
    assert_refused("viewer manages", status, &body, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    // Nothing of globex changed.
    let (status, body) = api.get("/v1/tenants/globex/offices", ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_hs256_only_the_identity_providers_keys_verify_and_nothing_is_minted() {
    let (_dir, node) = identity_node(&[("TALLY_AUTH__JWT_HS256", "false")]).await;
    let api = Api::new(node.addr());
    let hs256 = sign_hs256(JWT_SECRET.as_bytes(), None, &claims("admin"));
    let (status, body) = api.get("/v1/tenants/acme/offices", &hs256).await;
    assert_refused("HS256 with the node's secret", status, &body, 401);
    let (status, body) = api
        .post(
            "/v1/tenants/acme/tokens",
            ADMIN_TOKEN,
            json!({ "role": "viewer" }),
        )
        .await;
    assert_refused("minting", status, &body, 403);
    let (status, body) = api
        .get(
            "/v1/tenants/acme/offices",
            &sign("rsa-a", Some("rsa-a"), &claims("viewer")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_reload_through_the_admin_api_without_a_restart() {
    let (dir, node) = identity_node(&[]).await;
    let api = Api::new(node.addr());
    let keys = dir.path().join("jwt-keys");
    let new_key = sign("rsa-x", Some("rsa-x"), &claims("viewer"));
    let old_key = sign("rsa-a", Some("rsa-a"), &claims("viewer"));
    let (status, body) = api.get("/v1/tenants/acme/offices", &new_key).await;
    assert_refused("key not yet trusted", status, &body, 401);

    // Only the platform admin reloads.
    let acme_admin = sign("rsa-a", Some("rsa-a"), &claims("admin"));
    let (status, body) = api
        .post("/v1/admin/auth/reload-keys", &acme_admin, json!({}))
        .await;
    assert_refused("tenant admin reloads", status, &body, 403);

    // Rotation: the new key joins, both verify.
    std::fs::copy(fixture("rsa-x.pub.pem"), keys.join("rsa-x.pem")).unwrap();
    let (status, body) = api
        .post("/v1/admin/auth/reload-keys", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["key_ids"],
        json!(["ec-a", "ec-b", "rsa-a", "rsa-b", "rsa-x"])
    );
    for token in [&new_key, &old_key] {
        let (status, body) = api.get("/v1/tenants/acme/offices", token).await;
        assert_eq!(status, 200, "{body}");
    }

    // A broken key file: 400 naming it, and the keys in use stay.
    std::fs::write(
        keys.join("broken.pem"),
        "-----BEGIN PUBLIC KEY-----\nnope\n",
    )
    .unwrap();
    let (status, body) = api
        .post("/v1/admin/auth/reload-keys", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("broken.pem"),
        "{body}"
    );
    let (status, body) = api.get("/v1/tenants/acme/offices", &new_key).await;
    assert_eq!(status, 200, "{body}");

    // The old key leaves: its tokens are refused from the reload on.
    std::fs::remove_file(keys.join("broken.pem")).unwrap();
    std::fs::remove_file(keys.join("rsa-a.pem")).unwrap();
    let (status, body) = api
        .post("/v1/admin/auth/reload-keys", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.get("/v1/tenants/acme/offices", &old_key).await;
    assert_refused("removed key", status, &body, 401);
    let (status, body) = api.get("/v1/tenants/acme/offices", &new_key).await;
    assert_eq!(status, 200, "{body}");
    stop_checked(node).await;
}

/// The `tally` process re-reads its key directory on SIGHUP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_tally_process_trusts_a_new_key_after_sighup() {
    let (dir, data) = temp_dir();
    let keys = dir.path().join("jwt-keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::copy(fixture("rsa-a.pub.pem"), keys.join("rsa-a.pem")).unwrap();
    let env = [(
        "TALLY_AUTH__JWT_KEYS_DIR".to_owned(),
        keys.display().to_string(),
    )];
    let node = ChildNode::start_with(&data, &env);
    let api = Api::new(node.addr);
    api.provision("acme", "hq", &["r1"]).await;
    let mut unbound = claims("viewer");
    let fields = unbound.as_object_mut().unwrap();
    fields.remove("iss");
    fields.remove("aud");
    let new_key = sign("rsa-x", Some("rsa-x"), &unbound);
    let (status, body) = api.get("/v1/tenants/acme/offices", &new_key).await;
    assert_refused("key not yet trusted", status, &body, 401);
    std::fs::copy(fixture("rsa-x.pub.pem"), keys.join("rsa-x.pem")).unwrap();
    node.hangup();
    support::load::eventually("the node trusts rsa-x", async || {
        api.get("/v1/tenants/acme/offices", &new_key).await.0 == 200
    })
    .await;
    assert!(node.terminate().success());
}
