//! Step two and three of loading: deserialize the merged sources into private builders (unknown
//! keys rejected, defaults filled in), then check every documented bound, reporting all
//! failures at once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use serde::Deserialize;

use crate::error::ConfigError;
use crate::settings::{
    AuthSettings, DisplaySettings, IngestSettings, LogFormat, LogSettings, NodeSettings,
    PersisterSettings, Settings, SupervisionSettings,
};
use crate::sources::{self, EnvVar, TomlSource};
use crate::validate::validate;
use crate::values::{socket_addr_from_text, u32_from_number_or_text};

/// Merges the TOML source and then the environment overrides, and builds validated settings.
pub(crate) fn load(
    toml: Option<TomlSource>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let mut figment = Figment::new();
    if let Some(toml) = toml {
        figment = figment.merge(toml);
    }
    for var in env
        .into_iter()
        .filter_map(|(name, value)| EnvVar::parse(name, value))
    {
        figment = figment.merge(var);
    }
    let builder: SettingsBuilder = figment.extract().map_err(|error| ConfigError::Parse {
        message: sources::describe(error),
    })?;
    builder.build_and_validate()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SettingsBuilder {
    node: NodeBuilder,
    auth: AuthBuilder,
    ingest: IngestBuilder,
    persister: PersisterBuilder,
    display: DisplayBuilder,
    supervision: SupervisionBuilder,
    log: LogBuilder,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NodeBuilder {
    node_id: String,
    region: String,
    data_dir: PathBuf,
    #[serde(deserialize_with = "socket_addr_from_text")]
    http_addr: SocketAddr,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AuthBuilder {
    admin_token: Option<String>,
    jwt_secret: Option<String>,
    #[serde(deserialize_with = "humantime_serde::deserialize")]
    token_ttl: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct IngestBuilder {
    #[serde(deserialize_with = "u32_from_number_or_text")]
    inflight_window: u32,
    #[serde(deserialize_with = "u32_from_number_or_text")]
    node_inflight: u32,
    #[serde(deserialize_with = "u32_from_number_or_text")]
    max_batch_items: u32,
    #[serde(deserialize_with = "u32_from_number_or_text")]
    max_frame_bytes: u32,
    #[serde(deserialize_with = "u32_from_number_or_text")]
    max_count: u32,
    #[serde(deserialize_with = "humantime_serde::deserialize")]
    max_future_skew: Duration,
    #[serde(deserialize_with = "humantime_serde::deserialize")]
    hello_timeout: Duration,
    #[serde(deserialize_with = "humantime_serde::deserialize")]
    sensor_timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PersisterBuilder {
    #[serde(deserialize_with = "u32_from_number_or_text")]
    max_batch_rows: u32,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DisplayBuilder {
    #[serde(deserialize_with = "humantime_serde::deserialize")]
    coalesce_interval: Duration,
    #[serde(deserialize_with = "u32_from_number_or_text")]
    queue_capacity: u32,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SupervisionBuilder {
    #[serde(deserialize_with = "u32_from_number_or_text")]
    max_restarts: u32,
    #[serde(deserialize_with = "humantime_serde::deserialize")]
    restart_window: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LogBuilder {
    filter: String,
    format: LogFormat,
}

// Each builder starts from the documented defaults in `settings.rs`. The destructuring makes a
// field added to a settings struct but not to its builder a compile error.

impl Default for NodeBuilder {
    fn default() -> Self {
        let NodeSettings {
            node_id,
            region,
            data_dir,
            http_addr,
        } = NodeSettings::default();
        NodeBuilder {
            node_id,
            region,
            data_dir,
            http_addr,
        }
    }
}

impl Default for AuthBuilder {
    fn default() -> Self {
        let AuthSettings {
            admin_token,
            jwt_secret,
            token_ttl,
        } = AuthSettings::default();
        AuthBuilder {
            admin_token,
            jwt_secret,
            token_ttl,
        }
    }
}

impl Default for IngestBuilder {
    fn default() -> Self {
        let IngestSettings {
            inflight_window,
            node_inflight,
            max_batch_items,
            max_frame_bytes,
            max_count,
            max_future_skew,
            hello_timeout,
            sensor_timeout,
        } = IngestSettings::default();
        IngestBuilder {
            inflight_window,
            node_inflight,
            max_batch_items,
            max_frame_bytes,
            max_count,
            max_future_skew,
            hello_timeout,
            sensor_timeout,
        }
    }
}

impl Default for PersisterBuilder {
    fn default() -> Self {
        let PersisterSettings { max_batch_rows } = PersisterSettings::default();
        PersisterBuilder { max_batch_rows }
    }
}

impl Default for DisplayBuilder {
    fn default() -> Self {
        let DisplaySettings {
            coalesce_interval,
            queue_capacity,
        } = DisplaySettings::default();
        DisplayBuilder {
            coalesce_interval,
            queue_capacity,
        }
    }
}

impl Default for SupervisionBuilder {
    fn default() -> Self {
        let SupervisionSettings {
            max_restarts,
            restart_window,
        } = SupervisionSettings::default();
        SupervisionBuilder {
            max_restarts,
            restart_window,
        }
    }
}

impl Default for LogBuilder {
    fn default() -> Self {
        let LogSettings { filter, format } = LogSettings::default();
        LogBuilder { filter, format }
    }
}

impl SettingsBuilder {
    /// Builds the settings, or lists every value that breaks its bound.
    fn build_and_validate(self) -> Result<Settings, ConfigError> {
        let settings = self.build();
        let errors = validate(&settings);
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }

    fn build(self) -> Settings {
        let SettingsBuilder {
            node,
            auth,
            ingest,
            persister,
            display,
            supervision,
            log,
        } = self;
        Settings {
            node: NodeSettings {
                node_id: node.node_id,
                region: node.region,
                data_dir: node.data_dir,
                http_addr: node.http_addr,
            },
            auth: AuthSettings {
                admin_token: auth.admin_token,
                jwt_secret: auth.jwt_secret,
                token_ttl: auth.token_ttl,
            },
            ingest: IngestSettings {
                inflight_window: ingest.inflight_window,
                node_inflight: ingest.node_inflight,
                max_batch_items: ingest.max_batch_items,
                max_frame_bytes: ingest.max_frame_bytes,
                max_count: ingest.max_count,
                max_future_skew: ingest.max_future_skew,
                hello_timeout: ingest.hello_timeout,
                sensor_timeout: ingest.sensor_timeout,
            },
            persister: PersisterSettings {
                max_batch_rows: persister.max_batch_rows,
            },
            display: DisplaySettings {
                coalesce_interval: display.coalesce_interval,
                queue_capacity: display.queue_capacity,
            },
            supervision: SupervisionSettings {
                max_restarts: supervision.max_restarts,
                restart_window: supervision.restart_window,
            },
            log: LogSettings {
                filter: log.filter,
                format: log.format,
            },
        }
    }
}
