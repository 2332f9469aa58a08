//! The settings of a tally node, their documented defaults, and their form in the file.
//!
//! Each table is defined with [`settings_table!`], which derives its deserialization (unknown keys
//! rejected, unset keys from `Default`) and reads the `///` comment of every field into the
//! configuration reference and the JSON Schema.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cluster::ClusterSettings;
use crate::documented::{Describe, settings_table};
use crate::metrics::MetricsSettings;
use crate::quotas::QuotaSettings;
use crate::retention::RetentionSettings;
use crate::rollup::RollupSettings;
use crate::storage::{StorageSettings, redact_url};
use crate::tracing::TracingSettings;
use crate::values;

/// Placeholder written instead of a secret by [`Settings::to_toml_redacted`].
pub const REDACTED: &str = "<redacted>";

settings_table! {
    /// The validated configuration of a tally node.
    ///
    /// Build it with [`Settings::load`] or [`Settings::from_sources`]; both reject invalid values, so
    /// code that holds a `Settings` from them may rely on every documented bound (deserializing it
    /// directly skips that check).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Settings {
        /// Identity and addresses of this node.
        pub node: NodeSettings,
        /// Where the node's data lives: the embedded store or PostgreSQL.
        pub storage: StorageSettings,
        /// Tokens and secrets of the HTTP API.
        pub auth: AuthSettings,
        /// Connection limits and read timeouts of the HTTP listener.
        pub http: HttpSettings,
        /// Limits on what sensors may send.
        pub ingest: IngestSettings,
        /// What one tenant may take of the node: rate limits and quotas.
        pub quotas: QuotaSettings,
        /// Writes of readings to the store.
        pub persister: PersisterSettings,
        /// Fan-out of occupancy deltas to displays.
        pub display: DisplaySettings,
        /// Restart intensity of supervised actors.
        pub supervision: SupervisionSettings,
        /// Retention of readings and rollups, and erasure of tenants.
        pub retention: RetentionSettings,
        /// Logging.
        pub log: LogSettings,
        /// Membership, placement and leases when the node runs in a cluster.
        pub cluster: ClusterSettings,
        /// Labels of the node's Prometheus metrics: which tenants get their own series.
        pub metrics: MetricsSettings,
        /// How rooms roll up their readings, and how late a reading may still correct them.
        pub rollup: RollupSettings,
        /// OpenTelemetry traces exported over OTLP/HTTP (off unless an endpoint is set).
        pub tracing: TracingSettings,
    }
}

settings_table! {
    /// Identity and addresses of this node (`[node]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct NodeSettings {
        /// This node's id: a slug of a-z, 0-9 and '-', 1 to 64 characters, starting with a letter or digit.
        pub node_id: String,
        /// Data-residency region this node serves (same slug rules as node_id).
        pub region: String,
        /// Directory of the embedded store and generated secrets; must not be empty.
        pub data_dir: PathBuf,
        /// Address of the HTTP/WebSocket gateway; port 0 picks a free port.
        #[serde(deserialize_with = "values::socket_addr_from_text")]
        pub http_addr: SocketAddr,
    }
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

