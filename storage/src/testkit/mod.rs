//! Test support shared by this crate's tests and other crates' (feature `testsuite`): a real
//! PostgreSQL server and a real Cassandra node started and stopped by the tests themselves, and
//! whole range reads.

mod cassandra;
mod host;
mod postgres_server;
mod read_all;

pub use cassandra::CassandraNode;
pub use postgres_server::{APP_ROLE, OWNER_ROLE, PostgresServer, SUPERUSER, TestDatabase};
pub use read_all::{ReadAll, TEST_PAGE};
