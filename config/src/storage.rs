//! The `[storage]` section: which backend holds the node's data, and how to reach PostgreSQL or
//! ScyllaDB.
//!
//! `[storage.postgres]` mirrors `tally_storage::PostgresConfig` field for field, with the same
//! defaults (the cluster crate maps one onto the other, and a test there keeps the defaults equal);
//! `[storage.scylla]` does the same for `tally_storage::ScyllaConfig`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::documented::{Describe, settings_table};
use crate::settings::REDACTED;
use crate::values;

settings_table! {
    /// Where the node's data lives (`[storage]`).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct StorageSettings {
        /// Storage backend: "embedded" (fjall in node.data_dir/store, no server), "postgres" (the shared store; set storage.postgres.url) or "scylla" (ScyllaDB or Cassandra, for the largest deployments; set storage.scylla.contact_points).
        pub backend: StorageBackend,
        /// The PostgreSQL backend, used when backend is "postgres".
        pub postgres: PostgresSettings,
        /// The ScyllaDB backend, used when backend is "scylla".
        pub scylla: ScyllaSettings,
        /// The embedded backend, used when backend is "embedded".
        pub embedded: EmbeddedSettings,
    }
}

settings_table! {
    /// The embedded (fjall) backend (`[storage.embedded]`).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct EmbeddedSettings {
        /// Start even though the journal lost writes that had been acknowledged (tally's commit mark is ahead of what recovery found, e.g. after a corrupt byte in the journal): the node logs the loss at WARN and serves what was recovered. Set it only for the one start after deciding not to restore a backup; false refuses to start and names the loss.
        #[serde(deserialize_with = "values::bool_from_bool_or_text")]
        pub accept_journal_loss: bool,
    }
}

/// Which store a node runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// fjall in `node.data_dir/store`: one process, no server.
    #[default]
    Embedded,
    /// PostgreSQL with row-level security: the store shared by a cluster.
    Postgres,
    /// ScyllaDB (or Apache Cassandra): the store of the largest deployments.
    Scylla,
}

impl Describe for StorageBackend {
    fn schema() -> Value {
        let names = [
            StorageBackend::Embedded,
            StorageBackend::Postgres,
            StorageBackend::Scylla,
        ]
        .map(|b| json!(b));
        json!({ "type": "string", "enum": names })
    }
}

settings_table! {
    /// Connection and layout of the PostgreSQL backend (`[storage.postgres]`).
    ///
    /// `Debug` and `Settings::to_toml_redacted` replace the passwords in the URLs.
    #[derive(Clone, PartialEq)]
    pub struct PostgresSettings {
        /// Connection URL (postgres://user:password@host:port/db, or "key=value" pairs) of the runtime role; it must be neither superuser nor BYPASSRLS. Required when storage.backend is "postgres".
        pub url: Option<String>,
        /// Connection URL of the owner role that runs the migrations and owns tally's tables; unset: url does both (weaker isolation, see README).
        pub migrate_url: Option<String>,
        /// Schema holding tally's tables: lowercase letters, digits and '_', not starting with a digit, at most 63 characters.
        pub schema: String,
        /// Most connections the node keeps open to the server; 1 to 1000.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub pool_size: u32,
        /// Longest wait for a pooled connection, or to open one, before an operation fails as unavailable; more than 0.
        #[serde(with = "values::duration")]
        pub connect_timeout: Duration,
        /// Longest a single statement may run (PostgreSQL's statement_timeout), and the longest a
        /// session may sit idle inside a transaction (idle_in_transaction_session_timeout: the
        /// open transaction of a stalled node is ended and its locks released); more than 0.
        #[serde(with = "values::duration")]
        pub statement_timeout: Duration,
        /// TLS to the server: "disable" or "require" (certificate and host name verified, no fallback to plain TCP).
        pub tls: PostgresTls,
        /// PEM file of extra CA certificates to trust when tls is "require".
        pub tls_ca_file: Option<PathBuf>,
        /// Daily partitions of raw readings created ahead of today.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub partition_ahead_days: u32,
        /// Past days that still get their own partition when a late reading arrives; older readings land in the default partition.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub partition_past_days: u32,
    }
}

