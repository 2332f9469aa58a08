//! Storage for tally: the [`Store`] trait, its embedded backend ([`EmbeddedStore`], fjall), its
//! shared backend ([`PostgresStore`], PostgreSQL with row-level security), its backend for the
//! largest deployments ([`ScyllaStore`], ScyllaDB or Cassandra) and a conformance suite
//! that every backend runs (feature `testsuite`, which also brings [`testkit`]: a PostgreSQL
//! server and a Cassandra node that tests start and stop themselves).
//!
//! A [`Store`] is async and batch-first: [`Store::write_batch`] returns only once the whole
//! batch (raw readings, room snapshots with per-sensor last seq, rollups) is durable and atomic,
//! so a sensor acknowledgement that follows it survives `kill -9`. Writes carry their office's
//! owner token (fencing), range reads are paged, and every backend sweeps per-tenant retention
//! and erases tenants.

mod audit;
#[cfg(any(test, feature = "testsuite"))]
pub mod conformance;
mod embedded;
mod erasure;
mod error;
#[cfg(any(test, feature = "testsuite"))]
mod fault_injection;
mod model;
mod office_calendar;
mod paging;
mod postgres;
mod retention;
mod room_series;
mod scylla;
mod sensor_key;
mod stats_codec;
mod store;
#[cfg(any(test, feature = "testsuite"))]
pub mod testkit;
mod token_revocation;

pub use audit::{AuditEntry, AuditOutcome, AuditPage, AuditScope, audit_id};
pub use embedded::{EmbeddedStore, JournalLoss};
pub use erasure::{ErasedCounts, ErasureReport};
pub use error::StoreError;
#[cfg(any(test, feature = "testsuite"))]
pub use fault_injection::FaultInjectingStore;
pub use model::{
    AreaRollupWrite, CountMode, KeyHash, Office, Resolution, Rollup, RollupArea, RollupFrontier,
    Room, RoomState, RoomWrite, Sensor, SensorState, StoredReading, Tenant, TimeRange, WriteBatch,
};
pub use office_calendar::OfficeCalendar;
pub use paging::{MAX_PAGE_LIMIT, Page, PageRequest, ReadingCursor, ReadingsPage, RollupsPage};
pub use postgres::{PostgresConfig, PostgresStore, TlsMode};
pub use retention::{RetentionPolicy, RetentionReport};
pub use room_series::{room_series, rooms_series};
pub use scylla::{ScyllaConfig, ScyllaConsistency, ScyllaStore};
pub use sensor_key::{SensorKey, key_id};
pub use store::{SharedStore, Store, StoreLayer};
pub use token_revocation::{MAX_TOKEN_ID_LEN, TokenRevocations, valid_token_id};
