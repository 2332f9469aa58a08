//! [`PostgresStore`]: the shared backend on PostgreSQL, with row-level security.
//!
//! # Layout
//!
//! One schema (`tally` by default) with the tables `tenants`, `offices`, `rooms`, `sensors`,
//! `sensor_keys` (key hash → sensor), `room_state` (the [`RoomState`] with its dedup marks, as
//! MessagePack in a `bytea`: the row is only ever read and written whole, in the encoding the
//! embedded store uses, and it stays compact on the hot path), `readings` (partitioned by range
//! of `ts` into UTC days, plus a default partition; see `partitions.rs`), `rollups`,
//! `office_rollups` and `office_rollup_frontiers` (an office's rollups by `area` and how far
//! they reach, `office_rollups.rs`; both rollup tables share `rollup_rows.rs`),
//! `office_owners` (owner tokens, `fencing.rs`), `retention_overrides`, `office_calendars`
//! (`office_calendar.rs`), `token_revocations` and `revoked_tokens` (`token_revocation.rs`). Every one of these
//! tenant tables has `tenant_id`. `erasures` (the audit records of erased tenants) is platform
//! data, not a tenant table: see below. Migrations (`schema.rs`) are versioned and run at start-up under a
//! `pg_advisory_lock`, so several nodes may start at once.
//!
//! # Roles and row-level security
//!
//! - **Owner role** (`migrate_url`, or `url` when that is unset): runs the migrations and owns
//!   the schema, the tables, the partitions and three `SECURITY DEFINER` functions.
//! - **Runtime role** (`url`): every query of a running node. tally refuses to start if it is
//!   superuser or has `BYPASSRLS`. It gets `SELECT, INSERT, UPDATE, DELETE` on the parent
//!   tables only (never on a readings partition) and `EXECUTE` on the functions.
//! - Every tenant table (and every readings partition) has RLS **enabled and forced** (forced so
//!   that the owner, who would otherwise bypass its own tables' policies, is held to them too)
//!   and the policy `tenant_isolation`: `tenant_id = current_setting('app.tenant', true)`, for
//!   reads and writes. With no tenant set, that is NULL and matches nothing.
//! - Every transaction that touches tenant rows first runs `enter_tenant(tenant, writing)`, an
//!   invoker function that runs `set_config('app.tenant', $1, true)`, i.e. `SET LOCAL` (the
//!   setting ends with the transaction, so a pooled connection never carries a tenant into the
//!   next use), takes the tenant's advisory lock in shared mode when writing, and answers
//!   whether the tenant is erased (then reads return nothing and writes fail with
//!   [`StoreError::Erased`]). A batch spanning tenants enters each again before its rows,
//!   inside its one transaction.
//! - Partitions: a partitioned table's policies guard rows read *through the parent*, not a
//!   partition queried by name. So the runtime role has no privilege on any partition, and each
//!   partition carries the same forced policy anyway (which is what holds the owner).
//! - **Platform-wide operations** go through narrow `SECURITY DEFINER` functions owned by the
//!   owner role, with `search_path` pinned: `list_tenants()` (for [`Store::tenants`]),
//!   `sensor_by_key_hash(bytea)` (tenant and sensor id of one key hash: authentication), and
//!   `create_readings_partition(bigint)` (the runtime role cannot create tables). They read
//!   across tenants through the policy `platform_read`, which applies to the owner role only
//!   and only to `tenants` and `sensor_keys`. Creating a tenant needs none of this: the insert
//!   runs with `app.tenant` set to the new tenant's own id.
//! - **Erasure** (`erasure.rs`): `begin_erasure()` (owner, SECURITY DEFINER) takes the tenant's
//!   advisory lock exclusively (waiting for its writes in flight) and records the erasure in
//!   `erasures`; the deletes and the read-back run in transactions **set to the tenant**, so
//!   row-level security confines them to its rows like any other query. `erasures` has RLS
//!   forced with only an owner policy and no privilege for the runtime role, which reaches it
//!   through `tenant_erased()`, `begin_erasure()`, `record_erasure()` and `erasure()`; it
//!   survives the erasure because it is not the tenant's. `list_tenants()` and
//!   `sensor_by_key_hash()` skip erased tenants.
//! - **Retention** (`retention.rs`) deletes per tenant as that tenant, and drops whole day
//!   partitions through `drop_readings_partition()` (owner, SECURITY DEFINER: the runtime role
//!   owns no partition); it counts the partition's rows first, which needs the owner to see
//!   every tenant's rows, so it lifts FORCE on that partition inside the dropping transaction.
//! - Unique and foreign-key checks are not subject to RLS (PostgreSQL's rule), which is what
//!   makes `AlreadyExists` across tenants (key hashes) and `NotFound` parents work.
//!
//! **One URL for both roles** works: FORCE makes the owner obey `tenant_isolation` on every
//! table, so offices, rooms, sensors, room states, readings and rollups of other tenants stay
//! invisible to a buggy query. What is weaker: `platform_read` then applies to the runtime role
//! itself, so `tenants` and `sensor_keys` are readable across tenants (what `tenants()` and
//! `sensor_by_key_hash()` expose anyway), and the owner could `ALTER TABLE … NO FORCE ROW LEVEL
//! SECURITY`, so injected SQL could switch the protection off. Production should use two roles.
//!
//! # Errors
//!
//! Connection loss, server shutdown, serialization failures, deadlocks, statement timeouts and
//! pool timeouts are [`StoreError::Unavailable`] (retryable); unique violations are
//! `AlreadyExists` and foreign-key violations `NotFound` of the entry's parent.

