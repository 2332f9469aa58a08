//! The `[cluster]` section: whether the node joins a cluster, how it reaches Redis (membership
//! and leases) and its peers, and the timings of heartbeats and leases.
//!
//! Off by default: a single node needs neither Redis nor a shared store. When on, every setting
//! is checked ([`check`]), and a node on the embedded store is refused, since no other node could
//! read its data to take its offices over.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::documented::settings_table;
use crate::settings::REDACTED;
use crate::storage::{StorageBackend, StorageSettings, redact_url};
use crate::validate::Checker;
use crate::values;

/// Shortest cluster cookie, in characters.
const MIN_COOKIE_CHARS: usize = 16;

settings_table! {
    /// Membership, placement and leases of a multi-node cluster (`[cluster]`).
    ///
    /// `Debug` and `Settings::to_toml_redacted` hide the cookie and the password in the Redis URL.
    #[derive(Clone, PartialEq)]
    pub struct ClusterSettings {
        /// Join a cluster: register in Redis, own the offices placed on this node and forward the others; false runs a single node without Redis. Needs a shared store (postgres or scylla).
        #[serde(deserialize_with = "values::bool_from_bool_or_text")]
        pub enabled: bool,
        /// Redis that holds membership and leases: redis://[user:password@]host:port[/db], or rediss:// for TLS. Required when enabled.
        pub redis_url: Option<String>,
        /// Prefix of every Redis key and channel of this cluster, so that clusters can share one Redis: 1 to 64 characters of a-z, 0-9, '-' and '_'.
        pub key_prefix: String,
        /// Address the inter-node listener binds; port 0 picks a free port.
        #[serde(deserialize_with = "values::socket_addr_from_text")]
        pub listen_addr: SocketAddr,
        /// host:port at which the other nodes reach this node's inter-node listener; unset: listen_addr.
        pub advertise_addr: Option<String>,
        /// host:port at which clients and peers reach this node's HTTP gateway (published in the membership); unset: node.http_addr.
        pub http_advertise_addr: Option<String>,
        /// Shared secret of the inter-node link, at least 16 characters; set this or cookie_file when enabled.
        pub cookie: Option<String>,
        /// File holding the shared secret of the inter-node link (surrounding whitespace ignored); set this or cookie.
        pub cookie_file: Option<PathBuf>,
        /// How often the node renews its heartbeat key in Redis; more than 0.
        #[serde(with = "values::duration")]
        pub heartbeat_interval: Duration,
        /// Lifetime of the heartbeat key: a node not heard from for this long is removed from the cluster and its offices move; at least 2 x heartbeat_interval.
        #[serde(with = "values::duration")]
        pub heartbeat_ttl: Duration,
        /// How often the membership is re-read from Redis even without a change announcement (a missed announcement cannot leave a stale view, and dead members are expired); more than 0.
        #[serde(with = "values::duration")]
        pub view_refresh_interval: Duration,
        /// Lifetime of an office lease in Redis; a node that stops renewing loses its offices after this long; at least 2 x lease_renew_interval.
        #[serde(with = "values::duration")]
        pub lease_ttl: Duration,
        /// How often a held office lease is renewed; more than 0.
        #[serde(with = "values::duration")]
        pub lease_renew_interval: Duration,
        /// Longest wait for Redis to connect or answer before the attempt counts as Redis unavailable; more than 0, less than heartbeat_ttl.
        #[serde(with = "values::duration")]
        pub redis_timeout: Duration,
        /// PEM file with this node's certificate chain for TLS on the inter-node links; its subjectAltName must carry the node id as a DNS name. Set with tls_key_file and tls_ca_file; unset: plaintext links (cookie only).
        pub tls_cert_file: Option<PathBuf>,
        /// PEM file with the private key of tls_cert_file.
        pub tls_key_file: Option<PathBuf>,
        /// PEM file with the CA certificate(s) that sign every node's certificate: peers are accepted and dialed only with a certificate it signed.
        pub tls_ca_file: Option<PathBuf>,
    }
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            enabled: false,
            redis_url: None,
            key_prefix: "tally".to_string(),
            listen_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8090)),
            advertise_addr: None,
            http_advertise_addr: None,
            cookie: None,
            cookie_file: None,
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_ttl: Duration::from_secs(3),
            view_refresh_interval: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(3),
            lease_renew_interval: Duration::from_secs(1),
            redis_timeout: Duration::from_secs(1),
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_file: None,
        }
    }
}

