//! Test support shared by this crate's tests and other crates' (feature `testsuite`): a real
//! PostgreSQL server started and stopped by the tests themselves, and whole range reads.

mod host;
mod postgres_server;
mod read_all;

pub use postgres_server::{APP_ROLE, OWNER_ROLE, PostgresServer, SUPERUSER, TestDatabase};
pub use read_all::{ReadAll, TEST_PAGE};
