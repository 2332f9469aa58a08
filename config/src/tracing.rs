//! The `[tracing]` section: OpenTelemetry traces exported over OTLP/HTTP, off unless an endpoint
//! is set.

use crate::documented::settings_table;
use crate::validate::Checker;
use crate::values;

settings_table! {
    /// Traces of the node's spans exported over OTLP/HTTP (`[tracing]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct TracingSettings {
        /// OTLP/HTTP (protobuf) traces URL of a collector, plain http:// (a collector beside the node), such as "http://127.0.0.1:4318/v1/traces"; when unset no spans are exported and logs carry no trace id.
        pub otlp_endpoint: Option<String>,
        /// The service.name resource attribute of exported spans (the node id goes in service.instance.id); must not be empty.
        pub service_name: String,
        /// Share of traces started on this node that are exported, 0.0 to 1.0; a trace whose parent came with a traceparent header or from another node follows the parent's sampled flag.
        #[serde(deserialize_with = "values::f64_from_number_or_text")]
        pub sample_ratio: f64,
    }
}

impl Default for TracingSettings {
    fn default() -> Self {
        TracingSettings {
            otlp_endpoint: None,
            service_name: "tally".to_owned(),
            sample_ratio: 1.0,
        }
    }
}

/// Checks `[tracing]`: a plain HTTP endpoint, a service name, a ratio within 0 and 1.
pub(crate) fn check(check: &mut Checker, tracing: &TracingSettings) {
    if let Some(endpoint) = &tracing.otlp_endpoint
        && !endpoint.starts_with("http://")
    {
        let message = format!(
            "must be an http:// URL (export to a collector beside the node; no TLS), got {endpoint:?}"
        );
        check.fail("tracing.otlp_endpoint", message);
    }
    if tracing.service_name.trim().is_empty() {
        let message = format!("must not be empty, got {:?}", tracing.service_name);
        check.fail("tracing.service_name", message);
    }
    if !(0.0..=1.0).contains(&tracing.sample_ratio) {
        let message = format!("must be 0.0 to 1.0, got {}", tracing.sample_ratio);
        check.fail("tracing.sample_ratio", message);
    }
}

#[cfg(test)]
mod tests {
    use crate::Settings;

    #[test]
    fn tracing_is_off_by_default_and_read_from_the_environment() {
        assert_eq!(Settings::default().tracing.otlp_endpoint, None);
        let settings = Settings::from_sources(
            None,
            [
                (
                    "TALLY_TRACING__OTLP_ENDPOINT".to_owned(),
                    "http://127.0.0.1:4318/v1/traces".to_owned(),
                ),
                ("TALLY_TRACING__SAMPLE_RATIO".to_owned(), "0.25".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.tracing.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert!((settings.tracing.sample_ratio - 0.25).abs() < f64::EPSILON);
    }

    #[test]
    fn a_bad_endpoint_empty_name_and_ratio_past_one_are_refused_together() {
        let err = Settings::from_sources(
            Some(
                "[tracing]\notlp_endpoint = \"collector:4318\"\nservice_name = \" \"\nsample_ratio = 1.5",
            ),
            [],
        )
        .unwrap_err()
        .to_string();
        for field in [
            "tracing.otlp_endpoint",
            "tracing.service_name",
            "tracing.sample_ratio",
        ] {
            assert!(err.contains(field), "{err}");
        }
    }
}
