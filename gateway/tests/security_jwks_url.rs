//! The identity provider's keys from a URL (`auth.jwks_url`), served by a JWKS server of the
//! test's own (axum on a free loopback port): a key added later verifies after a refresh
//! (caused by the unknown `kid`, or by the periodic one), a removed key stops verifying, forged
//! key ids cannot make the node fetch again and again, and a server that went down leaves the
//! last good keys in force. Keys: `tests/fixtures/jwt/` (test-only, see its README).

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::*;
use tokio::sync::{oneshot, watch};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

/// The public JWK of `kid` (`rsa-b` or `ec-b`) from the fixture JWKS.
fn jwk(kid: &str) -> Value {
    let set: Value = serde_json::from_slice(&std::fs::read(fixture("jwks.json")).unwrap()).unwrap();
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid)
        .unwrap_or_else(|| panic!("no {kid} in the fixture JWKS"))
        .clone()
}

/// A JWKS server: the document it serves can be changed, and every GET is counted.
struct JwksServer {
    url: String,
    document: Arc<Mutex<Value>>,
    fetches: watch::Receiver<usize>,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Served {
    document: Arc<Mutex<Value>>,
    fetches: Arc<watch::Sender<usize>>,
}

async fn serve_jwks(Served { document, fetches }: Served) -> axum::Json<Value> {
    let document = document.lock().unwrap().clone();
    fetches.send_modify(|count| *count += 1);
    axum::Json(document)
}

impl JwksServer {
    async fn start(kids: &[&str]) -> Self {
        let document = Arc::new(Mutex::new(Value::Null));
        let (fetches_tx, fetches) = watch::channel(0);
        let served = Served {
            document: document.clone(),
            fetches: Arc::new(fetches_tx),
        };
        let app = Router::new()
            .route(
                "/.well-known/jwks.json",
                get(|State(served): State<Served>| serve_jwks(served)),
            )
            .with_state(served);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        let server = Self {
            url,
            document,
            fetches,
            stop: Some(stop),
            served,
        };
        server.publish(kids);
        server
    }

    /// Serves the keys `kids` from now on.
    fn publish(&self, kids: &[&str]) {
        let keys: Vec<Value> = kids.iter().map(|kid| jwk(kid)).collect();
        *self.document.lock().unwrap() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        *self.fetches.borrow()
    }

    /// Waits until the server has answered `count` GETs in all.
    async fn fetched(&mut self, count: usize) {
        tokio::time::timeout(PATIENCE, self.fetches.wait_for(|fetches| *fetches >= count))
            .await
            .unwrap_or_else(|_| panic!("the node did not fetch the JWKS {count} times"))
            .unwrap();
    }

    /// Stops serving: the port is closed once every connection has ended.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.served.await.unwrap();
    }
}

/// A node trusting the keys of `jwks_url` (no key files), with tenant acme and office hq.
async fn node_with_jwks_url(
    jwks_url: &str,
    refresh: &str,
) -> (tempfile::TempDir, tally_gateway::RunningNode) {
    let (dir, data) = temp_dir();
    let env = [
        ("TALLY_AUTH__JWKS_URL", jwks_url),
        ("TALLY_AUTH__JWKS_REFRESH", refresh),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let node = tally_gateway::start(test_settings_with(&data, &env))
        .await
        .unwrap();
    Api::new(node.addr()).provision("acme", "hq", &["r1"]).await;
    (dir, node)
}

/// An acme viewer token signed with the private key `<key>.key.pem`, naming `kid`.
fn token(key: &str, kid: &str) -> String {
    let pem = std::fs::read(fixture(&format!("{key}.key.pem"))).unwrap();
    let (alg, encoding) = if key.starts_with("rsa") {
        (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem).unwrap())
    } else {
        (Algorithm::ES256, EncodingKey::from_ec_pem(&pem).unwrap())
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let now = now_ms() as u64 / 1000;
    let claims = json!({
        "sub": "alice@acme.example", "tenant": "acme", "role": "viewer",
        "iat": now, "exp": now + 600,
    });
    jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
}

/// Status and error message of reading acme's offices with `token`.
async fn read_offices(api: &Api, token: &str) -> (u16, String) {
    let (status, body) = api.get("/v1/tenants/acme/offices", token).await;
    if status == 200 {
        assert_eq!(body[0]["id"], "hq", "{body}");
    }
    let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
    (status, message)
}

/// The value of the counter `name` on the node's `/metrics` (0 before its first increment).
async fn counter(api: &Api, name: &str) -> f64 {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_fetches_the_key_added_later_at_most_once_and_a_removed_key_stops_verifying()
{
    let jwks = JwksServer::start(&["rsa-b"]).await;
    let (_dir, node) = node_with_jwks_url(&jwks.url, "1d").await;
    let api = Api::new(node.addr());
    assert_eq!(jwks.fetches(), 1, "fetched once at start");
    assert_eq!(read_offices(&api, &token("rsa-b", "rsa-b")).await.0, 200);

    // The identity provider adds a key and signs with it: the first token naming it makes
    // the node fetch the JWKS again, and it verifies.
    jwks.publish(&["rsa-b", "ec-b"]);
    assert_eq!(read_offices(&api, &token("ec-b", "ec-b")).await.0, 200);
    assert_eq!(jwks.fetches(), 2);

    // Forged key ids are refused without another fetch (within the 30 s between two).
    for forged in 0..20 {
        let (status, message) =
            read_offices(&api, &token("ec-b", &format!("forged-{forged}"))).await;
        assert_eq!(status, 401, "{message}");
        assert_eq!(message, "the token's key (kid) is not known");
    }
    assert_eq!(
        jwks.fetches(),
        2,
        "forged key ids made the node fetch again"
    );

    // The identity provider removes a key; after a reload the key no longer verifies.
    jwks.publish(&["ec-b"]);
    let (status, body) = api
        .post("/v1/admin/auth/reload-keys", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["key_ids"], json!(["ec-b"]));
    let (status, message) = read_offices(&api, &token("rsa-b", "rsa-b")).await;
    assert_eq!(
        (status, message.as_str()),
        (401, "the token's key (kid) is not known")
    );
    assert_eq!(read_offices(&api, &token("ec-b", "ec-b")).await.0, 200);
    stop_checked(node).await;
    jwks.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_refresh_picks_up_keys_and_a_server_down_keeps_the_last_good_ones() {
    let mut jwks = JwksServer::start(&["rsa-b"]).await;
    let (_dir, node) = node_with_jwks_url(&jwks.url, "1s").await;
    let api = Api::new(node.addr());
    assert_eq!(read_offices(&api, &token("rsa-b", "rsa-b")).await.0, 200);

    // A key published now is in force once a periodic fetch started after it has finished,
    // which the next fetch (the refresh loop fetches one at a time) proves.
    jwks.publish(&["rsa-b", "ec-b"]);
    let published_at = jwks.fetches();
    jwks.fetched(published_at + 2).await;
    assert_eq!(read_offices(&api, &token("ec-b", "ec-b")).await.0, 200);

    // The JWKS server goes down: refreshes fail, are counted, and the last good keys stay.
    let failures = counter(&api, "tally_jwks_refresh_failures_total").await;
    jwks.stop().await;
    let (status, body) = api
        .post("/v1/admin/auth/reload-keys", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot fetch auth.jwks_url"), "{message}");
    assert!(counter(&api, "tally_jwks_refresh_failures_total").await > failures);
    for key in ["rsa-b", "ec-b"] {
        assert_eq!(read_offices(&api, &token(key, key)).await.0, 200, "{key}");
    }
    stop_checked(node).await;
}
