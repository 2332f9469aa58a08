//! The documented bounds of every setting, checked all at once.

use std::time::Duration;

use crate::error::FieldError;
use crate::quotas::QuotaSettings;
use crate::settings::{IngestSettings, REDACTED, Settings};
use crate::storage::{PostgresTls, ScyllaSettings, StorageBackend, StorageSettings};
use crate::values;

/// Longest node id or region.
const MAX_SLUG_LEN: usize = 64;
/// Shortest admin token, in characters.
const MIN_ADMIN_TOKEN_CHARS: usize = 16;
/// Shortest JWT secret, in bytes (HS256 wants a key as long as its hash).
const MIN_JWT_SECRET_BYTES: usize = 32;
/// Largest accepted frame or HTTP body: 16 MiB.
const MAX_FRAME_BYTES: u32 = 16 * 1024 * 1024;
const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// What is wrong with a JWKS URL: it must be https, or http to a loopback address (a sidecar on
/// the same host), since keys fetched in clear over a network could be swapped on the way and
/// then verify anyone's tokens.
fn jwks_url_problem(text: &str) -> Option<String> {
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(err) => return Some(format!("is not a URL ({err}), got {text:?}")),
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => None,
        "http" if loopback => None,
        "http" => Some(format!(
            "must be https (http only to a loopback address), got {text:?}"
        )),
        _ => Some(format!("must be an https URL, got {text:?}")),
    }
}

