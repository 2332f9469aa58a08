//! Settings of a tally node: an optional TOML file plus `TALLY_*` environment overrides,
//! validated as a whole.
//!
//! Loading runs in three steps: the sources are merged (the file, then the environment, where
//! `TALLY_NODE__HTTP_ADDR` overrides `[node] http_addr`), deserialized into [`Settings`], whose
//! tables reject unknown keys and fill in defaults, then checked against every documented bound
//! with all failures reported together, each naming its field by dotted path.
//!
//! ```
//! let settings = tally_config::Settings::from_sources(
//!     Some("[ingest]\ninflight_window = 2048"),
//!     [("TALLY_NODE__HTTP_ADDR".to_string(), "127.0.0.1:9000".to_string())],
//! )?;
//! assert_eq!(settings.ingest.inflight_window, 2048);
//! assert_eq!(settings.node.http_addr.port(), 9000);
//! # Ok::<(), tally_config::ConfigError>(())
//! ```
//!
//! [`reference_markdown`] renders the table of every key, its variable, default and meaning;
//! [`json_schema`] gives the JSON Schema of the file. Both are read from the settings types: the
//! `///` comment on a field is its meaning, `Default` gives its default.
//!
//! # Adding a section
//!
//! A new table, say `[storage]`, takes three edits:
//!
//! 1. In `settings.rs`, a struct inside `settings_table! { … }` with a `///` comment on every
//!    field (it becomes the reference row and the schema's description) and an `impl Default`
//!    (the defaults). Special value forms go on the field: `#[serde(with = "values::duration")]`
//!    for durations, `#[serde(deserialize_with = "values::u32_from_number_or_text")]` for numbers
//!    (environment values arrive as text). A sub-table such as `[storage.postgres]` is a field
//!    whose type is another `settings_table!` struct; an enum of values implements `Describe`
//!    like `LogFormat`.
//! 2. One documented field in `Settings`; `TALLY_STORAGE__BACKEND` then overrides it.
//! 3. Its checks in `validate.rs` (the destructuring of `Settings` there fails to compile until
//!    the new section is named).
//!
//! Then regenerate `config/README-reference.md` and paste it into the root README, as the
//! failing test says. Secrets also go into `Settings::to_toml_redacted` and a hand-written `Debug`.

mod cluster;
mod documented;
mod error;
mod load;
mod metrics;
mod quotas;
mod reference;
mod retention;
mod rollup;
mod settings;
mod sources;
mod storage;
mod tracing;
mod validate;
mod values;

pub use cluster::ClusterSettings;
pub use error::{ConfigError, FieldError};
pub use metrics::MetricsSettings;
pub use quotas::QuotaSettings;
pub use reference::{json_schema, reference_markdown};
pub use retention::RetentionSettings;
pub use rollup::RollupSettings;
pub use settings::{
    AuthSettings, DisplaySettings, HttpSettings, IngestSettings, LogFormat, LogSettings,
    NodeSettings, PersisterSettings, REDACTED, Settings, SupervisionSettings,
};
pub use storage::{
    EmbeddedSettings, PostgresSettings, PostgresTls, ScyllaConsistency, ScyllaSettings,
    StorageBackend, StorageSettings, redact_url,
};
pub use tracing::TracingSettings;
pub use values::format_duration;
