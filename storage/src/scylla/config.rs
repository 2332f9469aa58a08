//! [`ScyllaConfig`]: how to reach a ScyllaDB (or Cassandra) cluster and where tally's tables
//! live there.

use std::{fmt, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{RetentionPolicy, StoreError, TlsMode};

/// Connection and layout settings of the ScyllaDB backend.
///
/// # Examples
///
/// ```toml
/// contact_points = ["scylla-1.internal:9042", "scylla-2.internal:9042"]
/// keyspace = "tally_eu"
/// local_datacenter = "eu-west"
/// consistency = "local_quorum"
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScyllaConfig {
    /// `host:port` of one or more nodes to learn the cluster from (the driver then discovers
    /// every node).
    pub contact_points: Vec<String>,
    /// Keyspace holding tally's tables (one per region): lowercase letters, digits and `_`,
    /// starting with a letter, at most 48 characters. Created by the migrations if missing.
    #[serde(default = "default_keyspace")]
    pub keyspace: String,
    /// The data center this node runs in: requests go to its replicas first, and `local_*`
    /// consistencies count there. Unset: every data center is treated alike.
    #[serde(default)]
    pub local_datacenter: Option<String>,
    /// Replicas per data center when the migrations create the keyspace (an existing keyspace
    /// is left as it is).
    #[serde(default = "default_replication_factor")]
    pub replication_factor: u32,
    /// Consistency of every read and write (LWTs use the matching serial consistency).
    #[serde(default)]
    pub consistency: ScyllaConsistency,
    /// Longest a request may take, retries included, before it fails as unavailable.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Longest wait to open a connection to a node.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// User name for password authentication (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for password authentication.
    #[serde(default)]
    pub password: Option<String>,
    /// Whether connections use TLS (certificate and host name verified).
    #[serde(default)]
    pub tls: TlsMode,
    /// PEM file of extra CA certificates to trust (besides the system's) when `tls = "require"`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// The retention whose durations become the TTLs of raw readings and rollups of tenants
    /// without their own policy (a tenant's own policy sets its TTLs).
    #[serde(default)]
    pub default_retention: RetentionPolicy,
}

/// Consistency level of tally's reads and writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScyllaConsistency {
    /// One replica.
    One,
    /// One replica of the local data center.
    LocalOne,
    /// A majority of all replicas.
    Quorum,
    /// A majority of the local data center's replicas (the default).
    #[default]
    LocalQuorum,
    /// A majority in every data center.
    EachQuorum,
    /// Every replica.
    All,
}

impl ScyllaConsistency {
    /// The driver's consistency.
    pub(super) fn driver(self) -> scylla::statement::Consistency {
        use scylla::statement::Consistency as C;
        match self {
            Self::One => C::One,
            Self::LocalOne => C::LocalOne,
            Self::Quorum => C::Quorum,
            Self::LocalQuorum => C::LocalQuorum,
            Self::EachQuorum => C::EachQuorum,
            Self::All => C::All,
        }
    }

    /// The serial consistency of LWTs: local to the data center when the consistency is.
    pub(super) fn serial(self) -> scylla::statement::SerialConsistency {
        use scylla::statement::SerialConsistency as S;
        match self {
            Self::LocalOne | Self::LocalQuorum => S::LocalSerial,
            Self::One | Self::Quorum | Self::EachQuorum | Self::All => S::Serial,
        }
    }
}

fn default_keyspace() -> String {
    "tally".into()
}
fn default_replication_factor() -> u32 {
    3
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

impl ScyllaConfig {
    /// A configuration with `contact_points` and the documented defaults elsewhere.
    pub fn new(contact_points: Vec<String>) -> Self {
        Self {
            contact_points,
            keyspace: default_keyspace(),
            local_datacenter: None,
            replication_factor: default_replication_factor(),
            consistency: ScyllaConsistency::default(),
            request_timeout: default_request_timeout(),
            connect_timeout: default_connect_timeout(),
            username: None,
            password: None,
            tls: TlsMode::default(),
            tls_ca_file: None,
            default_retention: RetentionPolicy::default(),
        }
    }

    /// Checks the values that the cluster would not; reports every problem at once.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming each bad field.
    pub fn validate(&self) -> Result<(), StoreError> {
        let mut problems = Vec::new();
        if self.contact_points.iter().all(|p| p.trim().is_empty()) {
            problems.push("contact_points: name at least one host:port".to_owned());
        }
        if !is_keyspace_name(&self.keyspace) {
            problems.push(format!(
                "keyspace: {:?} must be lowercase letters, digits and '_', start with a letter, \
                 at most 48 characters",
                self.keyspace
            ));
        }
        if self.replication_factor == 0 {
            problems.push("replication_factor: must be at least 1".to_owned());
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            problems.push("request_timeout, connect_timeout: must be more than 0".to_owned());
        }
        if self.username.is_some() != self.password.is_some() {
            problems.push("username, password: set both or neither".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Backend(format!(
                "invalid ScyllaDB configuration: {}",
                problems.join("; ")
            )))
        }
    }
}

/// Whether `name` is a keyspace name tally accepts (it is spliced into CQL unquoted).
fn is_keyspace_name(name: &str) -> bool {
    name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl fmt::Debug for ScyllaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScyllaConfig")
            .field("contact_points", &self.contact_points)
            .field("keyspace", &self.keyspace)
            .field("local_datacenter", &self.local_datacenter)
            .field("replication_factor", &self.replication_factor)
            .field("consistency", &self.consistency)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("default_retention", &self.default_retention)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named() {
        let config = ScyllaConfig {
            keyspace: "Tally-EU".into(),
            replication_factor: 0,
            username: Some("tally".into()),
            ..ScyllaConfig::new(vec![])
        };
        let message = config.validate().unwrap_err().to_string();
        for field in [
            "contact_points",
            "keyspace",
            "replication_factor",
            "password",
        ] {
            assert!(message.contains(field), "{field} missing from {message}");
        }
        assert!(ScyllaConfig::new(vec!["db:9042".into()]).validate().is_ok());
    }

    #[test]
    fn the_password_is_not_printed() {
        let config = ScyllaConfig {
            username: Some("tally".into()),
            password: Some("s3cret".into()),
            ..ScyllaConfig::new(vec!["db:9042".into()])
        };
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