/// Every value of `settings` that breaks its documented bound, in declaration order.
pub(crate) fn validate(settings: &Settings) -> Vec<FieldError> {
    let mut check = Checker::default();
    let Settings {
        node,
        storage,
        auth,
        http,
        ingest,
        quotas,
        persister,
        display,
        supervision,
        retention,
        log,
        cluster,
        metrics,
        rollup,
        tracing,
    } = settings;

    check.slug("node.node_id", &node.node_id);
    check.slug("node.region", &node.region);
    if node.data_dir.as_os_str().is_empty() {
        check.fail("node.data_dir", "must not be empty, got \"\"".to_string());
    }

    check_storage(&mut check, storage);
    crate::cluster::check(&mut check, cluster, storage);

    check.secret("auth.admin_token", auth.admin_token.as_deref(), |token| {
        let chars = token.chars().count();
        (chars < MIN_ADMIN_TOKEN_CHARS).then(|| {
            format!("must be at least {MIN_ADMIN_TOKEN_CHARS} characters, got {chars} characters")
        })
    });
    check.secret(
        "auth.metrics_token",
        auth.metrics_token.as_deref(),
        |token| {
            let chars = token.chars().count();
            (chars < MIN_ADMIN_TOKEN_CHARS).then(|| {
                format!(
                    "must be at least {MIN_ADMIN_TOKEN_CHARS} characters, got {chars} characters"
                )
            })
        },
    );
    check.secret("auth.jwt_secret", auth.jwt_secret.as_deref(), |secret| {
        let bytes = secret.len();
        (bytes < MIN_JWT_SECRET_BYTES)
            .then(|| format!("must be at least {MIN_JWT_SECRET_BYTES} bytes, got {bytes} bytes"))
    });
    check.at_least("auth.token_ttl", auth.token_ttl, MINUTE);
    check.at_most("auth.token_ttl", auth.token_ttl, 365 * DAY, "365d");
    check.at_most("auth.jwt_leeway", auth.jwt_leeway, 5 * MINUTE, "5m");
    check.at_least("auth.revocation_refresh", auth.revocation_refresh, SECOND);
    check.at_most(
        "auth.revocation_refresh",
        auth.revocation_refresh,
        5 * MINUTE,
        "5m",
    );
    if !auth.jwt_hs256
        && auth.jwt_keys_dir.is_none()
        && auth.jwks_file.is_none()
        && auth.jwks_url.is_none()
    {
        check.fail(
            "auth.jwt_hs256",
            "is false but none of auth.jwt_keys_dir, auth.jwks_file, auth.jwks_url is set: no tenant JWT could be verified".to_string(),
        );
    }
    if let Some(problem) = auth.jwks_url.as_deref().and_then(jwks_url_problem) {
        check.fail("auth.jwks_url", problem);
    }
    check.at_least("auth.jwks_refresh", auth.jwks_refresh, SECOND);
    check.at_most("auth.jwks_refresh", auth.jwks_refresh, DAY, "1d");

    if http.tls_cert_file.is_some() != http.tls_key_file.is_some() {
        check.fail(
            "http.tls_cert_file",
            "and http.tls_key_file must be set together".to_string(),
        );
    }
    check.at_least("http.header_read_timeout", http.header_read_timeout, SECOND);
    check.at_most(
        "http.header_read_timeout",
        http.header_read_timeout,
        5 * MINUTE,
        "5m",
    );
    check.at_least("http.request_timeout", http.request_timeout, SECOND);
    check.at_most(
        "http.request_timeout",
        http.request_timeout,
        10 * MINUTE,
        "10m",
    );
    check.at_least(
        "http.max_connections_per_source",
        http.max_connections_per_source,
        1,
    );
    check.at_least(
        "http.max_connections",
        http.max_connections,
        http.max_connections_per_source,
    );
    check.at_least(
        "http.connection_rate_per_source",
        http.connection_rate_per_source,
        1,
    );
    check.at_least(
        "http.connection_burst_per_source",
        http.connection_burst_per_source,
        1,
    );

    check.at_least("ingest.inflight_window", ingest.inflight_window, 1);
    check.at_most(
        "ingest.inflight_window",
        ingest.inflight_window,
        65536,
        "65536",
    );
    check.at_least("ingest.max_batch_items", ingest.max_batch_items, 1);
    // A window of 0 is already reported; comparing against it would only repeat that.
    if ingest.inflight_window >= 1 {
        check.at_most(
            "ingest.max_batch_items",
            ingest.max_batch_items,
            ingest.inflight_window,
            &format!("ingest.inflight_window ({})", ingest.inflight_window),
        );
    }
    check.at_least(
        "ingest.node_inflight",
        ingest.node_inflight,
        ingest.max_batch_items.max(1),
    );
    check.at_least("ingest.max_frame_bytes", ingest.max_frame_bytes, 256);
    check.at_most(
        "ingest.max_frame_bytes",
        ingest.max_frame_bytes,
        MAX_FRAME_BYTES,
        "16777216 (16 MiB)",
    );
    check.at_least("ingest.max_count", ingest.max_count, 1);
    check.at_most("ingest.max_future_skew", ingest.max_future_skew, HOUR, "1h");
    check.positive("ingest.hello_timeout", ingest.hello_timeout);
    check.at_least(
        "ingest.sensor_timeout",
        ingest.sensor_timeout,
        Duration::from_secs(1),
    );
    check.at_most(
        "ingest.sensor_timeout",
        ingest.sensor_timeout,
        7 * DAY,
        "7d",
    );

    check_quotas(&mut check, quotas, ingest);

    check.at_least("persister.max_batch_rows", persister.max_batch_rows, 1);
    check.at_most(
        "persister.retry_for",
        persister.retry_for,
        10 * MINUTE,
        "10m",
    );

    check.at_least(
        "display.coalesce_interval",
        display.coalesce_interval,
        Duration::from_millis(1),
    );
    check.at_most(
        "display.coalesce_interval",
        display.coalesce_interval,
        Duration::from_secs(10),
        "10s",
    );
    check.at_least("display.inflight_frames", display.inflight_frames, 1);
    check.at_most(
        "display.inflight_frames",
        display.inflight_frames,
        65536,
        "65536",
    );

    check.at_least("supervision.max_restarts", supervision.max_restarts, 1);
    check.positive("supervision.restart_window", supervision.restart_window);

    check.at_least("retention.sweep_interval", retention.sweep_interval, SECOND);
    check.at_most(
        "retention.sweep_interval",
        retention.sweep_interval,
        7 * DAY,
        "7d",
    );
    for (field, keep) in [
        ("retention.readings", retention.readings),
        ("retention.minute", retention.minute),
        ("retention.fifteen_minutes", retention.fifteen_minutes),
        ("retention.hour", retention.hour),
        ("retention.day", retention.day),
        ("retention.audit", retention.audit),
    ] {
        check.positive(field, keep);
    }
    check.at_most("retention.audit", retention.audit, 7300 * DAY, "7300d");
    check.at_least(
        "retention.erasure_confirm_ttl",
        retention.erasure_confirm_ttl,
        10 * SECOND,
    );
    check.at_most(
        "retention.erasure_confirm_ttl",
        retention.erasure_confirm_ttl,
        HOUR,
        "1h",
    );

    crate::metrics::check(&mut check, metrics);
    crate::tracing::check(&mut check, tracing);
    check.at_most("rollup.lateness", rollup.lateness, DAY, "1d");
    let every = rollup.finalise_every;
    check.at_least("rollup.finalise_every", every, Duration::from_millis(10));
    check.at_most("rollup.finalise_every", every, HOUR, "1h");

    if log.filter.trim().is_empty() {
        check.fail(
            "log.filter",
            format!("must not be empty, got {:?}", log.filter),
        );
    }
    check.errors
}

