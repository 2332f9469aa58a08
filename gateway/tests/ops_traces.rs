//! Traces across nodes: a reading sent by HTTP with a `traceparent` to the node that does not own
//! its office is one trace over both `tally` processes, exported over OTLP/HTTP to a receiver the
//! test runs (an axum server decoding the protobuf export requests): the gateway span on the
//! receiving node, a child of the sensor's span, and on the owner the forwarded batch, the room
//! and the persister spans, each the child of the one before. The owner's JSON log line written
//! inside the forwarded batch's span carries that span's trace and span ids. A sensor's WebSocket
//! opened with a `traceparent` gets a connection span, the child of that parent, and each of its
//! frames a trace of its own (`ingest.sensor_frame`, linked to the connection span) reaching the
//! owner's spans likewise. A display's subscription is traced as the child of its WebSocket
//! upgrade's `traceparent`. Spans reach an `https://` collector whose certificate is trusted
//! through `tracing.otlp_ca_file`; a CA file that holds no certificate stops the node at start.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use futures::{SinkExt, StreamExt};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use support::cluster::{Cluster, NodeProcess, field, message, provision};
use support::{Api, PATIENCE, now_ms};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A client's WebSocket to a node.
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A span as the receiver decoded it.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    /// `service.instance.id` of its resource: the node id.
    node: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// The spans it links to, as (trace id, span id).
    links: Vec<(String, String)>,
}

/// An OTLP/HTTP traces receiver on a free loopback port, keeping every span it is sent.
#[derive(Clone)]
struct Receiver {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    received: watch::Sender<usize>,
}

impl Receiver {
    fn new() -> (Self, Router) {
        let receiver = Self {
            spans: Arc::default(),
            received: watch::channel(0).0,
        };
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(receiver.clone());
        (receiver, app)
    }

    /// Serves `POST /v1/traces`; the receiver and its traces URL.
    async fn start() -> (Self, String) {
        let (receiver, app) = Self::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, format!("http://{addr}/v1/traces"))
    }

    /// Serves `POST /v1/traces` over TLS with `certificate` (for 127.0.0.1) and its `key`; the
    /// receiver and its `https://` traces URL.
    async fn start_tls(
        certificate: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> (Self, String) {
        let (receiver, app) = Self::new();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        (receiver, format!("https://{addr}/v1/traces"))
    }

    /// Waits until the spans received satisfy `done`; returns them.
    ///
    /// # Panics
    /// If they do not within [`PATIENCE`], naming `what` and listing what came.
    async fn await_spans(
        &self,
        what: &str,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let mut received = self.received.subscribe();
        let waited = tokio::time::timeout(PATIENCE, async {
            loop {
                let spans = self.spans.lock().unwrap().clone();
                if done(&spans) {
                    return spans;
                }
                received.changed().await.expect("the receiver lives");
            }
        })
        .await;
        waited.unwrap_or_else(|_| {
            let spans = self.spans.lock().unwrap().clone();
            panic!("no {what} within {PATIENCE:?}; received {spans:#?}")
        })
    }
}

/// `POST /v1/traces`: an `ExportTraceServiceRequest` in protobuf.
async fn export(State(receiver): State<Receiver>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    let mut decoded = Vec::new();
    for resource_spans in request.resource_spans {
        let node = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.instance.id")
            .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
            .map(|value| match value {
                AnyValue::StringValue(text) => text.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for span in resource_spans
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            decoded.push(ReceivedSpan {
                node: node.clone(),
                name: span.name,
                trace_id: hex::encode(span.trace_id),
                span_id: hex::encode(span.span_id),
                parent_span_id: hex::encode(span.parent_span_id),
                links: span
                    .links
                    .iter()
                    .map(|link| (hex::encode(&link.trace_id), hex::encode(&link.span_id)))
                    .collect(),
            });
        }
    }
    let mut spans = receiver.spans.lock().unwrap();
    spans.extend(decoded);
    receiver.received.send_replace(spans.len());
    ExportTraceServiceResponse::default().encode_to_vec()
}

/// The span of trace `trace_id` named `name` that node `node` sent, if any.
fn named_in(
    spans: &[ReceivedSpan],
    trace_id: &str,
    node: &str,
    name: &str,
) -> Option<ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.trace_id == trace_id && s.node == node && s.name == name)
        .cloned()
}

