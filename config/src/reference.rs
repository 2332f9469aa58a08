//! The configuration reference, read from the settings types themselves: a Markdown table of every
//! key for the README, and the JSON Schema of the configuration file for operators' tools.

use serde_json::Value;

use crate::documented::{Describe, Field};
use crate::settings::Settings;
use crate::sources::env_var_name;

/// JSON Schema (draft 2020-12) of the configuration file: every table and key with its type,
/// meaning and default; unknown keys are not allowed.
///
/// ```
/// let schema = tally_config::json_schema();
/// let window = &schema["properties"]["ingest"]["properties"]["inflight_window"];
/// assert_eq!(window["type"], "integer");
/// assert_eq!(window["default"], 1024);
/// ```
pub fn json_schema() -> Value {
    let mut schema = Settings::schema();
    let root = schema
        .as_object_mut()
        .expect("the settings schema is an object");
    root.insert(
        "$schema".to_string(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    root.insert("title".to_string(), "tally configuration".into());
    root.insert(
        "description".to_string(),
        "Configuration file of a tally node; every key can be overridden by its TALLY_<TABLE>__<KEY> environment variable."
            .into(),
    );
    schema
}

/// Markdown table of every setting: key, environment variable, default, meaning.
///
/// `config/README-reference.md` holds its output; a test fails when the two differ.
pub fn reference_markdown() -> String {
    let defaults = default_table();
    let mut out = String::from(
        "Every key can be set in the TOML file given to the node, or overridden by its environment \
         variable. Durations are written like `50ms`, `10s` or `24h`.\n\n\
         | key | env variable | default | meaning |\n\
         |---|---|---|---|\n",
    );
    for (key, doc) in documented_keys() {
        let default = default_of(&defaults, &key);
        let meaning = doc.replace('|', "\\|");
        out.push_str(&format!(
            "| `{key}` | `{}` | {default} | {meaning} |\n",
            env_var_name(&key)
        ));
    }
    out
}

/// The dotted key and doc of every plain value in the settings, in declaration order.
fn documented_keys() -> Vec<(String, String)> {
    fn walk(prefix: &str, fields: Vec<Field>, keys: &mut Vec<(String, String)>) {
        for field in fields {
            let key = format!("{prefix}{}", field.name);
            if field.fields.is_empty() {
                keys.push((key, field.doc));
            } else {
                walk(&format!("{key}."), field.fields, keys);
            }
        }
    }
    let mut keys = Vec::new();
    walk("", Settings::fields(), &mut keys);
    keys
}

/// `Settings::default()` as a TOML table.
fn default_table() -> toml::Table {
    toml::Table::try_from(Settings::default()).expect("default settings serialize to a TOML table")
}

/// The default at a dotted key as TOML, or "unset" for an absent optional value.
fn default_of(defaults: &toml::Table, key: &str) -> String {
    let mut value = None;
    let mut table = Some(defaults);
    for part in key.split('.') {
        value = table.and_then(|table| table.get(part));
        table = value.and_then(toml::Value::as_table);
    }
    match value {
        Some(value) => format!("`{value}`"),
        None => "unset".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGENERATE: &str = "regenerate with `cargo run -p tally-config --example reference > config/README-reference.md`";

    #[test]
    fn readme_reference_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README-reference.md");
        let written = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {path}: {error}; {REGENERATE}"));
        assert!(
            written == reference_markdown(),
            "{path} is out of date: {REGENERATE}"
        );
    }

    #[test]
    fn top_level_readme_carries_the_reference() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
        assert!(
            readme.contains(&reference_markdown()),
            "README.md's configuration section is out of date: paste config/README-reference.md into it"
        );
    }

    /// The dotted keys of every plain value in `table`.
    fn serialized_keys(prefix: &str, table: &toml::Table, keys: &mut Vec<String>) {
        for (name, value) in table {
            match value.as_table() {
                Some(table) => serialized_keys(&format!("{prefix}{name}."), table, keys),
                None => keys.push(format!("{prefix}{name}")),
            }
        }
    }

    #[test]
    fn every_serialized_setting_is_documented_and_every_documented_key_exists() {
        let documented: Vec<String> = documented_keys().into_iter().map(|(key, _)| key).collect();
        let mut serialized = Vec::new();
        serialized_keys("", &default_table(), &mut serialized);
        for key in &serialized {
            assert!(
                documented.contains(key),
                "{key} has no row in the reference"
            );
        }
        // The secrets, the PostgreSQL URLs and the CA file are unset by default, so they are
        // not serialized.
        let unset = [
            "storage.postgres.url",
            "storage.postgres.migrate_url",
            "storage.postgres.tls_ca_file",
            "storage.scylla.contact_points",
            "storage.scylla.local_datacenter",
            "storage.scylla.username",
            "storage.scylla.password",
            "storage.scylla.tls_ca_file",
            "auth.admin_token",
            "auth.jwt_secret",
            "auth.metrics_token",
            "auth.jwt_keys_dir",
            "auth.jwks_file",
            "auth.jwks_url",
            "auth.jwt_issuer",
            "auth.jwt_audience",
            "http.tls_cert_file",
            "http.tls_key_file",
            "cluster.redis_url",
            "cluster.advertise_addr",
            "cluster.http_advertise_addr",
            "cluster.cookie",
            "cluster.cookie_file",
            "cluster.tls_cert_file",
            "cluster.tls_key_file",
            "cluster.tls_ca_file",
            "tracing.otlp_endpoint",
            "tracing.otlp_ca_file",
        ];
        assert_eq!(documented.len(), serialized.len() + unset.len());
        for key in unset {
            assert!(documented.iter().any(|documented| documented == key));
        }
    }

    #[test]
    fn every_documented_key_is_accepted_by_the_loader() {
        let defaults = default_table();
        for (key, _) in documented_keys() {
            let (table, field) = key.rsplit_once('.').unwrap();
            let value = match (key.as_str(), default_of(&defaults, &key).as_str()) {
                // A URL, not any text.
                ("tracing.otlp_endpoint", _) => "\"http://127.0.0.1:4318/v1/traces\"".to_string(),
                ("auth.jwks_url", _) => "\"https://idp.example.com/jwks\"".to_string(),
                (_, "unset") => "\"0123456789abcdef0123456789abcdef\"".to_string(),
                (_, default) => default.trim_matches('`').to_string(),
            };
            let mut toml = format!("[{table}]\n{field} = {value}\n");
            // Settings that only come in pairs.
            let partner = match key.as_str() {
                "http.tls_cert_file" => Some("tls_key_file"),
                "http.tls_key_file" => Some("tls_cert_file"),
                _ => None,
            };
            if let Some(partner) = partner {
                toml.push_str(&format!("{partner} = {value}\n"));
            }
            // A CA file only goes with an https:// collector.
            if key == "tracing.otlp_ca_file" {
                toml.push_str("otlp_endpoint = \"https://collector:4318/v1/traces\"\n");
            }
            let loaded = Settings::from_sources(Some(&toml), []);
            assert!(loaded.is_ok(), "{key}: {loaded:?}");
        }
    }

    #[test]
    fn schema_describes_every_documented_key() {
        let schema = json_schema();
        assert_eq!(schema["additionalProperties"], false);
        for (key, doc) in documented_keys() {
            let property = key
                .split('.')
                .fold(&schema, |schema, part| &schema["properties"][part]);
            assert_eq!(property["description"], doc, "{key}");
        }
        let format = &schema["properties"]["log"]["properties"]["format"];
        assert_eq!(format["enum"], serde_json::json!(["text", "json"]));
        assert_eq!(format["default"], "text");
    }
}
