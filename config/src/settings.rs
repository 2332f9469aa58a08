//! The validated settings of a tally node and their documented defaults.
//!
//! The `///` comment on each section field below is the text of the configuration reference
//! (`reference.rs` parses this file), so keep every field to the form
//! `/// meaning` followed by `pub name: Type,`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::builder;
use crate::error::ConfigError;
use crate::sources::TomlSource;
use crate::values;

/// Placeholder written instead of a secret by [`Settings::to_toml_redacted`].
pub const REDACTED: &str = "<redacted>";

/// The validated configuration of a tally node.
///
/// Build it with [`Settings::load`] or [`Settings::from_sources`]; both reject invalid values, so
/// code that holds a `Settings` may rely on every documented bound.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Settings {
    /// Identity and addresses of this node.
    pub node: NodeSettings,
    /// Tokens and secrets of the HTTP API.
    pub auth: AuthSettings,
    /// Limits on what sensors may send.
    pub ingest: IngestSettings,
    /// Writes of readings to the store.
    pub persister: PersisterSettings,
    /// Fan-out of occupancy deltas to displays.
    pub display: DisplaySettings,
    /// Restart intensity of supervised actors.
    pub supervision: SupervisionSettings,
    /// Logging.
    pub log: LogSettings,
}

/// Identity and addresses of this node (`[node]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeSettings {
    /// This node's id: a slug of a-z, 0-9 and '-', 1 to 64 characters, starting with a letter or digit.
    pub node_id: String,
    /// Data-residency region this node serves (same slug rules as node_id).
    pub region: String,
    /// Directory of the embedded store and generated secrets; must not be empty.
    pub data_dir: PathBuf,
    /// Address of the HTTP/WebSocket gateway; port 0 picks a free port.
    pub http_addr: SocketAddr,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            node_id: "node-1".to_string(),
            region: "local".to_string(),
            data_dir: PathBuf::from("./data"),
            http_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
        }
    }
}

/// Tokens and secrets of the HTTP API (`[auth]`).
///
/// `Debug` prints `<redacted>` instead of a secret, so settings can be logged.
#[derive(Clone, PartialEq, Serialize)]
pub struct AuthSettings {
    /// Bearer token for registry/admin endpoints, at least 16 characters; when unset the node generates one in data_dir and logs where.
    pub admin_token: Option<String>,
    /// HS256 secret for display/read JWTs, at least 32 bytes; when unset the node generates one in data_dir.
    pub jwt_secret: Option<String>,
    /// Lifetime of JWTs minted by POST /v1/tenants/{tenant}/tokens; 1m to 365d.
    #[serde(serialize_with = "values::serialize_duration")]
    pub token_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            admin_token: None,
            jwt_secret: None,
            token_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |secret: &Option<String>| secret.as_ref().map(|_| REDACTED);
        f.debug_struct("AuthSettings")
            .field("admin_token", &redact(&self.admin_token))
            .field("jwt_secret", &redact(&self.jwt_secret))
            .field("token_ttl", &self.token_ttl)
            .finish()
    }
}

/// Limits on what sensors may send (`[ingest]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestSettings {
    /// Readings a sensor connection may have unacknowledged before the gateway stops reading its socket; 1 to 65536.
    pub inflight_window: u32,
    /// Readings all sensor connections of the node may have unacknowledged together; past it, connections wait (TCP pushes back) instead of queueing in actors; at least max_batch_items.
    pub node_inflight: u32,
    /// Most readings in one frame or HTTP batch; 1 to inflight_window.
    pub max_batch_items: u32,
    /// Largest accepted frame or HTTP body in bytes; 256 to 16777216 (16 MiB).
    pub max_frame_bytes: u32,
    /// Largest people count a reading may carry; at least 1.
    pub max_count: u32,
    /// How far ahead of the node clock a reading's timestamp may be; at most 1h.
    #[serde(serialize_with = "values::serialize_duration")]
    pub max_future_skew: Duration,
    /// Time a new sensor connection has to authenticate; more than 0.
    #[serde(serialize_with = "values::serialize_duration")]
    pub hello_timeout: Duration,
    /// A sensor not heard from for this long stops counting in its room and is reported stale; 1s to 7d.
    #[serde(serialize_with = "values::serialize_duration")]
    pub sensor_timeout: Duration,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            inflight_window: 1024,
            node_inflight: 16_384,
            max_batch_items: 500,
            max_frame_bytes: 256 * 1024,
            max_count: 100_000,
            max_future_skew: Duration::from_secs(30),
            hello_timeout: Duration::from_secs(10),
            sensor_timeout: Duration::from_secs(600),
        }
    }
}

