//! `Settings::to_toml_redacted`: secrets hidden, everything else round-trips through `from_sources`.

use std::time::Duration;

use tally_config::{ConfigError, LogFormat, PostgresTls, REDACTED, Settings, StorageBackend};

const ADMIN_TOKEN: &str = "admin-token-0123456789";
const JWT_SECRET: &str = "jwt-secret-0123456789abcdef0123456789";
const PG_PASSWORD: &str = "pg-password-0123";
const PG_URL: &str = "postgres://tally_app:pg-password-0123@db.internal:5432/tally";

/// Settings with every field away from its default, secrets included.
fn customized() -> Settings {
    let mut settings = Settings::default();
    settings.node.node_id = "edge-7".to_string();
    settings.node.region = "eu-west".to_string();
    settings.node.data_dir = "/var/lib/tally".into();
    settings.node.http_addr = "[::1]:0".parse().unwrap();
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_string());
    settings.auth.jwt_secret = Some(JWT_SECRET.to_string());
    settings.auth.token_ttl = Duration::from_secs(90 * 60);
    settings.ingest.inflight_window = 2048;
    settings.ingest.max_batch_items = 100;
    settings.ingest.max_frame_bytes = 1 << 20;
    settings.ingest.max_count = 500;
    settings.ingest.max_future_skew = Duration::from_secs(5);
    settings.ingest.hello_timeout = Duration::from_millis(2500);
    settings.storage.backend = StorageBackend::Postgres;
    settings.storage.postgres.url = Some(PG_URL.to_string());
    settings.storage.postgres.migrate_url =
        Some("host=db user=owner password=pg-password-0123".into());
    settings.storage.postgres.schema = "tally_eu".to_string();
    settings.storage.postgres.pool_size = 4;
    settings.storage.postgres.statement_timeout = Duration::from_secs(3);
    settings.storage.postgres.tls = PostgresTls::Require;
    settings.storage.postgres.tls_ca_file = Some("/etc/tally/ca.pem".into());
    settings.persister.max_batch_rows = 128;
    settings.persister.retry_for = Duration::from_secs(5);
    settings.display.coalesce_interval = Duration::from_millis(250);
    settings.display.inflight_frames = 8;
    settings.supervision.max_restarts = 3;
    settings.supervision.restart_window = Duration::from_secs(60);
    settings.log.filter = "tally_gateway=debug,info".to_string();
    settings.log.format = LogFormat::Json;
    settings
}

#[test]
fn redacted_toml_hides_secrets() {
    let toml = customized().to_toml_redacted();
    assert!(!toml.contains(ADMIN_TOKEN), "{toml}");
    assert!(!toml.contains(JWT_SECRET), "{toml}");
    assert!(!toml.contains(PG_PASSWORD), "{toml}");
    assert!(
        toml.contains(&format!(
            "url = \"postgres://tally_app:{REDACTED}@db.internal:5432/tally\""
        )),
        "{toml}"
    );
    assert!(
        toml.contains(&format!("admin_token = \"{REDACTED}\"")),
        "{toml}"
    );
    assert!(
        toml.contains(&format!("jwt_secret = \"{REDACTED}\"")),
        "{toml}"
    );
    assert!(toml.contains("token_ttl = \"90m\""), "{toml}");
}

#[test]
fn redacted_toml_round_trips_once_secrets_are_supplied_again() {
    let original = customized();
    let toml = original.to_toml_redacted();
    let secrets = [
        (
            "TALLY_AUTH__ADMIN_TOKEN".to_string(),
            ADMIN_TOKEN.to_string(),
        ),
        ("TALLY_AUTH__JWT_SECRET".to_string(), JWT_SECRET.to_string()),
        (
            "TALLY_STORAGE__POSTGRES__URL".to_string(),
            PG_URL.to_string(),
        ),
        (
            "TALLY_STORAGE__POSTGRES__MIGRATE_URL".to_string(),
            "host=db user=owner password=pg-password-0123".to_string(),
        ),
    ];
    assert_eq!(
        Settings::from_sources(Some(&toml), secrets).unwrap(),
        original
    );
}

#[test]
fn redacted_secrets_are_not_accepted_as_secrets() {
    let toml = customized().to_toml_redacted();
    let Err(ConfigError::Invalid(errors)) = Settings::from_sources(Some(&toml), []) else {
        panic!("a redacted config must not load as is");
    };
    let fields: Vec<&str> = errors.iter().map(|error| error.field).collect();
    assert_eq!(
        fields,
        [
            "storage.postgres.url",
            "storage.postgres.migrate_url",
            "auth.admin_token",
            "auth.jwt_secret"
        ]
    );
}

#[test]
fn defaults_round_trip_and_unset_secrets_stay_unset() {
    let toml = Settings::default().to_toml_redacted();
    assert!(
        !toml.contains("admin_token") && !toml.contains("jwt_secret"),
        "{toml}"
    );
    assert_eq!(
        Settings::from_sources(Some(&toml), []).unwrap(),
        Settings::default()
    );
}

#[test]
fn debug_output_hides_secrets() {
    let debug = format!("{:?}", customized());
    assert!(
        !debug.contains(ADMIN_TOKEN) && !debug.contains(JWT_SECRET) && !debug.contains(PG_PASSWORD),
        "{debug}"
    );
    assert!(debug.contains(REDACTED), "{debug}");
}
