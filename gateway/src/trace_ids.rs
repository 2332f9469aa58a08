//! The trace of a JSON log line: `trace_id` and `span_id` of the span the event happened in,
//! when that span belongs to a trace (every span of tally's crates does, exported or not, see
//! `tracing_export`), so a log line leads to its trace and back.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events with `F` (JSON objects) and puts the current trace's ids first in each.
#[derive(Debug)]
pub(crate) struct WithTraceIds<F>(pub(crate) F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Entering a traced span makes its OpenTelemetry context the current one.
        let context = opentelemetry::Context::current();
        let span = context.span();
        let ids = span.span_context();
        if !ids.is_valid() {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",{rest}",
                ids.trace_id(),
                ids.span_id()
            ),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::format::{self, JsonFields};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Lines written by the subscriber under test.
    #[derive(Debug, Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl MakeWriter<'_> for Lines {
        type Writer = Lines;

        fn make_writer(&self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn a_line_inside_a_traced_span_carries_its_trace_and_span_ids_and_others_none() {
        let lines = Lines::default();
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(WithTraceIds(
                        format::format().json().with_current_span(true),
                    ))
                    .with_writer(lines.clone()),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let span = tracing::info_span!("room.ingest", room = "r1");
            let expected = tally_cluster::TraceContext::of(&span).unwrap();
            span.in_scope(|| tracing::warn!(seq = 3, "inside"));
            let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
            let parsed: Vec<serde_json::Value> = text
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            assert_eq!(parsed.len(), 2, "{text}");
            assert!(parsed[0].get("trace_id").is_none(), "{text}");
            let parts: Vec<&str> = expected.traceparent.split('-').collect();
            assert_eq!(parsed[1]["trace_id"], parts[1], "{text}");
            assert_eq!(parsed[1]["span_id"], parts[2], "{text}");
            assert_eq!(parsed[1]["fields"]["seq"], 3, "{text}");
            assert_eq!(parsed[1]["span"]["room"], "r1", "{text}");
        });
    }
}