/// Writes of readings to the store (`[persister]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersisterSettings {
    /// Most rows written in one group commit; at least 1.
    pub max_batch_rows: u32,
}

impl Default for PersisterSettings {
    fn default() -> Self {
        PersisterSettings {
            max_batch_rows: 4096,
        }
    }
}

/// Fan-out of occupancy deltas to displays (`[display]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisplaySettings {
    /// An office publishes at most one delta per interval; 1ms to 10s.
    #[serde(serialize_with = "values::serialize_duration")]
    pub coalesce_interval: Duration,
    /// Frames queued per display connection before it is marked stale and later resynced with a snapshot; at least 2.
    pub queue_capacity: u32,
}

impl Default for DisplaySettings {
    fn default() -> Self {
        DisplaySettings {
            coalesce_interval: Duration::from_millis(50),
            queue_capacity: 64,
        }
    }
}

/// Restart intensity of supervised actors (`[supervision]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisionSettings {
    /// Restarts of one child allowed within restart_window before the failure escalates; at least 1.
    pub max_restarts: u32,
    /// The window for max_restarts; more than 0.
    #[serde(serialize_with = "values::serialize_duration")]
    pub restart_window: Duration,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            max_restarts: 5,
            restart_window: Duration::from_secs(10),
        }
    }
}

/// Logging (`[log]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSettings {
    /// tracing EnvFilter directive, such as "info" or "tally_gateway=debug,info"; must not be empty.
    pub filter: String,
    /// Log line format: "text" or "json".
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            filter: "info,fjall=warn,lsm_tree=warn".to_string(),
            format: LogFormat::Text,
        }
    }
}

/// Format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Settings {
    /// Loads from the optional file then the process environment (`TALLY_*`).
    ///
    /// A variable `TALLY_<SECTION>__<FIELD>` overrides `[section] field`, e.g.
    /// `TALLY_NODE__HTTP_ADDR=127.0.0.1:9000`; keys not set anywhere take their documented default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] if `file` cannot be read, [`ConfigError::Parse`] for bad TOML, unknown
    /// keys or values of the wrong type, [`ConfigError::Invalid`] listing every out-of-bounds value.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let toml = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                    path: path.to_path_buf(),
                    error,
                })?;
                Some(TomlSource {
                    text,
                    origin: format!("TOML file {}", path.display()),
                })
            }
            None => None,
        };
        let env = std::env::vars_os().map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        });
        builder::load(toml, env)
    }

    /// Same as [`Settings::load`], but with explicit TOML text and explicit env pairs (for tests; no global state).
    ///
    /// # Errors
    ///
    /// As [`Settings::load`], except that there is no file to read.
    pub fn from_sources(
        toml: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let toml = toml.map(|text| TomlSource {
            text: text.to_string(),
            origin: "TOML text".to_string(),
        });
        builder::load(toml, env)
    }

    /// File in `node.data_dir` holding the generated admin token when `auth.admin_token` is unset.
    pub fn admin_token_file(&self) -> PathBuf {
        self.node.data_dir.join("admin_token")
    }

    /// File in `node.data_dir` holding the generated JWT secret when `auth.jwt_secret` is unset.
    pub fn jwt_secret_file(&self) -> PathBuf {
        self.node.data_dir.join("jwt_secret")
    }

    /// The effective configuration as TOML, secrets replaced by `"<redacted>"` (for `tally config`).
    ///
    /// Unset secrets are left out, as in the input. The output parses back with
    /// [`Settings::from_sources`] once the real secrets are supplied again (a `"<redacted>"`
    /// secret is rejected rather than used).
    ///
    /// # Panics
    ///
    /// If `node.data_dir` is not valid UTF-8, which loaded settings never are (they come from text).
    pub fn to_toml_redacted(&self) -> String {
        let mut redacted = self.clone();
        for secret in [
            &mut redacted.auth.admin_token,
            &mut redacted.auth.jwt_secret,
        ] {
            if secret.is_some() {
                *secret = Some(REDACTED.to_string());
            }
        }
        toml::to_string(&redacted)
            .expect("settings serialize to toml: every value is UTF-8 text, an integer or a table")
    }
}
