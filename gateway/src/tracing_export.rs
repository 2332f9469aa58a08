//! OpenTelemetry traces of a `tally` process: its `tracing` spans exported over OTLP/HTTP
//! (protobuf) when `[tracing] otlp_endpoint` is set, off otherwise.
//!
//! The spans of a reading: `ingest.http_batch` (or the connection's `sensor` span for the
//! WebSocket) on the node that received it, a child of the sensor's `traceparent` if it sent one;
//! `transport.forwarded_readings` on the owner node when another node forwarded it (the parent
//! comes in the forwarded message, see `tally_cluster::TraceContext`); then `room.ingest`,
//! `persister.persist` (until the batch is durable) and `persister.group_commit` (the write
//! itself) on the node that owns the office.
//!
//! Spans go out in batches from the SDK's own thread (the `OTEL_BSP_*` variables tune it) and
//! are flushed when [`TraceExport`] is dropped, as the process ends.

use anyhow::Context;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tally_config::Settings;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The crates whose spans are exported, at `info` and above, whatever the log filter says.
const TRACED_CRATES: [&str; 4] = [
    "tally_gateway",
    "tally_cluster",
    "tally_actors",
    "tally_storage",
];

/// The running export of this process's spans; flushes what is pending when dropped.
#[derive(Debug)]
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Starts exporting to `tracing.otlp_endpoint`, if set (`None` when tracing is off).
    ///
    /// Call it outside an async runtime: the exporter's blocking HTTP client refuses to be built
    /// inside one.
    ///
    /// # Errors
    /// If the exporter cannot be built from the endpoint.
    pub fn start(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let tracing = &settings.tracing;
        let Some(endpoint) = &tracing.otlp_endpoint else {
            return Ok(None);
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()
            .with_context(|| format!("tracing.otlp_endpoint: cannot export to {endpoint:?}"))?;
        let resource = Resource::builder()
            .with_service_name(tracing.service_name.clone())
            .with_attribute(KeyValue::new(
                "service.instance.id",
                settings.node.node_id.clone(),
            ))
            .build();
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(tracing.sample_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource)
            .build();
        Ok(Some(Self { provider }))
    }

    /// The layer that turns tally's spans into OpenTelemetry spans, with its own filter: the
    /// run-time log filter changes what is logged, not what is traced.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        let traced = TRACED_CRATES.iter().fold(Targets::new(), |targets, krate| {
            targets.with_target(*krate, LevelFilter::INFO)
        });
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("tally"))
            .with_filter(traced)
    }
}

impl Drop for TraceExport {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("tally: traces not flushed at exit: {err}");
        }
    }
}