/// Per-tenant quotas: a full batch must fit every bucket and share, or it would wait forever.
fn check_quotas(check: &mut Checker, quotas: &QuotaSettings, ingest: &IngestSettings) {
    check.at_least("quotas.readings_per_second", quotas.readings_per_second, 1);
    check.at_least(
        "quotas.api_requests_per_second",
        quotas.api_requests_per_second,
        1,
    );
    check.at_least("quotas.api_burst", quotas.api_burst, 1);
    check.at_least("quotas.max_connections", quotas.max_connections, 1);
    // Compared with the batch size only when that is valid itself (its own error says enough).
    let batch = ingest.max_batch_items;
    if (1..=ingest.inflight_window).contains(&batch) {
        let batch_label = format!("ingest.max_batch_items ({batch})");
        check.at_least_named(
            "quotas.readings_burst",
            quotas.readings_burst,
            batch,
            &batch_label,
        );
        check.at_least_named(
            "quotas.max_inflight",
            quotas.max_inflight,
            batch,
            &batch_label,
        );
    }
}

/// The PostgreSQL or ScyllaDB settings, checked only when they are used (`storage.backend`).
fn check_storage(check: &mut Checker, storage: &StorageSettings) {
    match storage.backend {
        StorageBackend::Embedded => {}
        StorageBackend::Postgres => check_postgres(check, storage),
        StorageBackend::Scylla => check_scylla(check, &storage.scylla),
    }
}

/// The ScyllaDB settings (`storage.backend = "scylla"`).
fn check_scylla(check: &mut Checker, scylla: &ScyllaSettings) {
    let points = scylla.contact_points.as_deref().unwrap_or_default();
    if points.split(',').all(|point| point.trim().is_empty()) {
        check.fail(
            "storage.scylla.contact_points",
            "must name at least one host:port when storage.backend is \"scylla\"".to_string(),
        );
    }
    let keyspace = &scylla.keyspace;
    let keyspace_ok = keyspace.len() <= 48
        && keyspace.starts_with(|c: char| c.is_ascii_lowercase())
        && keyspace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !keyspace_ok {
        check.fail(
            "storage.scylla.keyspace",
            format!("must be lowercase letters, digits and '_', start with a letter, at most 48 characters, got {keyspace:?}"),
        );
    }
    check.at_least(
        "storage.scylla.replication_factor",
        scylla.replication_factor,
        1,
    );
    check.positive("storage.scylla.request_timeout", scylla.request_timeout);
    check.positive("storage.scylla.connect_timeout", scylla.connect_timeout);
    if scylla.username.is_some() != scylla.password.is_some() {
        check.fail(
            "storage.scylla.password",
            "storage.scylla.username and storage.scylla.password are set together".to_string(),
        );
    }
    if scylla.tls_ca_file.is_some() && scylla.tls == PostgresTls::Disable {
        check.fail(
            "storage.scylla.tls_ca_file",
            "is set, but storage.scylla.tls is \"disable\"".to_string(),
        );
    }
}

