//! Loading settings from TOML text, `TALLY_*` variables and files, through the public API.

use std::time::Duration;

use tally_config::{ConfigError, LogFormat, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn parse_error(toml: Option<&str>, pairs: &[(&str, &str)]) -> String {
    match Settings::from_sources(toml, env(pairs)) {
        Err(ConfigError::Parse { message }) => message,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn no_sources_give_the_defaults() {
    assert_eq!(
        Settings::from_sources(None, []).unwrap(),
        Settings::default()
    );
    assert_eq!(
        Settings::from_sources(Some(""), []).unwrap(),
        Settings::default()
    );
}

#[test]
fn toml_overrides_defaults_and_leaves_the_rest() {
    let toml = r#"
        [node]
        node_id = "edge-7"
        http_addr = "0.0.0.0:0"

        [ingest]
        inflight_window = 2048

        [log]
        format = "json"
    "#;
    let settings = Settings::from_sources(Some(toml), []).unwrap();
    let mut expected = Settings::default();
    expected.node.node_id = "edge-7".to_string();
    expected.node.http_addr = "0.0.0.0:0".parse().unwrap();
    expected.ingest.inflight_window = 2048;
    expected.log.format = LogFormat::Json;
    assert_eq!(settings, expected);
}

#[test]
fn env_overrides_beat_toml() {
    let toml = "[ingest]\ninflight_window = 2048\nmax_count = 7";
    let pairs = [
        ("TALLY_INGEST__INFLIGHT_WINDOW", "4096"),
        ("TALLY_NODE__HTTP_ADDR", "127.0.0.1:9000"),
        ("TALLY_LOG__FORMAT", "json"),
        ("TALLY_CONFIG", "/etc/tally.toml"),
        ("PATH", "/usr/bin"),
    ];
    let settings = Settings::from_sources(Some(toml), env(&pairs)).unwrap();
    assert_eq!(settings.ingest.inflight_window, 4096);
    assert_eq!(settings.ingest.max_count, 7);
    assert_eq!(settings.node.http_addr, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(settings.log.format, LogFormat::Json);
}

#[test]
fn env_text_is_kept_as_text_for_strings() {
    let pairs = [
        ("TALLY_AUTH__ADMIN_TOKEN", "0123456789012345"),
        ("TALLY_NODE__NODE_ID", "42"),
    ];
    let settings = Settings::from_sources(None, env(&pairs)).unwrap();
    assert_eq!(
        settings.auth.admin_token.as_deref(),
        Some("0123456789012345")
    );
    assert_eq!(settings.node.node_id, "42");
}

#[test]
fn durations_parse_from_humantime_text() {
    let toml = "[display]\ncoalesce_interval = \"250ms\"\n[auth]\ntoken_ttl = \"1h 30m\"";
    let pairs = [("TALLY_INGEST__MAX_FUTURE_SKEW", "2m")];
    let settings = Settings::from_sources(Some(toml), env(&pairs)).unwrap();
    assert_eq!(
        settings.display.coalesce_interval,
        Duration::from_millis(250)
    );
    assert_eq!(settings.auth.token_ttl, Duration::from_secs(90 * 60));
    assert_eq!(settings.ingest.max_future_skew, Duration::from_secs(120));
}

#[test]
fn unknown_toml_key_is_an_error_naming_it() {
    let message = parse_error(Some("[ingest]\nmax_batch = 3"), &[]);
    assert!(
        message.starts_with("ingest.max_batch: unknown key"),
        "{message}"
    );
    assert!(
        message.contains("max_batch_items"),
        "lists the expected keys: {message}"
    );
    assert!(message.contains("(in TOML text)"), "{message}");

    let message = parse_error(Some("[ingestion]\nmax_count = 3"), &[]);
    assert!(message.starts_with("ingestion: unknown key"), "{message}");
}

#[test]
fn unknown_env_key_is_an_error_naming_it() {
    let message = parse_error(None, &[("TALLY_INGEST__MAX_BATCH", "3")]);
    assert!(
        message.starts_with("ingest.max_batch: unknown key"),
        "{message}"
    );
}

#[test]
fn bad_env_value_names_the_key_and_the_variable() {
    let message = parse_error(
        Some("[ingest]\ninflight_window = 2048"),
        &[("TALLY_INGEST__INFLIGHT_WINDOW", "lots")],
    );
    assert!(message.starts_with("ingest.inflight_window: "), "{message}");
    assert!(message.contains("\"lots\""), "{message}");
    assert!(
        message.ends_with("(in environment variable TALLY_INGEST__INFLIGHT_WINDOW)"),
        "{message}"
    );

    let message = parse_error(None, &[("TALLY_DISPLAY__COALESCE_INTERVAL", "soon")]);
    assert!(
        message.starts_with("display.coalesce_interval: "),
        "{message}"
    );
    assert!(
        message.contains("TALLY_DISPLAY__COALESCE_INTERVAL"),
        "{message}"
    );
}

#[test]
fn bad_toml_value_names_the_key() {
    let message = parse_error(Some("[node]\nhttp_addr = \"localhost\""), &[]);
    assert!(message.starts_with("node.http_addr: "), "{message}");
    assert!(message.contains("\"localhost\""), "{message}");
    let message = parse_error(None, &[("TALLY_LOG__FORMAT", "xml")]);
    assert!(
        message.starts_with("log.format: unknown value \"xml\", expected one of: text, json"),
        "{message}"
    );
    let message = parse_error(Some("[ingest]\nmax_count = -1"), &[]);
    assert!(message.starts_with("ingest.max_count: "), "{message}");
}

#[test]
fn toml_syntax_error_names_the_source() {
    let message = parse_error(Some("[node\nnode_id = 1"), &[]);
    assert!(message.starts_with("TOML text: "), "{message}");
}

#[test]
fn several_invalid_fields_are_reported_together() {
    let toml = r#"
        [node]
        node_id = "Node_1"
        [ingest]
        max_batch_items = 5000
        [display]
        coalesce_interval = "0ms"
    "#;
    let pairs = [("TALLY_LOG__FILTER", " ")];
    let Err(ConfigError::Invalid(errors)) = Settings::from_sources(Some(toml), env(&pairs)) else {
        panic!("expected invalid settings");
    };
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "node.node_id: must be 1 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit, got \"Node_1\"",
            "ingest.max_batch_items: must be <= ingest.inflight_window (1024), got 5000",
            "display.coalesce_interval: must be >= 1ms, got 0s",
            "log.filter: must not be empty, got \" \"",
        ]
    );
    let display = ConfigError::Invalid(errors).to_string();
    assert_eq!(display.lines().count(), 5, "{display}");
}

#[test]
fn load_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.toml");
    std::fs::write(&path, "[persister]\nmax_batch_rows = 17\n").unwrap();
    assert_eq!(
        Settings::load(Some(&path))
            .unwrap()
            .persister
            .max_batch_rows,
        17
    );
}

#[test]
fn load_names_the_file_in_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    let error = Settings::load(Some(&path)).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );

    std::fs::write(&path, "[node]\nnode_idd = \"x\"\n").unwrap();
    let error = Settings::load(Some(&path)).unwrap_err().to_string();
    assert!(
        error.contains(&format!("(in TOML file {})", path.display())),
        "{error}"
    );
}