impl std::fmt::Debug for ClusterSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSettings")
            .field("enabled", &self.enabled)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("key_prefix", &self.key_prefix)
            .field("listen_addr", &self.listen_addr)
            .field("advertise_addr", &self.advertise_addr)
            .field("http_advertise_addr", &self.http_advertise_addr)
            .field("cookie", &self.cookie.as_ref().map(|_| REDACTED))
            .field("cookie_file", &self.cookie_file)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("heartbeat_ttl", &self.heartbeat_ttl)
            .field("view_refresh_interval", &self.view_refresh_interval)
            .field("lease_ttl", &self.lease_ttl)
            .field("lease_renew_interval", &self.lease_renew_interval)
            .field("redis_timeout", &self.redis_timeout)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}

impl ClusterSettings {
    /// This settings with the secrets replaced by `"<redacted>"` (in the Redis URL only the
    /// password), for `Settings::to_toml_redacted`.
    pub(crate) fn redacted(&self) -> ClusterSettings {
        ClusterSettings {
            redis_url: self.redis_url.as_deref().map(redact_url),
            cookie: self.cookie.as_ref().map(|_| REDACTED.to_string()),
            ..self.clone()
        }
    }
}

/// The cluster settings, checked only when the cluster is enabled.
pub(crate) fn check(check: &mut Checker, cluster: &ClusterSettings, storage: &StorageSettings) {
    if !cluster.enabled {
        return;
    }
    if storage.backend == StorageBackend::Embedded {
        check.fail(
            "cluster.enabled",
            "needs a shared store, but storage.backend is \"embedded\": its data lives in this \
             node's data_dir, where no other node could read it to take over this node's \
             offices; set storage.backend = \"postgres\""
                .to_string(),
        );
    }
    match cluster.redis_url.as_deref().map(str::trim) {
        None | Some("") => check.fail(
            "cluster.redis_url",
            "must be set when cluster.enabled is true".to_string(),
        ),
        Some(url) if !(url.starts_with("redis://") || url.starts_with("rediss://")) => check.fail(
            "cluster.redis_url",
            "must start with redis:// or rediss://".to_string(),
        ),
        Some(url) => check.url("cluster.redis_url", url),
    }
    let prefix = &cluster.key_prefix;
    let prefix_ok = (1..=64).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !prefix_ok {
        check.fail(
            "cluster.key_prefix",
            format!("must be 1 to 64 characters of a-z, 0-9, '-' and '_', got {prefix:?}"),
        );
    }
    for (field, address) in [
        ("cluster.advertise_addr", &cluster.advertise_addr),
        ("cluster.http_advertise_addr", &cluster.http_advertise_addr),
    ] {
        if let Some(address) = address
            && !is_host_port(address)
        {
            check.fail(
                field,
                format!("must be host:port with a port from 1 to 65535, got {address:?}"),
            );
        }
    }
    match (&cluster.cookie, &cluster.cookie_file) {
        (Some(_), Some(_)) => check.fail(
            "cluster.cookie",
            "is set together with cluster.cookie_file; set one of them".to_string(),
        ),
        (None, None) => check.fail(
            "cluster.cookie",
            "must be set (or cluster.cookie_file) when cluster.enabled is true".to_string(),
        ),
        (cookie, _) => check.secret("cluster.cookie", cookie.as_deref(), |cookie| {
            let chars = cookie.chars().count();
            (chars < MIN_COOKIE_CHARS).then(|| {
                format!("must be at least {MIN_COOKIE_CHARS} characters, got {chars} characters")
            })
        }),
    }
    let tls = [
        &cluster.tls_cert_file,
        &cluster.tls_key_file,
        &cluster.tls_ca_file,
    ];
    if tls.iter().any(|file| file.is_some()) && !tls.iter().all(|file| file.is_some()) {
        check.fail(
            "cluster.tls_cert_file",
            "TLS on the inter-node links needs cluster.tls_cert_file, cluster.tls_key_file and \
             cluster.tls_ca_file together"
                .to_string(),
        );
    }
    check.positive("cluster.heartbeat_interval", cluster.heartbeat_interval);
    check.at_least(
        "cluster.heartbeat_ttl",
        cluster.heartbeat_ttl,
        2 * cluster.heartbeat_interval,
    );
    check.positive(
        "cluster.view_refresh_interval",
        cluster.view_refresh_interval,
    );
    check.positive("cluster.lease_renew_interval", cluster.lease_renew_interval);
    check.at_least(
        "cluster.lease_ttl",
        cluster.lease_ttl,
        2 * cluster.lease_renew_interval,
    );
    check.positive("cluster.redis_timeout", cluster.redis_timeout);
    if cluster.redis_timeout >= cluster.heartbeat_ttl {
        check.fail(
            "cluster.redis_timeout",
            format!(
                "must be < cluster.heartbeat_ttl ({}), got {}",
                values::format_duration(cluster.heartbeat_ttl),
                values::format_duration(cluster.redis_timeout)
            ),
        );
    }
}