/// The PostgreSQL settings (`storage.backend = "postgres"`).
fn check_postgres(check: &mut Checker, storage: &StorageSettings) {
    let postgres = &storage.postgres;
    match postgres.url.as_deref().map(str::trim) {
        None | Some("") => check.fail(
            "storage.postgres.url",
            "must be set when storage.backend is \"postgres\"".to_string(),
        ),
        Some(url) => check.url("storage.postgres.url", url),
    }
    if let Some(url) = postgres.migrate_url.as_deref() {
        check.url("storage.postgres.migrate_url", url);
    }
    let schema = &postgres.schema;
    let schema_ok = schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !schema_ok {
        check.fail(
            "storage.postgres.schema",
            format!("must be a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters), got {schema:?}"),
        );
    }
    check.at_least("storage.postgres.pool_size", postgres.pool_size, 1);
    check.at_most(
        "storage.postgres.pool_size",
        postgres.pool_size,
        1000,
        "1000",
    );
    check.positive("storage.postgres.connect_timeout", postgres.connect_timeout);
    check.positive(
        "storage.postgres.statement_timeout",
        postgres.statement_timeout,
    );
    if postgres.tls_ca_file.is_some() && postgres.tls == PostgresTls::Disable {
        check.fail(
            "storage.postgres.tls_ca_file",
            "is set, but storage.postgres.tls is \"disable\"".to_string(),
        );
    }
}

/// A value shown in an error message as it is written in TOML.
pub(crate) trait Shown: PartialOrd + Copy {
    fn shown(self) -> String;
}

impl Shown for u32 {
    fn shown(self) -> String {
        self.to_string()
    }
}

impl Shown for Duration {
    fn shown(self) -> String {
        values::format_duration(self)
    }
}

/// Collects the errors of one validation pass.
#[derive(Default)]
pub(crate) struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub(crate) fn fail(&mut self, field: &'static str, message: String) {
        self.errors.push(FieldError { field, message });
    }

    pub(crate) fn at_least<T: Shown>(&mut self, field: &'static str, value: T, min: T) {
        if value < min {
            self.fail(
                field,
                format!("must be >= {}, got {}", min.shown(), value.shown()),
            );
        }
    }

    /// `min_label` names the bound when it is another setting, e.g. `ingest.max_batch_items (500)`.
    fn at_least_named<T: Shown>(&mut self, field: &'static str, value: T, min: T, min_label: &str) {
        if value < min {
            self.fail(
                field,
                format!("must be >= {min_label}, got {}", value.shown()),
            );
        }
    }

    pub(crate) fn positive(&mut self, field: &'static str, value: Duration) {
        if value.is_zero() {
            self.fail(field, "must be > 0, got 0s".to_string());
        }
    }

    /// `max_label` names the bound when it is not a literal, e.g. `ingest.inflight_window (1024)`.
    pub(crate) fn at_most<T: Shown>(
        &mut self,
        field: &'static str,
        value: T,
        max: T,
        max_label: &str,
    ) {
        if value > max {
            self.fail(
                field,
                format!("must be <= {max_label}, got {}", value.shown()),
            );
        }
    }

    pub(crate) fn slug(&mut self, field: &'static str, value: &str) {
        let starts_well = value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        let chars_ok = value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(starts_well && chars_ok && value.len() <= MAX_SLUG_LEN) {
            self.fail(
                field,
                format!(
                    "must be 1 to {MAX_SLUG_LEN} characters of a-z, 0-9 and '-', starting with a letter or digit, got {value:?}"
                ),
            );
        }
    }

    /// Checks that a connection URL is not the output of `tally config`; the message never
    /// contains the URL (it may hold a password).
    pub(crate) fn url(&mut self, field: &'static str, url: &str) {
        if url.contains(REDACTED) {
            let message = format!(
                "holds the {REDACTED:?} placeholder of a redacted config; set the real password"
            );
            self.fail(field, message);
        }
    }

    /// Checks a set secret with `problem`; the message never contains the secret itself.
    pub(crate) fn secret(
        &mut self,
        field: &'static str,
        secret: Option<&str>,
        problem: impl FnOnce(&str) -> Option<String>,
    ) {
        let Some(secret) = secret else { return };
        if secret == REDACTED {
            let message = format!(
                "is the {REDACTED:?} placeholder of a redacted config; set the real secret or remove the key"
            );
            self.fail(field, message);
        } else if let Some(message) = problem(secret) {
            self.fail(field, message);
        }
    }
}