settings_table! {
    /// Tokens and secrets of the HTTP API (`[auth]`).
    ///
    /// `Debug` prints `<redacted>` instead of a secret, so settings can be logged.
    #[derive(Clone, PartialEq)]
    pub struct AuthSettings {
        /// Bearer token for registry/admin endpoints, at least 16 characters; when unset the node generates one in data_dir and logs where.
        pub admin_token: Option<String>,
        /// HS256 secret for display/read JWTs, at least 32 bytes; when unset the node generates one in data_dir.
        pub jwt_secret: Option<String>,
        /// Bearer token that Prometheus scrapes GET /metrics with (the admin token works too), at least 16 characters; when unset the node generates one in data_dir/metrics_token.
        pub metrics_token: Option<String>,
        /// Lifetime of JWTs minted by POST /v1/tenants/{tenant}/tokens; 1m to 365d.
        #[serde(with = "values::duration")]
        pub token_ttl: Duration,
        /// Accept tenant JWTs signed HS256 with jwt_secret, and mint them at POST /v1/tenants/{tenant}/tokens; set false when an identity provider issues every token.
        #[serde(deserialize_with = "values::bool_from_bool_or_text")]
        pub jwt_hs256: bool,
        /// Directory of PEM public keys of tenant JWTs, one per file named `<kid>.pem`: RSA keys verify RS256, P-256 keys ES256; several at once for rotation.
        pub jwt_keys_dir: Option<PathBuf>,
        /// JWKS file (`{"keys":[...]}`) of public keys of tenant JWTs, selected by `kid`: RSA keys verify RS256, P-256 keys ES256.
        pub jwks_file: Option<PathBuf>,
        /// URL of the identity provider's JWKS document, fetched at start, every jwks_refresh, on SIGHUP and POST /v1/admin/auth/reload-keys, and when a token names an unknown kid (at most once per 30s); https, or http to a loopback address only (a key set fetched in clear could be swapped on the way). A failed fetch keeps the last good keys.
        pub jwks_url: Option<String>,
        /// How often jwks_url is fetched again; 1s to 1d.
        #[serde(with = "values::duration")]
        pub jwks_refresh: Duration,
        /// Required `iss` of tenant JWTs (also written into minted ones); unset accepts any.
        pub jwt_issuer: Option<String>,
        /// Required `aud` of tenant JWTs (also written into minted ones); unset accepts any.
        pub jwt_audience: Option<String>,
        /// Clock skew allowed when checking `exp` and `nbf` of tenant JWTs; at most 5m.
        #[serde(with = "values::duration")]
        pub jwt_leeway: Duration,
        /// How stale a node's copy of a tenant's token revocations may be: a token revoked on another node is refused here, and its open display sockets close, within this time (at once on the node that revoked it); 1s to 5m.
        #[serde(with = "values::duration")]
        pub revocation_refresh: Duration,
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            admin_token: None,
            jwt_secret: None,
            metrics_token: None,
            token_ttl: Duration::from_secs(24 * 3600),
            jwt_hs256: true,
            jwt_keys_dir: None,
            jwks_file: None,
            jwks_url: None,
            jwks_refresh: Duration::from_secs(5 * 60),
            jwt_issuer: None,
            jwt_audience: None,
            jwt_leeway: Duration::from_secs(30),
            revocation_refresh: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |secret: &Option<String>| secret.as_ref().map(|_| REDACTED);
        f.debug_struct("AuthSettings")
            .field("admin_token", &redact(&self.admin_token))
            .field("jwt_secret", &redact(&self.jwt_secret))
            .field("metrics_token", &redact(&self.metrics_token))
            .field("token_ttl", &self.token_ttl)
            .field("jwt_hs256", &self.jwt_hs256)
            .field("jwt_keys_dir", &self.jwt_keys_dir)
            .field("jwks_file", &self.jwks_file)
            .field("jwks_url", &self.jwks_url)
            .field("jwks_refresh", &self.jwks_refresh)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_leeway", &self.jwt_leeway)
            .field("revocation_refresh", &self.revocation_refresh)
            .finish()
    }
}

settings_table! {
    /// Connection limits and read timeouts of the HTTP listener (`[http]`): slow or numerous
    /// clients cannot hold the node's connections.
    #[derive(Debug, Clone, PartialEq)]
    pub struct HttpSettings {
        /// A client must send a request's headers within this time, or the connection is closed; 1s to 5m.
        #[serde(with = "values::duration")]
        pub header_read_timeout: Duration,
        /// A request (its body included) must be answered within this time, or it gets 408 request_timeout; WebSockets are not limited once upgraded; 1s to 10m.
        #[serde(with = "values::duration")]
        pub request_timeout: Duration,
        /// Open connections (WebSockets included) the node accepts; more are closed at once; at least max_connections_per_source.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_connections: u32,
        /// Open connections one source address may hold; more are closed at once; at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_connections_per_source: u32,
        /// New connections one source address may open per second (a token bucket refilled at this rate); more are closed at once, before any TLS or HTTP work; at least 1. Many sensors behind one NAT share its address: raise it (and connection_burst_per_source) for them.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub connection_rate_per_source: u32,
        /// New connections one source address may open at once, above connection_rate_per_source (every sensor behind a NAT reconnecting after a restart); at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub connection_burst_per_source: u32,
        /// PEM certificate chain (leaf first) to serve HTTPS and WSS with; set together with tls_key_file; re-read on SIGHUP. Unset serves plain HTTP.
        pub tls_cert_file: Option<PathBuf>,
        /// PEM private key (PKCS#8, PKCS#1 or SEC1) of tls_cert_file; re-read on SIGHUP.
        pub tls_key_file: Option<PathBuf>,
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 20_000,
            max_connections_per_source: 1_000,
            connection_rate_per_source: 100,
            connection_burst_per_source: 1_000,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

settings_table! {
    /// Limits on what sensors may send (`[ingest]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct IngestSettings {
        /// Readings a sensor connection may have unacknowledged before the gateway stops reading its socket; 1 to 65536.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub inflight_window: u32,
        /// Readings all sensor connections of the node may have unacknowledged together; past it, connections wait (TCP pushes back) instead of queueing in actors; at least max_batch_items.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub node_inflight: u32,
        /// Most readings in one frame or HTTP batch; 1 to inflight_window.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_batch_items: u32,
        /// Largest accepted frame or HTTP body in bytes; 256 to 16777216 (16 MiB).
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_frame_bytes: u32,
        /// Largest people count a reading may carry; at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_count: u32,
        /// How far ahead of the node clock a reading's timestamp may be; at most 1h.
        #[serde(with = "values::duration")]
        pub max_future_skew: Duration,
        /// Time a new sensor connection has to authenticate; more than 0.
        #[serde(with = "values::duration")]
        pub hello_timeout: Duration,
        /// A sensor not heard from for this long stops counting in its room and is reported stale; 1s to 7d.
        #[serde(with = "values::duration")]
        pub sensor_timeout: Duration,
    }
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

settings_table! {
    /// Writes of readings to the store (`[persister]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct PersisterSettings {
        /// Most rows written in one group commit; at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_batch_rows: u32,
        /// How long a group commit that failed transiently (connection lost, timeout, serialization failure) is retried, with capped exponential backoff, before it fails; its acknowledgements wait meanwhile. 0s to 10m.
        #[serde(with = "values::duration")]
        pub retry_for: Duration,
    }
}

impl Default for PersisterSettings {
    fn default() -> Self {
        PersisterSettings {
            max_batch_rows: 4096,
            retry_for: Duration::from_secs(30),
        }
    }
}

settings_table! {
    /// Fan-out of occupancy deltas to displays (`[display]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct DisplaySettings {
        /// An office publishes at most one delta per interval; 1ms to 10s.
        #[serde(with = "values::duration")]
        pub coalesce_interval: Duration,
        /// Frames sent to a display connection and not yet confirmed by the pong to the ping that follows each; meanwhile changes are conflated into one fresh snapshot, so a display that stalls reads the present when it resumes; 1 to 65536.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub inflight_frames: u32,
    }
}

