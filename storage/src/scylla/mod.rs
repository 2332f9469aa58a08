//! [`ScyllaStore`]: the backend for the largest deployments, on ScyllaDB (or Apache Cassandra,
//! which speaks the same CQL; tally's tests run it against a real Cassandra 5.0 node).
//!
//! # Layout
//!
//! One keyspace per region; the tables and why each key is what it is are in `schema.rs`.
//! Raw readings live in `(tenant, room, day)` partitions with time-window compaction and a TTL
//! of the tenant's readings retention; each rollup resolution has its table and TTL; every data
//! partition a tenant writes is recorded in `tenant_partitions`, which range reads, retention and
//! erasure walk instead of scanning.
//!
//! # Requests
//!
//! Every statement is prepared once at connect (`statements.rs`), marked idempotent or not, and
//! routed token-aware to a replica of its partition in the local data center (the driver's
//! default policy with `local_datacenter` preferred). Consistency is `LOCAL_QUORUM` by default
//! for reads and writes alike (so a read sees every acknowledged write), LWTs use `LOCAL_SERIAL`.
//! The driver's default retry policy retries idempotent statements on another replica after a
//! timeout, `Unavailable` or `Overloaded`; `request_timeout` bounds the whole request, retries
//! included, and an error then is [`StoreError::Unavailable`], so the persister retries the batch
//! and acknowledges nothing meanwhile. Unlogged batches only ever hold rows of one partition.
//! Range reads are paged with `LIMIT` per partition; lists are read with driver paging.
//!
//! # Writes: what `write_batch` guarantees here
//!
//! A batch is checked first: one read of each tenant's `tenant_control` partition (erased mark
//! and owner tokens) answers [`StoreError::Erased`] or [`StoreError::Fenced`] before any row is
//! written, so a rejected batch writes nothing. Then, per room, the partition index rows, then
//! the readings and rollups (one unlogged batch per partition), then last the room state with
//! its dedup marks, all at the configured consistency: `Ok` means every row is written at that
//! consistency (durable on a quorum's commit logs). There is no transaction across partitions:
//! an error after the first write may leave some rows written, which is why such an error is
//! reported as [`StoreError::Unavailable`] (outcome unknown). Nothing is acknowledged then, and
//! the replay writes the same keys: readings by `(ts, sensor, seq)`, rollups by start, the state
//! replaced. Because the state (with the dedup marks) is written after its readings, a state on
//! disk never claims a reading that is not.
//!
//! # Fencing: what is guaranteed against a paused former owner, and the cost
//!
//! [`Store::acquire_office`](crate::Store::acquire_office) is a lightweight transaction (Paxos,
//! `LOCAL_SERIAL`) on the office's row of `tenant_control`: compare-and-set of the token from
//! the value read to that value plus one, retried on contention, so tokens are distinct and
//! strictly rising. Each `write_batch` reads the stored tokens of its offices (`LOCAL_QUORUM`,
//! one read per tenant of the batch, in parallel) and rejects the whole batch if any is higher.
//! Guaranteed: once `acquire_office` has returned token `n`, every batch that *starts* later
//! under a token below `n` is rejected and writes nothing. Not guaranteed: a former owner that
//! passed the check and then paused before its rows reached the replicas may still land that
//! one batch after the new owner's activation (a window of one batch per former owner, bounded
//! by `request_timeout`). Closing it would need an LWT per written partition (four round trips
//! each instead of one); the read costs one extra round trip per tenant per group commit.
//!
//! # Erasure and retention
//!
//! Erasure marks the tenant erased (audit record by LWT, then the static `erased` column, which
//! every write checks and `acquire_office`'s LWT conditions on), then drops every partition
//! listed in `tenant_partitions`, the registry partitions and the key hashes, and reads back.
//! Retention: TTLs expire rows by write time; [`Store::apply_retention`](crate::Store::apply_retention)
//! deletes by sensor time exactly (range deletes within each partition, whole partitions when
//! all of it is due).

mod audit;
mod config;
mod control;
mod data;
mod erasure;
mod errors;
mod intent;
mod office_calendar;
mod office_rollups;
mod registry;
mod retention;
mod schema;
mod sensor_keys;
mod statements;
mod store_impl;
mod token_revocation;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;

pub use config::{ScyllaConfig, ScyllaConsistency};
use errors::{cql, shape};
use statements::Statements;

