//! Settings of a tally node: an optional TOML file plus `TALLY_*` environment overrides,
//! validated as a whole.
//!
//! Loading runs in three steps: the sources are merged (the file, then the environment, where
//! `TALLY_NODE__HTTP_ADDR` overrides `[node] http_addr`), deserialized into private builders that
//! reject unknown keys and fill in defaults, then checked against every documented bound with
//! all failures reported together, each naming its field by dotted path.
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
//! [`reference_markdown`] renders the table of every key, its variable, default and meaning.

mod builder;
mod error;
mod reference;
mod settings;
mod sources;
mod validate;
mod values;

pub use error::{ConfigError, FieldError};
pub use reference::reference_markdown;
pub use settings::{
    AuthSettings, DisplaySettings, IngestSettings, LogFormat, LogSettings, NodeSettings,
    PersisterSettings, REDACTED, Settings, SupervisionSettings,
};