mod audit;
mod config;
mod data;
mod erasure;
mod errors;
mod fencing;
mod office_calendar;
mod office_rollups;
mod partitions;
mod registry;
mod retention;
mod rollup_rows;
mod schema;
mod sensor_keys;
mod store_impl;
mod tls;
mod token_revocation;
pub(crate) use tls::rustls_client_config;

use std::{fmt, sync::Arc};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tally_protocol::TenantId;

use crate::StoreError;
pub use config::{PostgresConfig, TlsMode};
use errors::{backend, pg};

/// The PostgreSQL store: a connection pool of the runtime role. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

/// The pool and what the store knows of the schema.
struct Inner {
    pool: Pool,
    config: PostgresConfig,
    partitions: partitions::Partitions,
}

impl Inner {
    /// A pooled connection of the runtime role.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(errors::pool)
    }

    /// Begins a transaction on `client` with `app.tenant` set to `tenant` until it ends
    /// (`enter_tenant()`); a writer also holds the tenant's advisory lock in shared mode, so an
    /// erasure cannot mark the tenant in between.
    ///
    /// # Errors
    /// [`StoreError::Erased`] if the tenant is erased.
    async fn tenant_tx<'a>(
        &self,
        client: &'a mut deadpool_postgres::Object,
        tenant: &TenantId,
        writing: bool,
    ) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
        let tx = client.transaction().await.map_err(pg)?;
        let enter = tx
            .prepare_cached("SELECT enter_tenant($1, $2)")
            .await
            .map_err(pg)?;
        let erased: bool = tx
            .query_one(&enter, &[&tenant.as_str(), &writing])
            .await
            .map_err(pg)?
            .get(0);
        if erased {
            return Err(StoreError::Erased(tenant.clone()));
        }
        Ok(tx)
    }
}

impl PostgresStore {
    /// Connects, checks that the runtime role is subject to row-level security, migrates the
    /// schema (as the owner role) and creates the readings partitions ahead of today.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the server cannot be reached; [`StoreError::Backend`] for
    /// a bad configuration, a runtime role that bypasses RLS, or a failed migration.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        config.validate()?;
        let tls = tls::connector(config)?;
        let runtime = pg_config(&config.url, config, true)?;
        let manager = match &tls {
            Some(tls) => Manager::from_config(runtime, tls.clone(), manager_config()),
            None => Manager::from_config(runtime, tokio_postgres::NoTls, manager_config()),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.connect_timeout))
            .create_timeout(Some(config.connect_timeout))
            .build()
            .map_err(|e| backend(format!("cannot build the postgresql pool: {e}")))?;

        let role = runtime_role(&pool).await?;
        let owner = config.migrate_url.as_deref().unwrap_or(&config.url);
        let mut migrator = connect_one(&pg_config(owner, config, false)?, tls.as_ref()).await?;
        schema::migrate(&mut migrator, &config.schema, &role).await?;
        drop(migrator);

        let store = Self {
            inner: Arc::new(Inner {
                partitions: partitions::Partitions::new(config),
                pool,
                config: config.clone(),
            }),
        };
        let client = store.inner.client().await?;
        store.inner.partitions.prepare(&client, []).await?;
        tracing::info!(
            schema = %config.schema,
            role = %role,
            version = schema::latest_version(),
            "postgresql store ready"
        );
        Ok(store)
    }

    /// The configuration the store was connected with.
    pub fn config(&self) -> &PostgresConfig {
        &self.inner.config
    }
}