use crate::StoreError;

/// The ScyllaDB backend: one driver session (connection pools to every node) and the prepared
/// statements, shared by every actor of the node.
pub struct ScyllaStore {
    session: Session,
    statements: Statements,
    config: ScyllaConfig,
}

impl fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScyllaStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ScyllaStore {
    /// Connects to the cluster, creates or migrates tally's schema, and prepares every statement.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for an invalid configuration or a refused schema change,
    /// [`StoreError::Unavailable`] if no node answers.
    pub async fn connect(config: &ScyllaConfig) -> Result<Self, StoreError> {
        Self::connect_translated(config, HashMap::new()).await
    }

    /// As [`ScyllaStore::connect`], reaching each node the cluster announces at `translation`'s
    /// address for it instead (nodes behind NAT, or a fault-injecting proxy in the tests).
    ///
    /// # Errors
    /// As [`ScyllaStore::connect`].
    pub async fn connect_translated(
        config: &ScyllaConfig,
        translation: HashMap<SocketAddr, SocketAddr>,
    ) -> Result<Self, StoreError> {
        config.validate()?;
        let mut policy = DefaultPolicy::builder().token_aware(true);
        if let Some(dc) = &config.local_datacenter {
            policy = policy
                .prefer_datacenter(dc.clone())
                .permit_dc_failover(false);
        }
        let profile = ExecutionProfile::builder()
            .consistency(config.consistency.driver())
            .serial_consistency(Some(config.consistency.serial()))
            .request_timeout(Some(config.request_timeout))
            .load_balancing_policy(policy.build())
            .build();
        let mut builder = SessionBuilder::new()
            .known_nodes(&config.contact_points)
            .connection_timeout(config.connect_timeout)
            .default_execution_profile_handle(profile.into_handle())
            // One monotonic clock for every write of this node: a room's state written after
            // its intent has the later write time (see `intent.rs`).
            .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()));
        if !translation.is_empty() {
            builder = builder.address_translator(Arc::new(translation));
        }
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.user(user, password);
        }
        if let Some(tls) =
            crate::postgres::rustls_client_config(config.tls, config.tls_ca_file.as_deref())?
        {
            builder = builder.tls_context(Some(Arc::new(tls)));
        }
        let session = builder
            .build()
            .await
            .map_err(|e| StoreError::Unavailable(format!("cql: cannot connect: {e}")))?;
        let replication = match &config.local_datacenter {
            Some(dc) => format!(
                "{{'class': 'NetworkTopologyStrategy', '{dc}': {}}}",
                config.replication_factor
            ),
            None => format!(
                "{{'class': 'SimpleStrategy', 'replication_factor': {}}}",
                config.replication_factor
            ),
        };
        schema::migrate(&session, &config.keyspace, &replication).await?;
        let statements = Box::pin(Statements::prepare(&session, &config.keyspace)).await?;
        Ok(Self {
            session,
            statements,
            config: config.clone(),
        })
    }

    /// Runs a statement whose result is not read.
    async fn execute(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<(), StoreError> {
        self.session
            .execute_unpaged(statement, values)
            .await
            .map(drop)
            .map_err(cql)
    }

    /// Every row a statement selects, fetched page by page (the driver's page size).
    async fn rows<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
    {
        let mut rows = Vec::new();
        let mut paging = PagingState::start();
        loop {
            let (result, next) = self
                .session
                .execute_single_page(statement, &values, paging)
                .await
                .map_err(cql)?;
            let result = result.into_rows_result().map_err(shape)?;
            for row in result.rows::<R>().map_err(shape)? {
                rows.push(row.map_err(shape)?);
            }
            match next {
                PagingStateResponse::HasMorePages { state } => paging = state,
                PagingStateResponse::NoMorePages => return Ok(rows),
            }
        }
    }

    /// The first row a statement selects, if any.
    async fn first_row<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Option<R>, StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
    {
        let result = self
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(cql)?
            .into_rows_result()
            .map_err(shape)?;
        result.maybe_first_row::<R>().map_err(shape)
    }

    /// Runs a lightweight transaction; whether it applied, and the row it found when it did not
    /// (the columns of its condition, by name).
    async fn lwt(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<control::LwtOutcome, StoreError> {
        let result = self
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(cql)?
            .into_rows_result()
            .map_err(shape)?;
        control::LwtOutcome::from_result(&result)
    }
}
