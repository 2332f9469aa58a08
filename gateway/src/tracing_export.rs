//! OpenTelemetry traces of a `tally` process: its `tracing` spans made OpenTelemetry spans
//! always (so that log lines carry W3C trace and span ids, a received `traceparent` is honoured
//! and passed on to other nodes), and exported over OTLP/HTTP(S) (protobuf) only when
//! `[tracing] otlp_endpoint` is set.
//!
//! The spans of a reading: `ingest.http_batch` (or `ingest.sensor_frame`, one per `readings`
//! frame of a sensor's WebSocket, each the root of a trace of its own linked to the connection's
//! `sensor` span) on the node that received it, a child of the sensor's `traceparent` if it sent
//! one; `transport.forwarded_readings` on the owner node when another node forwarded it (the
//! parent comes in the forwarded message, see `tally_cluster::TraceContext`); then
//! `room.ingest`, `persister.persist` (until the batch is durable) and `persister.group_commit`
//! (the write itself) on the node that owns the office. A display's subscription:
//! `display.subscribe`, a child of the display WebSocket upgrade's `traceparent`.
//!
//! Spans go out in batches from the SDK's own thread (the `OTEL_BSP_*` variables tune it) and
//! are flushed when [`TraceExport`] is dropped, as the process ends. An `https://` endpoint is
//! reached over rustls, trusting the system's roots and `tracing.otlp_ca_file`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tally_config::{Settings, TracingSettings};
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The crates whose spans become OpenTelemetry spans, at `info` and above, whatever the log
/// filter says.
const TRACED_CRATES: [&str; 4] = [
    "tally_gateway",
    "tally_cluster",
    "tally_actors",
    "tally_storage",
];

/// How long one export request to the collector may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The running export of this process's spans; flushes what is pending when dropped.
#[derive(Debug)]
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Starts exporting to `tracing.otlp_endpoint`, if set (`None` when export is off).
    ///
    /// Call it outside an async runtime: the exporter's blocking HTTP client refuses to be built
    /// inside one.
    ///
    /// # Errors
    /// If the exporter cannot be built from the endpoint, or `tracing.otlp_ca_file` not read.
    pub fn start(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let tracing = &settings.tracing;
        let Some(endpoint) = &tracing.otlp_endpoint else {
            return Ok(None);
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_http_client(http_client(tracing)?)
            .with_endpoint(endpoint)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .with_context(|| format!("tracing.otlp_endpoint: cannot export to {endpoint:?}"))?;
        let resource = Resource::builder()
            .with_service_name(tracing.service_name.clone())
            .with_attribute(KeyValue::new(
                "service.instance.id",
                settings.node.node_id.clone(),
            ))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler(tracing))
            .with_resource(resource)
            .build();
        Ok(Some(Self { provider }))
    }

    /// The layer that turns tally's spans into exported OpenTelemetry spans, with its own
    /// filter: the run-time log filter changes what is logged, not what is traced.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        traced_layer(&self.provider)
    }
}

/// The layer when no spans are exported: tally's spans still become OpenTelemetry spans, with
/// W3C trace and span ids (in the JSON log lines) and a received `traceparent` as their parent
/// (passed on to other nodes), but no span leaves the process.
pub fn unexported_layer<S>(settings: &Settings) -> impl Layer<S> + Send + Sync + use<S>
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler(&settings.tracing))
        .build();
    traced_layer(&provider)
}

/// Traces started here are sampled at `tracing.sample_ratio`; a trace with a parent follows the
/// parent's sampled flag. An unsampled span still has its ids (log lines carry them).
fn sampler(tracing: &TracingSettings) -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(tracing.sample_ratio)))
}

fn traced_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + Send + Sync + use<S>
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let traced = TRACED_CRATES.iter().fold(Targets::new(), |targets, krate| {
        targets.with_target(*krate, LevelFilter::INFO)
    });
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("tally"))
        .with_filter(traced)
}

/// The exporter's HTTP client: rustls with ring, trusting the system's roots and the CAs of
/// `tracing.otlp_ca_file` (for a collector behind a private CA).
fn http_client(tracing: &TracingSettings) -> anyhow::Result<reqwest_otlp::blocking::Client> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(ca_file) = &tracing.otlp_ca_file {
        let read = |what: &str| format!("tracing.otlp_ca_file: cannot read {what} {ca_file:?}");
        let cas = CertificateDer::pem_file_iter(ca_file)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .with_context(|| read("the PEM file"))?;
        anyhow::ensure!(
            !cas.is_empty(),
            "tracing.otlp_ca_file: no certificate in {ca_file:?}"
        );
        for ca in cas {
            roots.add(ca).with_context(|| read("a CA certificate of"))?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("tracing: rustls offers no protocol version")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest_otlp::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(EXPORT_TIMEOUT)
        .build()
        .context("tracing: cannot build the OTLP exporter's HTTP client")
}

impl Drop for TraceExport {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("tally: traces not flushed at exit: {err}");
        }
    }
}