impl Default for PostgresSettings {
    fn default() -> Self {
        PostgresSettings {
            url: None,
            migrate_url: None,
            schema: "tally".to_string(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            tls: PostgresTls::Disable,
            tls_ca_file: None,
            partition_ahead_days: 7,
            partition_past_days: 31,
        }
    }
}

impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("migrate_url", &self.migrate_url.as_deref().map(redact_url))
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

settings_table! {
    /// Connection and layout of the ScyllaDB backend (`[storage.scylla]`).
    ///
    /// `Debug` and `Settings::to_toml_redacted` replace the password.
    #[derive(Clone, PartialEq)]
    pub struct ScyllaSettings {
        /// Comma-separated host:port of one or more nodes to learn the cluster from (e.g. "scylla-1:9042,scylla-2:9042"). Required when storage.backend is "scylla".
        pub contact_points: Option<String>,
        /// Keyspace of tally's tables, one per region: lowercase letters, digits and '_', starting with a letter, at most 48 characters; created by the migrations if missing.
        pub keyspace: String,
        /// Data center of this node: requests go to its replicas, and local_* consistencies count there. Unset: every data center alike.
        pub local_datacenter: Option<String>,
        /// Replicas per data center when the migrations create the keyspace (an existing keyspace is left as it is); at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub replication_factor: u32,
        /// Consistency of reads and writes: "one", "local_one", "quorum", "local_quorum", "each_quorum" or "all"; LWTs use the matching serial consistency.
        pub consistency: ScyllaConsistency,
        /// Longest a request may take, retries included, before it fails as unavailable; more than 0.
        #[serde(with = "values::duration")]
        pub request_timeout: Duration,
        /// Longest wait to open a connection to a node; more than 0.
        #[serde(with = "values::duration")]
        pub connect_timeout: Duration,
        /// User name for password authentication (with password).
        pub username: Option<String>,
        /// Password for password authentication (with username).
        pub password: Option<String>,
        /// TLS to the nodes: "disable" or "require" (certificate and host name verified).
        pub tls: PostgresTls,
        /// PEM file of extra CA certificates to trust when tls is "require".
        pub tls_ca_file: Option<PathBuf>,
    }
}

impl Default for ScyllaSettings {
    fn default() -> Self {
        ScyllaSettings {
            contact_points: None,
            keyspace: "tally".to_string(),
            local_datacenter: None,
            replication_factor: 3,
            consistency: ScyllaConsistency::LocalQuorum,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            username: None,
            password: None,
            tls: PostgresTls::Disable,
            tls_ca_file: None,
        }
    }
}

impl std::fmt::Debug for ScyllaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaSettings")
            .field("contact_points", &self.contact_points)
            .field("keyspace", &self.keyspace)
            .field("local_datacenter", &self.local_datacenter)
            .field("replication_factor", &self.replication_factor)
            .field("consistency", &self.consistency)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("tls", &self.tls)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}

/// Consistency level of the ScyllaDB backend's reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScyllaConsistency {
    /// One replica.
    One,
    /// One replica of the local data center.
    LocalOne,
    /// A majority of all replicas.
    Quorum,
    /// A majority of the local data center's replicas.
    #[default]
    LocalQuorum,
    /// A majority in every data center.
    EachQuorum,
    /// Every replica.
    All,
}

impl Describe for ScyllaConsistency {
    fn schema() -> Value {
        use ScyllaConsistency as C;
        let names = [
            C::One,
            C::LocalOne,
            C::Quorum,
            C::LocalQuorum,
            C::EachQuorum,
            C::All,
        ]
        .map(|c| json!(c));
        json!({ "type": "string", "enum": names })
    }
}

/// Whether connections to PostgreSQL use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostgresTls {
    /// Plain TCP (or a Unix socket).
    #[default]
    Disable,
    /// TLS with the server's certificate and host name verified.
    Require,
}

impl Describe for PostgresTls {
    fn schema() -> Value {
        let names = [PostgresTls::Disable, PostgresTls::Require].map(|t| json!(t));
        json!({ "type": "string", "enum": names })
    }
}

/// A connection string with its password replaced by `<redacted>`, in URL
/// (`postgres://user:<redacted>@host/db`) or `key=value` form (`password=<redacted>`), so that
/// it can be printed and logged. A string without a password is returned unchanged.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The userinfo ends at the last '@' before the path (a password may contain '@').
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some((user, _)) = rest[..at].split_once(':')
        {
            return format!("{scheme}://{user}:{REDACTED}{}", &rest[at..]);
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => format!("password={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_in_both_forms() {
        assert_eq!(
            redact_url("postgres://app:s3cr@t@db:5432/tally"),
            "postgres://app:<redacted>@db:5432/tally"
        );
        assert_eq!(
            redact_url("postgres://app@db/tally"),
            "postgres://app@db/tally"
        );
        assert_eq!(
            redact_url("host=/tmp port=5432 user=app password=s3cret dbname=t"),
            "host=/tmp port=5432 user=app password=<redacted> dbname=t"
        );
        let settings = PostgresSettings {
            url: Some("postgres://app:s3cret@db/tally".into()),
            ..PostgresSettings::default()
        };
        assert!(!format!("{settings:?}").contains("s3cret"));
        let scylla = ScyllaSettings {
            password: Some("s3cret".into()),
            ..ScyllaSettings::default()
        };
        assert!(!format!("{scylla:?}").contains("s3cret"));
    }
}
