//! A client's W3C trace context: the `traceparent` (and `tracestate`) headers of a sensor's HTTP
//! batch, of a sensor's WebSocket upgrade request or of a display's, made the parent of the
//! gateway's span.

use axum::http::HeaderMap;
use tally_cluster::TraceContext;
use tracing::Span;

/// The trace context the request's headers carry, if any (checked only when adopted).
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    Some(TraceContext {
        traceparent: header(tally_cluster::TRACEPARENT)?.trim().to_owned(),
        tracestate: header(tally_cluster::TRACESTATE).map(str::to_owned),
    })
}

/// Makes the request's trace context, if it carries a valid one, the parent of `span` (not yet
/// entered); a malformed `traceparent` is ignored and the span starts a trace of its own, as
/// W3C Trace Context asks.
pub(crate) fn adopt(trace: Option<&TraceContext>, span: &Span) {
    if let Some(trace) = trace {
        trace.adopt(span);
    }
}
