//! Traces across nodes: a reading sent by HTTP with a `traceparent` to the node that does not own
//! its office is one trace over both `tally` processes, exported over OTLP/HTTP to a receiver the
//! test runs (an axum server decoding the protobuf export requests): the gateway span on the
//! receiving node, a child of the sensor's span, and on the owner the forwarded batch, the room
//! and the persister spans, each the child of the one before. The owner's JSON log line written
//! inside the forwarded batch's span carries that span's trace and span ids. A sensor's WebSocket
//! opened with a `traceparent` makes its connection span the parent of its batches' spans on the
//! owner likewise.

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
use serde_json::{Value, json};
use support::cluster::{Cluster, field, message, provision};
use support::{PATIENCE, now_ms};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A span as the receiver decoded it.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    /// `service.instance.id` of its resource: the node id.
    node: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
}

/// An OTLP/HTTP traces receiver on a free loopback port, keeping every span it is sent.
#[derive(Clone)]
struct Receiver {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    received: watch::Sender<usize>,
}

impl Receiver {
    /// Serves `POST /v1/traces`; the receiver and its traces URL.
    async fn start() -> (Self, String) {
        let receiver = Self {
            spans: Arc::default(),
            received: watch::channel(0).0,
        };
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, format!("http://{addr}/v1/traces"))
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

/// The names from `span` up its parents among `spans` (the last one's parent is elsewhere).
fn chain<'a>(spans: &'a [ReceivedSpan], span: &'a ReceivedSpan) -> Vec<&'a ReceivedSpan> {
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut chain = vec![span];
    while let Some(parent) = by_id.get(chain.last().unwrap().parent_span_id.as_str()) {
        chain.push(parent);
    }
    chain
}

/// A W3C `traceparent` of a new sampled trace: the trace id and the parent span id with it.
fn new_traceparent() -> (String, String, String) {
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let span_id = format!("{:016x}", rand::random::<u64>() | 1);
    let header = format!("00-{trace_id}-{span_id}-01");
    (trace_id, span_id, header)
}

/// Opens a sensor WebSocket to `addr` with `traceparent` on the upgrade request (JSON frames),
/// sends one reading with `seq`, awaits its ack and closes the connection.
async fn send_over_websocket(addr: SocketAddr, key: &str, seq: u64, traceparent: &str) {
    let mut request = format!("ws://{addr}/v1/sensors/connect")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", "tally.v1.json".parse().unwrap());
    headers.insert("traceparent", traceparent.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let frames = [
        json!({ "type": "hello", "key": key }),
        json!({ "type": "readings", "items": [{ "seq": seq, "ts": now_ms(), "count": 1 }] }),
    ];
    for frame in frames {
        socket
            .send(WsMessage::Text(frame.to_string().into()))
            .await
            .unwrap();
    }
    let mut answers = Vec::new();
    while answers.len() < 2 {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the node answers within the test's patience");
        if let Some(Ok(WsMessage::Text(text))) = message {
            answers.push(serde_json::from_str::<Value>(&text).unwrap());
        }
    }
    assert_eq!(answers[0]["type"], "welcome", "{answers:?}");
    assert_eq!(
        (&answers[1]["type"], &answers[1]["up_to_seq"]),
        (&json!("ack"), &json!(seq)),
        "{answers:?}"
    );
    // The connection's span ends with it, and only then is it exported.
    socket.close(None).await.unwrap();
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
    let answer = reqwest::Client::new()
        .post(format!("http://{}/v1/readings", cluster.addr(0)))
        .bearer_auth(key)
        .header("traceparent", traceparent)
        .json(&json!({ "items": [{ "seq": 1, "ts": now_ms(), "count": 2 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
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
    let path: Vec<(&str, &str)> = chain(&spans, &persist)
        .iter()
        .map(|s| (s.node.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        path,
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
    // Nothing of this trace claims to come from a third place.
    assert!(
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .all(|s| s.node == "n1" || s.node == "n2"),
        "{spans:#?}"
    );

    // The same sensor over a WebSocket to n1, its upgrade request carrying another trace.
    let (ws_trace, ws_parent, traceparent) = new_traceparent();
    send_over_websocket(cluster.addr(0), key, 2, &traceparent).await;
    let spans = receiver
        .await_spans("connection span on n1 and room span on n2", |spans| {
            named_in(spans, &ws_trace, "n1", "sensor").is_some()
                && named_in(spans, &ws_trace, "n2", "room.ingest").is_some()
        })
        .await;
    let connection = named_in(&spans, &ws_trace, "n1", "sensor").unwrap();
    assert_eq!(connection.parent_span_id, ws_parent);
    let room = named_in(&spans, &ws_trace, "n2", "room.ingest").unwrap();
    let path: Vec<(&str, &str)> = chain(&spans, &room)
        .iter()
        .map(|s| (s.node.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        path,
        [
            ("n2", "room.ingest"),
            ("n2", "transport.forwarded_readings"),
            ("n1", "sensor"),
        ],
        "{spans:#?}"
    );
}
