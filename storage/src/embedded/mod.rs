//! [`EmbeddedStore`]: the default, single-node backend on fjall.
//!
//! One fjall database with a keyspace per ScyllaDB table (design §4): `registry` (tenants,
//! offices, rooms, sensors and their by-parent indexes, retention overrides), `sensor_keys`,
//! `readings`, `room_state`, `rollups`, `office_owners` (owner tokens), `erasures` (the audit
//! records of erased tenants, platform data that outlives the tenant) and `audit` (the audit
//! log of tenants and the platform, `audit.rs`). Every write is one fjall
//! batch committed with `PersistMode::SyncAll`, so it is atomic across keyspaces and fsynced
//! before the call returns. fjall is synchronous: every operation runs on tokio's blocking pool.
//!
//! Writes that check before they commit (registry creates, batch writes against owner tokens
//! and erasure marks, token increments, erasure marks) hold one write lock from the check to the
//! commit, so each is atomic with respect to the others.

mod audit;
pub(crate) mod codec;
mod commit_mark;
mod data;
mod erasure;
mod keys;
mod registry;
mod retention;
mod sensor_keys;
mod store_impl;
mod token_revocation;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch, PersistMode};
use tally_protocol::TenantId;

use crate::StoreError;
use codec::backend;
use commit_mark::CommitMark;
pub use commit_mark::JournalLoss;

/// The embedded store: a fjall database in a local directory. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// The database and its keyspaces.
struct Inner {
    path: PathBuf,
    db: Database,
    registry: Keyspace,
    sensor_keys: Keyspace,
    readings: Keyspace,
    room_state: Keyspace,
    rollups: Keyspace,
    office_owners: Keyspace,
    erasures: Keyspace,
    /// The audit log and its expiry index (`audit.rs`).
    audit: Keyspace,
    /// The number of the newest commit, kept in every batch and in the mark file.
    commits: Keyspace,
    /// The commit counter and its mark file; taken last, around each commit.
    mark: Mutex<CommitMark>,
    /// Serialises every write that checks before it commits, so check-then-write cannot race.
    write_lock: Mutex<()>,
}

impl Inner {
    /// A write batch that is fsynced when committed.
    fn durable_batch(&self) -> OwnedWriteBatch {
        self.db.batch().durability(Some(PersistMode::SyncAll))
    }

    /// Commits `batch` (made by [`Inner::durable_batch`]) with the next commit number, then
    /// records that number in the mark file.
    fn commit(&self, batch: OwnedWriteBatch) -> Result<(), StoreError> {
        self.mark
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .commit(&self.commits, batch)
    }

    /// Takes the write lock; a poisoned lock is still usable (every write is one batch).
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `tenant` is erased (or being erased).
    fn erased(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        self.erasures
            .contains_key(keys::erasure(tenant))
            .map_err(backend)
    }

    /// Fails with `Erased` if `tenant` is erased.
    fn ensure_not_erased(&self, tenant: &TenantId) -> Result<(), StoreError> {
        if self.erased(tenant)? {
            return Err(StoreError::Erased(tenant.clone()));
        }
        Ok(())
    }
}

impl EmbeddedStore {
    /// Opens the store in `path`, creating the directory if needed, and refuses a store whose
    /// journal lost acknowledged writes ([`JournalLoss::Refuse`]).
    ///
    /// # Errors
    /// As [`EmbeddedStore::open_with`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, JournalLoss::Refuse)
    }

    /// Opens the store in `path`, creating the directory if needed; `loss` says whether a
    /// journal that lost acknowledged writes (detected by the commit mark, see
    /// `commit_mark.rs`) refuses the open or is accepted with a WARN log.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the directory cannot be created or the database not opened
    /// (for example, another process holds it); [`StoreError::Corrupt`] naming the lost
    /// commits when the journal lost acknowledged writes and `loss` refuses it.
    pub fn open_with(path: &Path, loss: JournalLoss) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", path.display())))?;
        let db = Database::builder(path).open().map_err(backend)?;
        let keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(backend)
        };
        let commits = keyspace(commit_mark::KEYSPACE)?;
        let mark = CommitMark::open(path, &commits, loss)?;
        let inner = Inner {
            path: path.to_path_buf(),
            registry: keyspace("registry")?,
            sensor_keys: keyspace("sensor_keys")?,
            readings: keyspace("readings")?,
            room_state: keyspace("room_state")?,
            rollups: keyspace("rollups")?,
            office_owners: keyspace("office_owners")?,
            erasures: keyspace("erasures")?,
            audit: keyspace("audit")?,
            commits,
            mark: Mutex::new(mark),
            write_lock: Mutex::new(()),
            db,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs a synchronous operation on the blocking pool.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || op(&inner))
            .await
            .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
    }

    /// Runs a read of `tenant` on the blocking pool; an erased tenant reads as empty.
    async fn read<T, F>(&self, tenant: &TenantId, op: F) -> Result<T, StoreError>
    where
        T: Default + Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let tenant = tenant.clone();
        self.run(move |inner| {
            if inner.erased(&tenant)? {
                return Ok(T::default());
            }
            op(inner)
        })
        .await
    }
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}