/// A change of valid settings, and the start of the one message it must produce.
#[cfg(test)]
pub(crate) type RejectedChange = (fn(&mut Settings), &'static str);

/// Asserts that each change of `cases`, validated by `errors_after`, fails with exactly one
/// message, starting with the expected one.
#[cfg(test)]
pub(crate) fn assert_each_fails_alone(
    cases: &[RejectedChange],
    errors_after: impl Fn(fn(&mut Settings)) -> Vec<String>,
) {
    for (change, expected) in cases {
        let errors = errors_after(*change);
        assert!(
            errors.len() == 1 && errors[0].starts_with(expected),
            "expected {expected:?}, got {errors:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The PostgreSQL settings of `settings`, with the backend switched to PostgreSQL and a URL.
    fn postgres(settings: &mut Settings) -> &mut crate::storage::PostgresSettings {
        settings.storage.backend = StorageBackend::Postgres;
        let postgres = &mut settings.storage.postgres;
        postgres
            .url
            .get_or_insert_with(|| "postgres://app@db/tally".to_string());
        postgres
    }

    #[test]
    fn postgres_settings_are_checked_only_for_the_postgres_backend() {
        assert_eq!(
            errors_after(|s| s.storage.postgres.pool_size = 0),
            Vec::<String>::new()
        );
        assert_eq!(
            errors_after(|s| {
                let _ = postgres(s);
            }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn scylla_settings_are_checked_for_the_scylla_backend() {
        type Change = fn(&mut crate::storage::ScyllaSettings);
        let scylla = |change: Change| {
            errors_after(|s| {
                s.storage.backend = StorageBackend::Scylla;
                s.storage.scylla.contact_points = Some("db-1:9042, db-2:9042".into());
                change(&mut s.storage.scylla);
            })
        };
        assert_eq!(scylla(|_| {}), Vec::<String>::new());
        #[rustfmt::skip]
        let cases: [(Change, &str); 7] = [
            (|s| s.contact_points = Some(" , ".into()), "storage.scylla.contact_points: must name at least one host:port"),
            (|s| s.keyspace = "tally-eu".into(), "storage.scylla.keyspace: must be lowercase letters"),
            (|s| s.keyspace = "a".repeat(49), "storage.scylla.keyspace: must be lowercase letters"),
            (|s| s.replication_factor = 0, "storage.scylla.replication_factor: must be >= 1, got 0"),
            (|s| s.request_timeout = Duration::ZERO, "storage.scylla.request_timeout: must be > 0, got 0s"),
            (|s| s.username = Some("tally".into()), "storage.scylla.password: storage.scylla.username and"),
            (|s| s.tls_ca_file = Some(PathBuf::from("/ca.pem")), "storage.scylla.tls_ca_file: is set, but storage.scylla.tls is \"disable\""),
        ];
        for (change, expected) in cases {
            let errors = scylla(change);
            assert!(
                errors.len() == 1 && errors[0].starts_with(expected),
                "expected {expected:?}, got {errors:?}"
            );
        }
        let unused = errors_after(|s| s.storage.scylla.keyspace = "Bad".into());
        assert_eq!(unused, Vec::<String>::new(), "checked only when used");
    }

    /// The messages of validating the defaults changed by `change`.
    fn errors_after(change: impl FnOnce(&mut Settings)) -> Vec<String> {
        let mut settings = Settings::default();
        change(&mut settings);
        validate(&settings)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(errors_after(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn every_bound_rejects_the_value_just_past_it() {
        type Change = fn(&mut Settings);
        #[rustfmt::skip]
        let cases: [(Change, &str); 58] = [
            (|s| s.node.node_id = String::new(), "node.node_id: must be 1 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit, got \"\""),
            (|s| s.node.node_id = "a".repeat(65), "node.node_id: must be 1 to 64"),
            (|s| s.node.node_id = "-edge".to_string(), "node.node_id: must be 1 to 64"),
            (|s| s.node.node_id = "edge_1".to_string(), "node.node_id: must be 1 to 64"),
            (|s| s.node.region = "EU".to_string(), "node.region: must be 1 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit, got \"EU\""),
            (|s| s.node.data_dir = PathBuf::new(), "node.data_dir: must not be empty, got \"\""),
            (|s| s.auth.admin_token = Some("x".repeat(15)), "auth.admin_token: must be at least 16 characters, got 15 characters"),
            (|s| s.auth.admin_token = Some(REDACTED.to_string()), "auth.admin_token: is the \"<redacted>\" placeholder"),
            (|s| s.auth.jwt_secret = Some("é".repeat(15)), "auth.jwt_secret: must be at least 32 bytes, got 30 bytes"),
            (|s| s.auth.jwt_secret = Some(REDACTED.to_string()), "auth.jwt_secret: is the \"<redacted>\" placeholder"),
            (|s| s.auth.token_ttl = Duration::from_secs(59), "auth.token_ttl: must be >= 1m, got 59s"),
            (|s| s.auth.token_ttl = 366 * DAY, "auth.token_ttl: must be <= 365d, got 8784h"),
            (|s| s.auth.jwt_leeway = Duration::from_secs(301), "auth.jwt_leeway: must be <= 5m, got 301s"),
            (|s| s.http.tls_key_file = Some(PathBuf::from("key.pem")), "http.tls_cert_file: and http.tls_key_file must be set together"),
            (|s| s.auth.jwt_hs256 = false, "auth.jwt_hs256: is false but none of auth.jwt_keys_dir, auth.jwks_file, auth.jwks_url is set"),
            (|s| s.auth.jwks_url = Some("http://idp.example.com/jwks".into()), "auth.jwks_url: must be https (http only to a loopback address)"),
            (|s| s.auth.jwks_url = Some("ftp://127.0.0.1/jwks".into()), "auth.jwks_url: must be an https URL"),
            (|s| s.auth.jwks_url = Some("http://127.0.0.1@idp.example.com/jwks".into()), "auth.jwks_url: must be https"),
            (|s| s.auth.jwks_refresh = Duration::from_millis(10), "auth.jwks_refresh: must be >= 1s"),
            (|s| s.http.connection_rate_per_source = 0, "http.connection_rate_per_source: must be >= 1, got 0"),
            (|s| s.http.connection_burst_per_source = 0, "http.connection_burst_per_source: must be >= 1, got 0"),
            (|s| s.ingest.inflight_window = 0, "ingest.inflight_window: must be >= 1, got 0"),
            (|s| s.ingest.inflight_window = 65537, "ingest.inflight_window: must be <= 65536, got 65537"),
            (|s| s.ingest.max_batch_items = 0, "ingest.max_batch_items: must be >= 1, got 0"),
            (|s| s.ingest.max_batch_items = 1025, "ingest.max_batch_items: must be <= ingest.inflight_window (1024), got 1025"),
            (|s| s.ingest.max_frame_bytes = 255, "ingest.max_frame_bytes: must be >= 256, got 255"),
            (|s| s.ingest.max_frame_bytes = MAX_FRAME_BYTES + 1, "ingest.max_frame_bytes: must be <= 16777216 (16 MiB), got 16777217"),
            (|s| s.ingest.max_count = 0, "ingest.max_count: must be >= 1, got 0"),
            (|s| s.ingest.max_future_skew = HOUR + Duration::from_secs(1), "ingest.max_future_skew: must be <= 1h, got 3601s"),
            (|s| s.ingest.hello_timeout = Duration::ZERO, "ingest.hello_timeout: must be > 0, got 0s"),
            (|s| s.ingest.sensor_timeout = Duration::from_millis(999), "ingest.sensor_timeout: must be >= 1s"),
            (|s| s.ingest.sensor_timeout = 7 * DAY + Duration::from_secs(1), "ingest.sensor_timeout: must be <= 7d"),
            (|s| s.ingest.node_inflight = 499, "ingest.node_inflight: must be >= 500, got 499"),
            (|s| s.quotas.readings_per_second = 0, "quotas.readings_per_second: must be >= 1, got 0"),
            (|s| s.quotas.readings_burst = 499, "quotas.readings_burst: must be >= ingest.max_batch_items (500), got 499"),
            (|s| s.quotas.api_burst = 0, "quotas.api_burst: must be >= 1, got 0"),
            (|s| s.quotas.max_connections = 0, "quotas.max_connections: must be >= 1, got 0"),
            (|s| s.quotas.max_inflight = 499, "quotas.max_inflight: must be >= ingest.max_batch_items (500), got 499"),
            (|s| s.persister.max_batch_rows = 0, "persister.max_batch_rows: must be >= 1, got 0"),
            (|s| s.persister.retry_for = 10 * MINUTE + Duration::from_secs(1), "persister.retry_for: must be <= 10m, got 601s"),
            (|s| s.storage.backend = StorageBackend::Postgres, "storage.postgres.url: must be set when storage.backend is \"postgres\""),
            (|s| postgres(s).url = Some(format!("postgres://app:{REDACTED}@db/t")), "storage.postgres.url: holds the \"<redacted>\" placeholder"),
            (|s| postgres(s).migrate_url = Some(format!("host=db password={REDACTED}")), "storage.postgres.migrate_url: holds the \"<redacted>\" placeholder"),
            (|s| postgres(s).schema = "Tally".to_string(), "storage.postgres.schema: must be a lowercase SQL identifier"),
            (|s| postgres(s).pool_size = 0, "storage.postgres.pool_size: must be >= 1, got 0"),
            (|s| postgres(s).statement_timeout = Duration::ZERO, "storage.postgres.statement_timeout: must be > 0, got 0s"),
            (|s| postgres(s).tls_ca_file = Some(PathBuf::from("/ca.pem")), "storage.postgres.tls_ca_file: is set, but storage.postgres.tls is \"disable\""),
            (|s| s.display.coalesce_interval = Duration::from_micros(999), "display.coalesce_interval: must be >= 1ms, got 999us"),
            (|s| s.display.coalesce_interval = Duration::from_millis(10_001), "display.coalesce_interval: must be <= 10s, got 10001ms"),
            (|s| s.display.inflight_frames = 0, "display.inflight_frames: must be >= 1, got 0"),
            (|s| s.rollup.finalise_every = Duration::from_millis(9), "rollup.finalise_every: must be >= 10ms, got 9ms"),
            (|s| s.rollup.finalise_every = HOUR + SECOND, "rollup.finalise_every: must be <= 1h, got 3601s"),
            (|s| s.display.inflight_frames = 65537, "display.inflight_frames: must be <= 65536, got 65537"),
            (|s| s.supervision.max_restarts = 0, "supervision.max_restarts: must be >= 1, got 0"),
            (|s| s.supervision.restart_window = Duration::ZERO, "supervision.restart_window: must be > 0, got 0s"),
            (|s| s.retention.sweep_interval = Duration::from_millis(999), "retention.sweep_interval: must be >= 1s"),
            (|s| s.retention.readings = Duration::ZERO, "retention.readings: must be > 0, got 0s"),
            (|s| s.retention.erasure_confirm_ttl = HOUR + SECOND, "retention.erasure_confirm_ttl: must be <= 1h"),
        ];
        assert_each_fails_alone(&cases, errors_after);
    }

    #[test]
    fn values_at_the_bounds_are_valid() {
        let errors = errors_after(|s| {
            s.node.node_id = "a".repeat(64);
            s.node.region = "9-eu".to_string();
            s.auth.admin_token = Some("é".repeat(16));
            s.auth.jwt_secret = Some("x".repeat(32));
            s.auth.token_ttl = 365 * DAY;
            s.ingest.inflight_window = 65536;
            s.ingest.max_batch_items = 65536;
            s.ingest.node_inflight = 65536;
            s.ingest.max_frame_bytes = MAX_FRAME_BYTES;
            s.ingest.max_future_skew = HOUR;
            s.quotas.readings_per_second = 1;
            s.quotas.readings_burst = 65536;
            s.quotas.api_requests_per_second = 1;
            s.quotas.api_burst = 1;
            s.quotas.max_connections = 1;
            s.quotas.max_inflight = 65536;
            s.display.coalesce_interval = Duration::from_millis(1);
            s.display.inflight_frames = 65536;
        });
        assert_eq!(errors, Vec::<String>::new());
    }

    #[test]
    fn secrets_never_appear_in_messages() {
        let errors = errors_after(|s| s.auth.admin_token = Some("hunter2".to_string()));
        assert!(!errors[0].contains("hunter2"), "{errors:?}");
    }
}
