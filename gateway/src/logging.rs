//! Log lines of a `tally` process: text or JSON lines (`log.format`), the JSON ones each naming
//! the node (`node`), and a filter that can be changed while the node runs
//! (`PUT /v1/admin/log-filter`, through [`set_filter`]).
//!
//! JSON lines carry an event's own fields (`tenant`, `office`, `room`, `sensor` where the code
//! names them) under `fields`, the fields of the span the event happened in under `span` (the
//! spans of a reading name its tenant, office and room), and that span's W3C `trace_id` and
//! `span_id`, whether or not traces are exported (`[tracing]`).

use std::io::{self, Write};
use std::sync::OnceLock;

use anyhow::Context;
use tally_config::{LogFormat, Settings};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{JsonFields, format};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::trace_ids::WithTraceIds;
use crate::tracing_export::{self, TraceExport};

/// The filter of this process's subscriber, once [`init`] installed it.
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the process's log subscriber from `[log]`, writing to stderr, with OpenTelemetry
/// span ids always and with `[tracing] otlp_endpoint` the export of its spans; keep the returned
/// export until the process ends (dropping it flushes the spans still pending). Call it outside
/// an async runtime.
///
/// The log filter applies to the log lines only: the export has its own (see
/// [`TraceExport::layer`]), so changing the filter at run time does not cut traces short.
///
/// # Errors
/// If `log.filter` is not a valid directive, the OTLP exporter cannot be built, or a subscriber
/// is installed already.
pub fn init(settings: &Settings) -> anyhow::Result<Option<TraceExport>> {
    let filter = parse_filter(&settings.log.filter)
        .with_context(|| format!("log.filter: invalid directive {:?}", settings.log.filter))?;
    let (filter, handle) = reload::Layer::new(filter);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match settings.log.format {
        LogFormat::Json => {
            let writer = NodeTagged::new(&settings.node.node_id);
            let json = format()
                .json()
                .with_current_span(true)
                .with_span_list(false);
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(WithTraceIds(json))
                .with_writer(writer)
                .with_filter(filter)
                .boxed()
        }
        LogFormat::Text => {
            // Colours only on a terminal: logs piped to a file or a collector stay plain text.
            let ansi = io::IsTerminal::is_terminal(&io::stderr());
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(io::stderr)
                .with_filter(filter)
                .boxed()
        }
    };
    let export = TraceExport::start(settings)?;
    tracing_subscriber::registry()
        .with(lines)
        .with(export.as_ref().map(TraceExport::layer))
        .with(
            export
                .is_none()
                .then(|| tracing_export::unexported_layer(settings)),
        )
        .try_init()?;
    FILTER
        .set(handle)
        .map_err(|_| anyhow::anyhow!("the log subscriber is installed already"))?;
    Ok(export)
}

/// Why the log filter could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum LogFilterError {
    /// The directive does not parse.
    #[error("invalid log filter {directive:?}: {reason}")]
    Invalid {
        /// The directive given.
        directive: String,
        /// What is wrong with it.
        reason: String,
    },
    /// This process logs through no reloadable subscriber (an in-process test node).
    #[error("this process has no reloadable log filter")]
    NotInstalled,
}

fn parse_filter(directive: &str) -> Result<EnvFilter, LogFilterError> {
    let invalid = |reason: String| LogFilterError::Invalid {
        directive: directive.to_owned(),
        reason,
    };
    if directive.trim().is_empty() {
        return Err(invalid("must not be empty".to_owned()));
    }
    EnvFilter::builder()
        .parse(directive)
        .map_err(|err| invalid(err.to_string()))
}

/// The filter in force now, if [`init`] installed one.
pub fn current_filter() -> Option<String> {
    let handle = FILTER.get()?;
    handle.with_current(ToString::to_string).ok()
}

/// Replaces the filter in force with `directive` (an `EnvFilter` directive such as
/// `"info,tally_cluster=debug"`); returns the new filter.
///
/// # Errors
/// [`LogFilterError::Invalid`] if it does not parse (the old filter stays),
/// [`LogFilterError::NotInstalled`] if [`init`] did not run in this process.
pub fn set_filter(directive: &str) -> Result<String, LogFilterError> {
    let filter = parse_filter(directive)?;
    let handle = FILTER.get().ok_or(LogFilterError::NotInstalled)?;
    handle
        .reload(filter)
        .map_err(|_| LogFilterError::NotInstalled)?;
    tracing::warn!(filter = directive, "log filter changed");
    Ok(current_filter().unwrap_or_else(|| directive.to_owned()))
}

/// Writes JSON log lines to stderr with `"node":"<id>"` as their first field.
#[derive(Debug, Clone)]
struct NodeTagged {
    /// `{"node":"<id>",` — what replaces a line's opening brace.
    opening: String,
}

impl NodeTagged {
    fn new(node_id: &str) -> Self {
        let id = serde_json::Value::String(node_id.to_owned());
        Self {
            opening: format!("{{\"node\":{id},"),
        }
    }
}

impl<'a> MakeWriter<'a> for NodeTagged {
    type Writer = NodeTaggedLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        NodeTaggedLine {
            opening: &self.opening,
            line: Vec::new(),
        }
    }
}

/// One log line, written to stderr in one piece when dropped.
#[derive(Debug)]
struct NodeTaggedLine<'a> {
    opening: &'a str,
    line: Vec<u8>,
}

impl Write for NodeTaggedLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl NodeTaggedLine<'_> {
    /// The line with the node as its first field (a line that is no JSON object as it is).
    fn tagged(&mut self) -> Vec<u8> {
        match self.line.strip_prefix(b"{") {
            Some(rest) => [self.opening.as_bytes(), rest].concat(),
            None => std::mem::take(&mut self.line),
        }
    }
}

impl Drop for NodeTaggedLine<'_> {
    fn drop(&mut self) {
        let line = self.tagged();
        let _ = io::stderr().lock().write_all(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_gets_the_node_as_its_first_field() {
        let tagged = NodeTagged::new("n1");
        let mut writer = tagged.make_writer();
        writer.write_all(b"{\"message\":\"hi\"}\n").unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&writer.tagged()).unwrap();
        assert_eq!(parsed["node"], "n1");
        assert_eq!(parsed["message"], "hi");
        writer.line.clear();
    }

    #[test]
    fn an_invalid_filter_is_refused_with_the_directive() {
        let err = parse_filter("info,tally=nonsense[")
            .unwrap_err()
            .to_string();
        assert!(err.contains("info,tally=nonsense["), "{err}");
        assert!(parse_filter(" ").is_err());
        assert!(matches!(
            set_filter("debug"),
            Err(LogFilterError::NotInstalled)
        ));
    }
}
