//! `GET /openapi.json`: the served document is valid OpenAPI 3.1, every reference in it
//! resolves, every operation it describes is served (and no other method of its paths), and what
//! a live node answers matches the schemas it states. That every route of the router is in the
//! document is checked against the router itself in `gateway/src/routes.rs`.

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use support::*;

/// The official OpenAPI 3.1 schema (see `openapi/SOURCE.md`).
const OAS_31_SCHEMA: &str = include_str!("openapi/oas-3.1-schema.json");

/// The methods an OpenAPI path item may describe that tally's routes could have.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn fetch_document(api: &Api) -> Value {
    let (status, document) = api.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200, "{document}");
    assert!(document.is_object(), "not JSON: {document}");
    document
}

/// Every `$ref` in `value`, with where it is.
fn refs<'a>(value: &'a Value, at: &str, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push((at.to_owned(), target)),
                    _ => refs(child, &format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Each described operation: `(path, method, operation)`.
fn operations(document: &Value) -> Vec<(&str, &'static str, &Value)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .into_iter()
                .filter_map(move |method| Some((path.as_str(), method, item.get(method)?)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_31() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let document = fetch_document(&Api::new(node.addr())).await;
    stop_checked(node).await;

    assert_eq!(document["openapi"], "3.1.0");
    let schema: Value = serde_json::from_str(OAS_31_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not valid OpenAPI 3.1: {errors:#?}");

    // Schema Objects are JSON Schema 2020-12 (the OpenAPI schema leaves them unchecked).
    for (name, component) in document["components"]["schemas"].as_object().unwrap() {
        if let Err(e) = jsonschema::meta::validate(component) {
            panic!("components.schemas.{name} is not a valid JSON Schema: {e}");
        }
        // Named after tally's types, never after a primitive an alias stands for.
        assert!(name.starts_with(char::is_uppercase), "schema {name}");
    }

    // The id schema accepts exactly the ids the node accepts.
    let id_schema = jsonschema::validator_for(&document["components"]["schemas"]["TenantId"])
        .expect("the id schema compiles");
    for id in [
        "acme",
        "acme-2",
        "9to5",
        "-a",
        "Acme",
        "a b",
        "",
        &"a".repeat(64),
        &"a".repeat(65),
    ] {
        assert_eq!(
            id_schema.is_valid(&json!(id)),
            tally_protocol::TenantId::new(id).is_ok(),
            "{id:?}"
        );
    }

    let mut found = Vec::new();
    refs(&document, "", &mut found);
    assert!(found.len() > 20, "too few references: {found:?}");
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: external reference {target}"));
        assert!(
            document.pointer(pointer).is_some(),
            "{at}: $ref {target} resolves to nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_states_params_auth_and_errors() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let document = fetch_document(&Api::new(node.addr())).await;
    stop_checked(node).await;

    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for name in [
        "admin_token",
        "tenant_jwt",
        "viewer_token",
        "sensor_key",
        "metrics_token",
    ] {
        assert!(schemes.contains_key(name), "no security scheme {name}");
    }
    let operations = operations(&document);
    assert!(operations.len() >= 25, "{} operations", operations.len());
    for (path, method, operation) in operations {
        let what = format!("{} {path}", method.to_uppercase());
        // Each `{param}` of the path is a described path parameter, and nothing else is.
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let described: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(in_path, described, "{what}: path parameters");

        let security = operation["security"].as_array();
        for requirement in security.into_iter().flatten() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{what}: unknown scheme {name}");
            }
        }
        let responses = operation["responses"].as_object().unwrap();
        if security.is_some_and(|s| !s.is_empty()) {
            assert!(responses.contains_key("401"), "{what}: no 401");
        }
        for code in ["408", "500"] {
            assert!(responses.contains_key(code), "{what}: no {code}");
        }
        for (status, response) in responses {
            if status.as_str() >= "400" {
                let name = response["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/responses/"))
                    .unwrap_or_else(|| panic!("{what} {status}: not a shared error response"));
                let error = &document["components"]["responses"][name];
                assert_eq!(
                    error["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what} {status}"
                );
            }
        }
    }
}

/// The path with its parameters filled in with ids of a provisioned tenant.
fn concrete(path: &str) -> String {
    path.replace("{tenant}", "acme")
        .replace("{office}", "hq")
        .replace("{room}", "r1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_described_operation_is_served_and_no_other_method() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    api.provision("acme", "hq", &["r1"]).await;
    let document = fetch_document(&api).await;

    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // No credentials: nothing changes, and every route still tells whether it exists.
            let (status, body) = api.request(http_method, &concrete(path), None, None).await;
            let what = format!("{} {path}", method.to_uppercase());
            if item.get(method).is_some() {
                assert_ne!(status, 405, "{what} is described but not served: {body}");
                assert_ne!(
                    body["error"]["message"], "no such route",
                    "{what} is described but not served"
                );
            } else {
                assert_eq!(status, 405, "{what} is served but not described: {body}");
            }
        }
    }
    stop_checked(node).await;
}

/// The schema of the JSON answered by `method path` with `status`, as a standalone schema that
/// resolves its references in the document.
fn response_schema(document: &Value, method: &str, path: &str, status: u16) -> Value {
    let response = &document["paths"][path][method]["responses"][status.to_string()];
    let response = match response["$ref"].as_str() {
        Some(target) => document.pointer(&target[1..]).unwrap(),
        None => response,
    };
    let schema = response["content"]["application/json"]["schema"].clone();
    assert!(
        schema.is_object(),
        "{method} {path} {status} has no JSON schema"
    );
    json!({ "allOf": [schema], "components": document["components"] })
}

/// Checks `body` against what the document states for it.
fn assert_answers(document: &Value, method: &str, path: &str, (status, body): (u16, Value)) {
    let schema = response_schema(document, method, path, status);
    let validator = jsonschema::validator_for(&schema).expect("the response schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} answered {status} {body} against the document: {errors:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_answers_match_the_documented_schemas() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let doc = fetch_document(&api).await;

    let tenant = json!({ "id": "acme", "name": "Acme" });
    let answer = api.post("/v1/tenants", ADMIN_TOKEN, tenant).await;
    assert_answers(&doc, "post", "/v1/tenants", answer);
    let answer = api
        .post(
            "/v1/tenants/acme/offices",
            ADMIN_TOKEN,
            json!({ "id": "hq" }),
        )
        .await;
    assert_answers(&doc, "post", "/v1/tenants/{tenant}/offices", answer);
    let room = json!({ "id": "r1", "capacity": 8, "count_mode": "max" });
    let answer = api
        .post("/v1/tenants/acme/offices/hq/rooms", ADMIN_TOKEN, room)
        .await;
    assert_answers(
        &doc,
        "post",
        "/v1/tenants/{tenant}/offices/{office}/rooms",
        answer,
    );
    let sensors = "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/sensors";
    let answer = api
        .post(&concrete(sensors), ADMIN_TOKEN, json!({ "id": "s1" }))
        .await;
    let key = answer.1["key"].as_str().unwrap().to_owned();
    assert_answers(&doc, "post", sensors, answer);
    assert_answers(
        &doc,
        "get",
        sensors,
        api.get(&concrete(sensors), ADMIN_TOKEN).await,
    );
    assert_answers(
        &doc,
        "get",
        "/v1/tenants",
        api.get("/v1/tenants", ADMIN_TOKEN).await,
    );

    let token = json!({ "role": "viewer", "ttl_secs": 60 });
    let answer = api
        .post("/v1/tenants/acme/tokens", ADMIN_TOKEN, token)
        .await;
    let viewer = answer.1["token"].as_str().unwrap().to_owned();
    assert_answers(&doc, "post", "/v1/tenants/{tenant}/tokens", answer);

    let readings = json!({ "items": [{ "seq": 1, "ts": now_ms(), "count": 3 }] });
    let answer = api.post("/v1/readings", &key, readings).await;
    assert_answers(&doc, "post", "/v1/readings", answer);
    let live = "/v1/tenants/{tenant}/offices/{office}/live";
    assert_answers(&doc, "get", live, api.get(&concrete(live), &viewer).await);
    let retention = "/v1/tenants/{tenant}/retention";
    let answer = api.get(&concrete(retention), ADMIN_TOKEN).await;
    assert_answers(&doc, "get", retention, answer);
    let answer = api.request(Method::GET, "/healthz", None, None).await;
    assert_answers(&doc, "get", "/healthz", answer);

    // Errors answer the documented error body with a documented status.
    let answer = api.request(Method::GET, "/v1/tenants", None, None).await;
    assert_eq!(answer.0, 401);
    assert_answers(&doc, "get", "/v1/tenants", answer);
    let answer = api.get("/v1/tenants", &viewer).await;
    assert_eq!(answer.0, 403);
    assert_answers(&doc, "get", "/v1/tenants", answer);
    let answer = api
        .get(&concrete(live).replace("hq", "nowhere"), &viewer)
        .await;
    assert_eq!(answer.0, 404);
    assert_answers(&doc, "get", live, answer);
    let answer = api
        .post("/v1/tenants", ADMIN_TOKEN, json!({ "id": "acme" }))
        .await;
    assert_eq!(answer.0, 409);
    assert_answers(&doc, "post", "/v1/tenants", answer);
    let answer = api
        .post("/v1/tenants", ADMIN_TOKEN, json!({ "id": "Not A Slug" }))
        .await;
    assert_eq!(answer.0, 400);
    assert_answers(&doc, "post", "/v1/tenants", answer);
    stop_checked(node).await;
}
