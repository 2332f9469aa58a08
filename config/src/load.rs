//! Loading: merge the sources, deserialize them into [`Settings`] (unknown keys rejected,
//! defaults filled in), then check every documented bound, reporting all failures at once.

use std::path::Path;

use figment::Figment;

use crate::error::ConfigError;
use crate::settings::Settings;
use crate::sources::{self, EnvVar, TomlSource};
use crate::validate::validate;

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
        load(toml, env)
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
        load(toml, env)
    }
}

/// Merges the TOML source and then the environment overrides, and returns validated settings.
fn load(
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
    let settings: Settings = figment.extract().map_err(|error| ConfigError::Parse {
        message: sources::describe(error),
    })?;
    let errors = validate(&settings);
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(ConfigError::Invalid(errors))
    }
}
