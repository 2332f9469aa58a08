//! The `[tracing]` section: OpenTelemetry traces exported over OTLP/HTTP(S), off unless an
//! endpoint is set.

use std::path::PathBuf;

use crate::documented::settings_table;
use crate::validate::Checker;
use crate::values;

settings_table! {
    /// Traces of the node's spans exported over OTLP/HTTP (`[tracing]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct TracingSettings {
        /// OTLP/HTTP (protobuf) traces URL of a collector, http:// or https:// (rustls; the system's roots and otlp_ca_file are trusted), such as "http://127.0.0.1:4318/v1/traces"; when unset no spans are exported (log lines still carry trace and span ids).
        pub otlp_endpoint: Option<String>,
        /// PEM file of the CA certificates trusted, besides the system's roots, for an https:// otlp_endpoint (a collector behind a private CA); only with https://.
        pub otlp_ca_file: Option<PathBuf>,
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
            otlp_ca_file: None,
            service_name: "tally".to_owned(),
            sample_ratio: 1.0,
        }
    }
}

/// Checks `[tracing]`: an http:// or https:// endpoint, a CA file only with https://, a
/// service name, a ratio within 0 and 1.
pub(crate) fn check(check: &mut Checker, tracing: &TracingSettings) {
    let endpoint = tracing.otlp_endpoint.as_deref();
    if let Some(endpoint) = endpoint
        && !endpoint.starts_with("http://")
        && !endpoint.starts_with("https://")
    {
        let message = format!("must be an http:// or https:// URL, got {endpoint:?}");
        check.fail("tracing.otlp_endpoint", message);
    }
    if let Some(ca_file) = &tracing.otlp_ca_file
        && !endpoint.is_some_and(|endpoint| endpoint.starts_with("https://"))
    {
        let message = format!(
            "{ca_file:?} is only used with an https:// tracing.otlp_endpoint, which is not set"
        );
        check.fail("tracing.otlp_ca_file", message);
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
                "[tracing]\notlp_endpoint = \"collector:4318\"\notlp_ca_file = \"ca.pem\"\nservice_name = \" \"\nsample_ratio = 1.5",
            ),
            [],
        )
        .unwrap_err()
        .to_string();
        for field in [
            "tracing.otlp_endpoint",
            "tracing.otlp_ca_file",
            "tracing.service_name",
            "tracing.sample_ratio",
        ] {
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn an_https_endpoint_is_taken_with_a_ca_file() {
        let settings = Settings::from_sources(
            Some(
                "[tracing]\notlp_endpoint = \"https://collector:4318/v1/traces\"\notlp_ca_file = \"/etc/tally/collector-ca.pem\"",
            ),
            [],
        )
        .unwrap();
        assert_eq!(
            settings.tracing.otlp_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/tally/collector-ca.pem"))
        );
    }
}