impl Default for DisplaySettings {
    fn default() -> Self {
        DisplaySettings {
            coalesce_interval: Duration::from_millis(50),
            inflight_frames: 1,
        }
    }
}

settings_table! {
    /// Restart intensity of supervised actors (`[supervision]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct SupervisionSettings {
        /// Restarts of one child allowed within restart_window before the failure escalates; at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_restarts: u32,
        /// The window for max_restarts; more than 0.
        #[serde(with = "values::duration")]
        pub restart_window: Duration,
    }
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            max_restarts: 5,
            restart_window: Duration::from_secs(10),
        }
    }
}

settings_table! {
    /// Logging (`[log]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct LogSettings {
        /// tracing EnvFilter directive, such as "info" or "tally_gateway=debug,info"; must not be empty.
        pub filter: String,
        /// Log line format: "text" or "json".
        pub format: LogFormat,
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Describe for LogFormat {
    fn schema() -> Value {
        let names = [LogFormat::Text, LogFormat::Json].map(|format| json!(format));
        json!({ "type": "string", "enum": names })
    }
}

impl Settings {
    /// File in `node.data_dir` holding the generated admin token when `auth.admin_token` is unset.
    pub fn admin_token_file(&self) -> PathBuf {
        self.node.data_dir.join("admin_token")
    }

    /// File in `node.data_dir` holding the generated scrape token when `auth.metrics_token` is
    /// unset (Prometheus reads it with `credentials_file`).
    pub fn metrics_token_file(&self) -> PathBuf {
        self.node.data_dir.join("metrics_token")
    }

    /// File in `node.data_dir` holding the generated JWT secret when `auth.jwt_secret` is unset.
    pub fn jwt_secret_file(&self) -> PathBuf {
        self.node.data_dir.join("jwt_secret")
    }

    /// The effective configuration as TOML, secrets replaced by `"<redacted>"` (for `tally config`);
    /// in the PostgreSQL URLs only the password is replaced.
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
            &mut redacted.auth.metrics_token,
        ] {
            if secret.is_some() {
                *secret = Some(REDACTED.to_string());
            }
        }
        if redacted.storage.scylla.password.is_some() {
            redacted.storage.scylla.password = Some(REDACTED.to_string());
        }
        let postgres = &mut redacted.storage.postgres;
        for url in [&mut postgres.url, &mut postgres.migrate_url]
            .into_iter()
            .flatten()
        {
            *url = redact_url(url);
        }
        redacted.cluster = self.cluster.redacted();
        toml::to_string(&redacted)
            .expect("settings serialize to toml: every value is UTF-8 text, an integer or a table")
    }
}
