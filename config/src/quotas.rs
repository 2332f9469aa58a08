//! The `[quotas]` section: what one tenant may take of a node, so that a noisy neighbour cannot
//! starve the others (rates as token buckets, open connections, unacknowledged readings). With
//! `cluster.enabled` the two rates are the tenant's across the whole cluster (a budget in the
//! cluster's Redis); the connection and in-flight quotas stay per node.

use crate::documented::settings_table;
use crate::values;

settings_table! {
    /// Per-tenant rate limits and quotas on this node (`[quotas]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct QuotaSettings {
        /// Readings one tenant may send per second across all its sensors (WebSocket and HTTP): a token bucket refilled at this rate; past it, HTTP answers 429 rate_limited with Retry-After and a sensor WebSocket closes with 4429; with cluster.enabled, across all nodes together (a budget in Redis; while Redis is unreachable each node applies it alone); at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub readings_per_second: u32,
        /// Readings a tenant may send at once above its rate (the bucket's size); at least ingest.max_batch_items.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub readings_burst: u32,
        /// API requests one tenant's tokens may make per second (REST calls and display connects; the node's admin token is not limited); past it, 429 rate_limited with Retry-After; with cluster.enabled, across all nodes together like readings_per_second; at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub api_requests_per_second: u32,
        /// API requests a tenant may make at once above its rate; at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub api_burst: u32,
        /// Open sensor and display WebSockets one tenant may hold on this node; more are refused with 429 rate_limited (a sensor after its hello, with close code 4429); at least 1.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_connections: u32,
        /// Readings one tenant's sensors may have unacknowledged together: its share of ingest.node_inflight, so that one tenant cannot take the whole window (past it, its connections wait); at least ingest.max_batch_items (a value above ingest.node_inflight leaves only the node-wide bound).
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub max_inflight: u32,
    }
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            readings_per_second: 10_000,
            readings_burst: 20_000,
            api_requests_per_second: 50,
            api_burst: 100,
            max_connections: 5_000,
            max_inflight: 4_096,
        }
    }
}
