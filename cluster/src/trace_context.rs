//! W3C trace context (`traceparent`, `tracestate`) as it crosses a process boundary: taken from
//! a sensor's HTTP request or a peer's forwarded batch and made the parent of a span here, or
//! read from the current span to go with a batch forwarded to the owner.
//!
//! Spans carry an OpenTelemetry context when the process's subscriber has an OpenTelemetry
//! layer (the `tally` binary always does, exporting or not: the gateway's `tracing_export`);
//! without one there is no context to send and a received one is ignored.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use serde::{Deserialize, Serialize};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C `traceparent` header (the header itself and its name in wire messages).
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header.
pub const TRACESTATE: &str = "tracestate";

/// A W3C trace context: the `traceparent` value and the `tracestate` that goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    /// `version-traceid-parentid-flags`, such as
    /// `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    pub traceparent: String,
    /// Vendor entries (`tracestate`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// The context of the current span, if it belongs to a trace.
    pub fn current() -> Option<Self> {
        Self::of(&Span::current())
    }

    /// The context of `span`, if it belongs to a trace.
    pub fn of(span: &Span) -> Option<Self> {
        let context = span.context();
        if !context.span().span_context().is_valid() {
            return None;
        }
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut carrier);
        Some(Self {
            traceparent: carrier.remove(TRACEPARENT)?,
            tracestate: carrier.remove(TRACESTATE).filter(|state| !state.is_empty()),
        })
    }

    /// Makes this context the parent of `span`, which must not have been entered yet; returns
    /// whether it did (not for a malformed `traceparent`, nor when no trace is exported).
    pub fn adopt(&self, span: &Span) -> bool {
        let mut carrier = HashMap::from([(TRACEPARENT.to_owned(), self.traceparent.clone())]);
        if let Some(state) = &self.tracestate {
            carrier.insert(TRACESTATE.to_owned(), state.clone());
        }
        let parent = TraceContextPropagator::new().extract(&carrier);
        parent.span().span_context().is_valid() && span.set_parent(parent).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_span_adopting_a_traceparent_passes_on_its_trace_id_and_its_own_span_id() {
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("forwarded");
            let received = TraceContext {
                traceparent: PARENT.to_owned(),
                tracestate: Some("tally=1".to_owned()),
            };
            assert!(received.adopt(&span));
            let sent = span.in_scope(TraceContext::current).unwrap();
            let parts: Vec<&str> = sent.traceparent.split('-').collect();
            assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_ne!(parts[2], "00f067aa0ba902b7", "the span's own id goes on");
            assert_eq!(parts[3], "01");
            assert_eq!(sent.tracestate.as_deref(), Some("tally=1"));

            let malformed = TraceContext {
                traceparent: "00-nonsense".to_owned(),
                tracestate: None,
            };
            assert!(!malformed.adopt(&tracing::info_span!("other")));
        });
    }

    #[test]
    fn without_an_exporting_subscriber_there_is_no_context() {
        let span = tracing::info_span!("untraced");
        assert_eq!(TraceContext::of(&span), None);
        let received = TraceContext {
            traceparent: PARENT.to_owned(),
            tracestate: None,
        };
        assert!(!received.adopt(&span));
    }
}