/// Pool recycling: a returned connection is reused unless it is closed (a broken one fails its
/// next operation as unavailable and is dropped).
fn manager_config() -> ManagerConfig {
    ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    }
}

/// The driver configuration of `url`, with the session settings tally relies on: durable
/// commits, and for the runtime role the schema and the statement timeout.
fn pg_config(
    url: &str,
    config: &PostgresConfig,
    runtime: bool,
) -> Result<tokio_postgres::Config, StoreError> {
    let mut pg: tokio_postgres::Config = url.parse().map_err(|e| {
        backend(format!(
            "invalid postgresql url {}: {e}",
            config::redact(url)
        ))
    })?;
    let mut options = pg.get_options().map(str::to_owned).unwrap_or_default();
    options.push_str(" -c synchronous_commit=on");
    if runtime {
        // tally sends a transaction's statements back to back, so a session idle inside a
        // transaction for a whole statement timeout belongs to a stalled node (a GC-like pause,
        // `kill -STOP`): the server ends it, rolling its batch back and releasing the owner-row
        // locks it holds, so a newer owner can take the office's token instead of waiting for
        // the stalled node to resume. The stalled node's commit then fails and its retry is
        // fenced off.
        let timeout = config.statement_timeout.as_millis();
        options.push_str(&format!(
            " -c search_path={} -c statement_timeout={timeout} \
             -c idle_in_transaction_session_timeout={timeout}",
            config.schema,
        ));
    }
    pg.options(options.trim())
        .application_name("tally")
        .connect_timeout(config.connect_timeout);
    if config.tls == TlsMode::Require {
        pg.ssl_mode(tokio_postgres::config::SslMode::Require);
    }
    Ok(pg)
}

/// Opens one connection outside the pool (the migrations' own session); its driver task runs
/// until the client is dropped.
async fn connect_one(
    pg: &tokio_postgres::Config,
    tls: Option<&tokio_postgres_rustls::MakeRustlsConnect>,
) -> Result<tokio_postgres::Client, StoreError> {
    let log = |e: tokio_postgres::Error| tracing::warn!(error = %e, "migration connection failed");
    match tls {
        Some(tls) => {
            let (client, connection) = pg.connect(tls.clone()).await.map_err(pg_err)?;
            tokio::spawn(async move { connection.await.map_err(log) });
            Ok(client)
        }
        None => {
            let (client, connection) = pg.connect(tokio_postgres::NoTls).await.map_err(pg_err)?;
            tokio::spawn(async move { connection.await.map_err(log) });
            Ok(client)
        }
    }
}

/// [`errors::pg`] under a name that does not clash with the `pg` config variables.
fn pg_err(error: tokio_postgres::Error) -> StoreError {
    pg(error)
}

/// The runtime role's name, after checking that row-level security applies to it.
async fn runtime_role(pool: &Pool) -> Result<String, StoreError> {
    let client = pool.get().await.map_err(errors::pool)?;
    let row = client
        .query_one(
            "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(pg)?;
    let (role, superuser, bypass): (String, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if superuser || bypass {
        return Err(backend(format!(
            "postgresql role {role} bypasses row-level security ({}); connect tally's url as a \
             role without SUPERUSER and BYPASSRLS",
            if superuser { "superuser" } else { "BYPASSRLS" }
        )));
    }
    Ok(role)
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &config::redact(&self.inner.config.url))
            .field("schema", &self.inner.config.schema)
            .field("pool", &self.inner.pool.status())
            .finish_non_exhaustive()
    }
}