/// The (node, name) of `span` and of each of its parents up among `spans` (the last one's
/// parent is elsewhere).
fn chain<'a>(spans: &'a [ReceivedSpan], span: &'a ReceivedSpan) -> Vec<(&'a str, &'a str)> {
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut chain = vec![span];
    while let Some(parent) = by_id.get(chain.last().unwrap().parent_span_id.as_str()) {
        chain.push(parent);
    }
    chain
        .iter()
        .map(|s| (s.node.as_str(), s.name.as_str()))
        .collect()
}

/// A W3C `traceparent` of a new sampled trace: the trace id and the parent span id with it.
fn new_traceparent() -> (String, String, String) {
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let span_id = format!("{:016x}", rand::random::<u64>() | 1);
    let header = format!("00-{trace_id}-{span_id}-01");
    (trace_id, span_id, header)
}

/// Posts seq 1 (count 2) as sensor `key` to `addr` with `traceparent`; asserts 200 and returns
/// the answer.
async fn post_traced_reading(addr: SocketAddr, key: &str, traceparent: &str) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/v1/readings"))
        .bearer_auth(key)
        .header("traceparent", traceparent)
        .json(&json!({ "items": [{ "seq": 1, "ts": now_ms(), "count": 2 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// Opens a WebSocket to `url` (JSON frames) with `traceparent` on the upgrade request.
async fn connect_traced(
    url: &str,
    traceparent: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", "tally.v1.json".parse().unwrap());
    headers.insert("traceparent", traceparent.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
}

/// Opens a sensor WebSocket to `addr` with `traceparent` on the upgrade request (JSON frames),
/// sends one frame of one reading for each of `seqs`, each after the ack of the one before, and
/// closes the connection.
async fn send_over_websocket(addr: SocketAddr, key: &str, seqs: &[u64], traceparent: &str) {
    let url = format!("ws://{addr}/v1/sensors/connect");
    let mut socket = connect_traced(&url, traceparent).await;
    let hello = json!({ "type": "hello", "key": key });
    let answer = exchange(&mut socket, &hello).await;
    assert_eq!(answer["type"], "welcome", "{answer}");
    for &seq in seqs {
        let frame =
            json!({ "type": "readings", "items": [{ "seq": seq, "ts": now_ms(), "count": 1 }] });
        let answer = exchange(&mut socket, &frame).await;
        assert_eq!(
            (&answer["type"], &answer["up_to_seq"]),
            (&json!("ack"), &json!(seq)),
            "{answer}"
        );
    }
    // The connection's span ends with it, and only then is it exported.
    socket.close(None).await.unwrap();
}

/// Sends `frame` on a sensor's socket and returns the node's next text frame.
async fn exchange(socket: &mut Socket, frame: &Value) -> Value {
    socket
        .send(WsMessage::Text(frame.to_string().into()))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the node answers within the test's patience");
        if let Some(Ok(WsMessage::Text(text))) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forwarded_reading_is_one_trace_from_the_gateway_to_the_owners_persister() {
    let (receiver, endpoint) = Receiver::start().await;
    // Spans leave each node every 100 ms instead of every 5 s.
    let cluster = Cluster::start_with_env(
        2,
        &[
            ("TALLY_TRACING__OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            // The transport's debug line of a forwarded batch, to find its trace in the log.
            (
                "TALLY_LOG__FILTER",
                "info,fjall=warn,lsm_tree=warn,tally_cluster::transport::endpoint=debug",
            ),
        ],
    )
    .await;
    let offices = provision(&cluster.api(0), "traced", 8, 1).await;
    // An office of the second node, reached through the first.
    let office = offices
        .iter()
        .find(|office| cluster.placed_on("traced", &office.office) == 1)
        .expect("one of eight offices is placed on n2");
    let key = &office.rooms[0].1;

    let (trace_id, sensor_span, traceparent) = new_traceparent();
    let answer = post_traced_reading(cluster.addr(0), key, &traceparent).await;
    assert_eq!(answer["up_to_seq"], 1, "{answer}");

    let named =
        |spans: &[ReceivedSpan], node: &str, name: &str| named_in(spans, &trace_id, node, name);
    let spans = receiver
        .await_spans("gateway span on n1 and persister span on n2", |spans| {
            named(spans, "n1", "ingest.http_batch").is_some()
                && named(spans, "n2", "persister.persist").is_some()
                && named(spans, "n2", "persister.group_commit").is_some()
        })
        .await;
    let gateway = named(&spans, "n1", "ingest.http_batch").unwrap();
    assert_eq!(
        gateway.parent_span_id, sensor_span,
        "the gateway span is a child of the sensor's traceparent"
    );
    let persist = named(&spans, "n2", "persister.persist").unwrap();
    assert_eq!(
        chain(&spans, &persist),
        [
            ("n2", "persister.persist"),
            ("n2", "room.ingest"),
            ("n2", "transport.forwarded_readings"),
            ("n1", "ingest.http_batch"),
        ],
        "the owner's spans lead to the gateway span: {spans:#?}"
    );
    let write = named(&spans, "n2", "persister.group_commit").unwrap();
    assert_eq!(
        write.parent_span_id, persist.span_id,
        "the write of the batch is in its trace"
    );
    let forwarded = named(&spans, "n2", "transport.forwarded_readings").unwrap();
    let logged = cluster
        .node(1)
        .logs
        .await_line("forwarded batch with its trace id", |line| {
            message(line) == "forwarded batch"
                && field(line, "trace_id").as_deref() == Some(trace_id.as_str())
        })
        .await;
    assert_eq!(
        field(&logged, "span_id").as_deref(),
        Some(forwarded.span_id.as_str()),
        "{logged}"
    );
    assert_eq!(field(&logged, "node").as_deref(), Some("n2"), "{logged}");
    assert_eq!(logged["span"]["tenant"], "traced", "{logged}");
    assert_eq!(logged["span"]["room"], office.rooms[0].0, "{logged}");
    // Nothing of this trace claims to come from a third place.
    assert!(
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .all(|s| s.node == "n1" || s.node == "n2"),
        "{spans:#?}"
    );

    // The same sensor over a WebSocket to n1, its upgrade request carrying another trace: the
    // connection's span is in that trace, each frame starts a trace of its own linked to it.
    let (ws_trace, ws_parent, traceparent) = new_traceparent();
    send_over_websocket(cluster.addr(0), key, &[2, 3], &traceparent).await;
    let frames_of = |spans: &[ReceivedSpan], connection: &ReceivedSpan| -> Vec<ReceivedSpan> {
        let link = (connection.trace_id.clone(), connection.span_id.clone());
        spans
            .iter()
            .filter(|s| s.name == "ingest.sensor_frame" && s.links.contains(&link))
            .cloned()
            .collect()
    };
    let spans = receiver
        .await_spans("connection span and two frames' room spans", |spans| {
            let Some(connection) = named_in(spans, &ws_trace, "n1", "sensor") else {
                return false;
            };
            let frames = frames_of(spans, &connection);
            frames.len() == 2
                && frames
                    .iter()
                    .all(|frame| named_in(spans, &frame.trace_id, "n2", "room.ingest").is_some())
        })
        .await;
    let connection = named_in(&spans, &ws_trace, "n1", "sensor").unwrap();
    assert_eq!(connection.parent_span_id, ws_parent);
    let frames = frames_of(&spans, &connection);
    assert_ne!(frames[0].trace_id, frames[1].trace_id, "{frames:#?}");
    for frame in &frames {
        assert_eq!(frame.node, "n1", "{frame:?}");
        assert_ne!(frame.trace_id, ws_trace, "a frame is a trace of its own");
        assert!(frame.parent_span_id.is_empty(), "{frame:?}");
        let room = named_in(&spans, &frame.trace_id, "n2", "room.ingest").unwrap();
        assert_eq!(
            chain(&spans, &room),
            [
                ("n2", "room.ingest"),
                ("n2", "transport.forwarded_readings"),
                ("n1", "ingest.sensor_frame"),
            ],
            "{spans:#?}"
        );
    }

    // A display on n1 subscribing to that office (owned by n2), its upgrade carrying a trace.
    let (display_trace, display_parent, traceparent) = new_traceparent();
    let token = cluster.api(0).viewer_token("traced").await;
    let url = format!("ws://{}/v1/live?access_token={token}", cluster.addr(0));
    let mut display = connect_traced(&url, &traceparent).await;
    let subscribe = json!({ "type": "subscribe", "office": office.office });
    let snapshot = exchange(&mut display, &subscribe).await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    let spans = receiver
        .await_spans("the display's subscribe span on n1", |spans| {
            named_in(spans, &display_trace, "n1", "display.subscribe").is_some()
        })
        .await;
    let subscribed = named_in(&spans, &display_trace, "n1", "display.subscribe").unwrap();
    assert_eq!(subscribed.parent_span_id, display_parent, "{subscribed:?}");
    display.close(None).await.unwrap();
}

/// The environment of a one-node `tally run` in `dir` exporting to `endpoint`, trusting the CAs
/// of `ca_file`.
fn https_export_env(
    dir: &std::path::Path,
    endpoint: &str,
    ca_file: &std::path::Path,
) -> Vec<(String, String)> {
    [
        ("TALLY_NODE__NODE_ID", "tls-traced".to_owned()),
        (
            "TALLY_NODE__DATA_DIR",
            dir.join("data").display().to_string(),
        ),
        ("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("TALLY_TRACING__OTLP_ENDPOINT", endpoint.to_owned()),
        ("TALLY_TRACING__OTLP_CA_FILE", ca_file.display().to_string()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_https_collector_trusted_through_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let ca_file = dir.path().join("collector-ca.pem");
    std::fs::write(&ca_file, generated.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
    let (receiver, endpoint) = Receiver::start_tls(generated.cert.der().clone(), key).await;

    // A CA file without a certificate: the node refuses to start, naming the setting.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let mut refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally"));
    refused
        .arg("run")
        .envs(https_export_env(dir.path(), &endpoint, &empty))
        .env("TALLY_AUTH__ADMIN_TOKEN", support::ADMIN_TOKEN)
        .env("TALLY_AUTH__JWT_SECRET", support::JWT_SECRET)
        .kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, refused.output())
        .await
        .expect("the node stops at once")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("tracing.otlp_ca_file"), "{stderr}");

    let node = NodeProcess::start(&https_export_env(dir.path(), &endpoint, &ca_file));
    let sensor_key = Api::new(node.addr)
        .provision("secure", "hq", &["r1"])
        .await
        .remove(0);
    let (trace_id, sensor_span, traceparent) = new_traceparent();
    post_traced_reading(node.addr, &sensor_key, &traceparent).await;
    let spans = receiver
        .await_spans("the batch's spans over https", |spans| {
            named_in(spans, &trace_id, "tls-traced", "ingest.http_batch").is_some()
                && named_in(spans, &trace_id, "tls-traced", "persister.persist").is_some()
        })
        .await;
    let gateway = named_in(&spans, &trace_id, "tls-traced", "ingest.http_batch").unwrap();
    assert_eq!(gateway.parent_span_id, sensor_span);
    node.terminate();
}
