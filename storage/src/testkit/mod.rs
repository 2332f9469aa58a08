//! Test support shared by this crate's tests and other crates' (feature `testsuite`): a real
//! PostgreSQL server and a real Cassandra node started and stopped by the tests themselves,
//! whole range reads, a wait for an area's rollup frontier, and a corrupter of the embedded
//! store's journal.

mod area_frontier;
mod cassandra;
mod host;
mod journal;
mod postgres_server;
mod read_all;

pub use area_frontier::await_area_frontier_past;
pub use cassandra::CassandraNode;
pub use journal::corrupt_journal_before;
pub use postgres_server::{APP_ROLE, OWNER_ROLE, PostgresServer, SUPERUSER, TestDatabase};
pub use read_all::{ReadAll, TEST_PAGE};
