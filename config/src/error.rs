//! Errors of loading and validating [`Settings`](crate::Settings).

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file is missing or unreadable.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A source is not valid TOML, names an unknown key, or holds a value of the wrong type.
    ///
    /// The message names the key by its dotted path and the source it came from
    /// (the file, or the `TALLY_*` variable).
    #[error("cannot parse configuration: {message}")]
    Parse {
        /// What is wrong and where.
        message: String,
    },
    /// The sources parsed but some values break their documented bounds; all of them are listed.
    #[error("invalid configuration:\n{}", FieldErrors(.0))]
    Invalid(Vec<FieldError>),
}

/// One value that breaks its documented bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `ingest.max_batch_items`.
    pub field: &'static str,
    /// What the value must be and what it was, e.g. `must be >= 1, got 0`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Displays field errors one per line.
struct FieldErrors<'a>(&'a [FieldError]);

impl fmt::Display for FieldErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_field_error_on_its_own_line() {
        let error = ConfigError::Invalid(vec![
            FieldError {
                field: "ingest.inflight_window",
                message: "must be >= 1, got 0".to_string(),
            },
            FieldError {
                field: "log.filter",
                message: "must not be empty, got \"\"".to_string(),
            },
        ]);
        assert_eq!(
            error.to_string(),
            "invalid configuration:\n  ingest.inflight_window: must be >= 1, got 0\n  log.filter: must not be empty, got \"\""
        );
    }

    #[test]
    fn read_names_the_path() {
        let error = ConfigError::Read {
            path: PathBuf::from("/etc/tally.toml"),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(
            error
                .to_string()
                .starts_with("cannot read config file /etc/tally.toml: "),
            "{error}"
        );
    }
}
