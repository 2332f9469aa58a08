//! [`PostgresConfig`]: how to reach PostgreSQL and how to lay out tally's schema there.

use std::{fmt, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Connection and layout settings of the PostgreSQL backend.
///
/// # Examples
///
/// ```toml
/// url = "postgres://tally_app:secret@db.internal:5432/tally"
/// migrate_url = "postgres://tally_owner:secret@db.internal:5432/tally"
/// pool_size = 16
/// statement_timeout = "10s"
/// tls = "require"
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Connection URL (or `key=value` string) of the runtime role every query runs as. The role
    /// must be neither superuser nor `BYPASSRLS` (tally refuses to start otherwise), and should
    /// own nothing: see the module documentation for the role model.
    pub url: String,
    /// Connection URL of the owner role that runs the migrations and owns tally's tables and
    /// functions (it needs `CREATE` on the database, or an existing `schema` it owns). Unset:
    /// `url` does both (supported, but the tenant list and the key-hash index
    /// are then readable by the runtime role; every other table stays isolated).
    #[serde(default)]
    pub migrate_url: Option<String>,
    /// Schema that holds tally's tables (lowercase letters, digits and `_`, not starting with a
    /// digit); created by the migrations.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// Most connections the node keeps open to the server.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Longest wait for a pooled connection, or to open one, before an operation fails as
    /// unavailable.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest a single statement may run (PostgreSQL's `statement_timeout`); a statement that
    /// takes longer fails as unavailable. Also the longest a session may sit idle inside a
    /// transaction (`idle_in_transaction_session_timeout`): the server ends the transaction of a
    /// stalled node and releases its locks, so a newer owner can take its offices.
    #[serde(default = "default_statement_timeout", with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Whether connections use TLS.
    #[serde(default)]
    pub tls: TlsMode,
    /// PEM file of extra CA certificates to trust (besides the system's) when `tls = "require"`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Daily partitions of raw readings created ahead of today (at start-up and when the day
    /// changes), so that writes rarely create one.
    #[serde(default = "default_partition_ahead_days")]
    pub partition_ahead_days: u32,
    /// Past days that still get their own partition when a late reading arrives; older
    /// readings land in the default partition.
    #[serde(default = "default_partition_past_days")]
    pub partition_past_days: u32,
}

/// Whether connections to PostgreSQL use TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain TCP (or a Unix socket).
    #[default]
    Disable,
    /// TLS with the server's certificate and host name verified (rustls, ring); no fallback to
    /// plain TCP.
    Require,
}

fn default_schema() -> String {
    "tally".into()
}
fn default_pool_size() -> usize {
    16
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_statement_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_partition_ahead_days() -> u32 {
    7
}
fn default_partition_past_days() -> u32 {
    31
}

impl PostgresConfig {
    /// A configuration with `url` for everything and the documented defaults elsewhere.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            migrate_url: None,
            schema: default_schema(),
            pool_size: default_pool_size(),
            connect_timeout: default_connect_timeout(),
            statement_timeout: default_statement_timeout(),
            tls: TlsMode::default(),
            tls_ca_file: None,
            partition_ahead_days: default_partition_ahead_days(),
            partition_past_days: default_partition_past_days(),
        }
    }

    /// Checks the values that the server would not; reports every problem at once.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming each bad field.
    pub fn validate(&self) -> Result<(), StoreError> {
        let mut problems = Vec::new();
        if self.url.trim().is_empty() {
            problems.push("url: must not be empty".to_owned());
        }
        let schema_ok = self.schema.len() <= 63
            && self
                .schema
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && self
                .schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !schema_ok {
            problems.push(format!(
                "schema: {:?} is not a lowercase SQL identifier",
                self.schema
            ));
        }
        if self.pool_size == 0 {
            problems.push("pool_size: must be at least 1".to_owned());
        }
        if self.statement_timeout.is_zero() {
            problems.push("statement_timeout: must be more than 0".to_owned());
        }
        if self.connect_timeout.is_zero() {
            problems.push("connect_timeout: must be more than 0".to_owned());
        }
        if self.tls_ca_file.is_some() && self.tls == TlsMode::Disable {
            problems.push("tls_ca_file: set, but tls is \"disable\"".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Backend(format!(
                "invalid postgres configuration: {}",
                problems.join("; ")
            )))
        }
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact(&self.url))
            .field("migrate_url", &self.migrate_url.as_deref().map(redact))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("tls", &self.tls)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("partition_ahead_days", &self.partition_ahead_days)
            .field("partition_past_days", &self.partition_past_days)
            .finish()
    }
}

/// A connection string with its password replaced by `***` (URL or `key=value` form).
pub(crate) fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((userinfo, host)) = rest.split_once('@')
            && let Some((user, _)) = userinfo.split_once(':')
        {
            return format!("{scheme}://{user}:***@{host}");
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/tally"),
            "postgres://app:***@db:5432/tally"
        );
        assert_eq!(redact("postgres://app@db/tally"), "postgres://app@db/tally");
        assert_eq!(
            redact("host=db user=app password=s3cret"),
            "host=db user=app password=***"
        );
        let config = PostgresConfig::new("postgres://app:s3cret@db/tally");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn every_problem_is_reported() {
        let config = PostgresConfig {
            schema: "Bad-Name".into(),
            pool_size: 0,
            ..PostgresConfig::new("")
        };
        let message = config.validate().unwrap_err().to_string();
        for field in ["url:", "schema:", "pool_size:"] {
            assert!(message.contains(field), "{message}");
        }
        PostgresConfig::new("postgres://localhost/tally")
            .validate()
            .unwrap();
    }

    #[test]
    fn defaults_fill_a_minimal_file() {
        let config: PostgresConfig = serde_json_like("postgres://h/db");
        assert_eq!(config, PostgresConfig::new("postgres://h/db"));
    }

    /// Deserializes a config holding only `url`, through rmp-serde (a dependency already).
    fn serde_json_like(url: &str) -> PostgresConfig {
        #[derive(Serialize)]
        struct Minimal<'a> {
            url: &'a str,
        }
        let bytes = rmp_serde::to_vec_named(&Minimal { url }).unwrap();
        rmp_serde::from_slice(&bytes).unwrap()
    }
}