/// Whether `address` is `host:port` (`[v6]:port` too) with a non-zero port.
fn is_host_port(address: &str) -> bool {
    address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    /// Settings of a valid cluster node, changed by `change`, and their validation messages.
    fn errors_after(change: impl FnOnce(&mut Settings)) -> Vec<String> {
        let mut settings = Settings::default();
        settings.storage.backend = StorageBackend::Postgres;
        settings.storage.postgres.url = Some("postgres://app@db/tally".to_string());
        settings.cluster.enabled = true;
        settings.cluster.redis_url = Some("redis://:s3cret@127.0.0.1:16399".to_string());
        settings.cluster.cookie = Some("c".repeat(16));
        change(&mut settings);
        crate::validate::validate(&settings)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_complete_cluster_node_is_valid_and_disabled_cluster_settings_are_not_checked() {
        assert_eq!(errors_after(|_| {}), Vec::<String>::new());
        let unchecked = errors_after(|s| {
            s.cluster.enabled = false;
            s.cluster.redis_url = None;
            s.cluster.heartbeat_ttl = Duration::ZERO;
        });
        assert_eq!(unchecked, Vec::<String>::new());
    }

    #[test]
    fn cluster_mode_on_the_embedded_store_is_refused_with_the_reason() {
        let errors = errors_after(|s| s.storage.backend = StorageBackend::Embedded);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("cluster.enabled: needs a shared store")
                && errors[0].contains("set storage.backend = \"postgres\""),
            "{errors:?}"
        );
    }

    #[test]
    fn every_cluster_bound_rejects_the_value_just_past_it() {
        type Change = fn(&mut Settings);
        #[rustfmt::skip]
        let cases: [(Change, &str); 12] = [
            (|s| s.cluster.redis_url = None, "cluster.redis_url: must be set when cluster.enabled is true"),
            (|s| s.cluster.redis_url = Some("http://r:16399".into()), "cluster.redis_url: must start with redis:// or rediss://"),
            (|s| s.cluster.redis_url = Some(format!("redis://:{REDACTED}@r")), "cluster.redis_url: holds the \"<redacted>\" placeholder"),
            (|s| s.cluster.key_prefix = "Tally".into(), "cluster.key_prefix: must be 1 to 64 characters"),
            (|s| s.cluster.advertise_addr = Some("node-1".into()), "cluster.advertise_addr: must be host:port"),
            (|s| s.cluster.http_advertise_addr = Some("node-1:0".into()), "cluster.http_advertise_addr: must be host:port"),
            (|s| s.cluster.cookie = None, "cluster.cookie: must be set (or cluster.cookie_file)"),
            (|s| s.cluster.cookie_file = Some("/etc/tally/cookie".into()), "cluster.cookie: is set together with cluster.cookie_file"),
            (|s| s.cluster.cookie = Some("c".repeat(15)), "cluster.cookie: must be at least 16 characters, got 15 characters"),
            (|s| s.cluster.heartbeat_ttl = Duration::from_millis(1999), "cluster.heartbeat_ttl: must be >= 2s, got 1999ms"),
            (|s| s.cluster.lease_ttl = Duration::from_millis(1999), "cluster.lease_ttl: must be >= 2s, got 1999ms"),
            (|s| s.cluster.redis_timeout = Duration::from_secs(3), "cluster.redis_timeout: must be < cluster.heartbeat_ttl (3s), got 3s"),
        ];
        crate::validate::assert_each_fails_alone(&cases, errors_after);
    }

    #[test]
    fn the_cookie_and_the_redis_password_are_hidden() {
        let settings = ClusterSettings {
            redis_url: Some("redis://:s3cret@r:16399".into()),
            cookie: Some("cookie-0123456789".into()),
            ..ClusterSettings::default()
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("cookie-0123456789"));
        let redacted = settings.redacted();
        assert_eq!(
            redacted.redis_url.as_deref(),
            Some("redis://:<redacted>@r:16399")
        );
        assert_eq!(redacted.cookie.as_deref(), Some(REDACTED));
    }
}
